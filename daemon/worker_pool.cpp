// The worker pool.
#include "daemon/worker_pool.hpp"

#include "common/error.hpp"

#include <spdlog/spdlog.h>

namespace lodge::daemon {

WorkerPool::WorkerPool(unsigned threads, std::size_t max_queued) : max_queued_(max_queued) {
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

void WorkerPool::submit(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw Error(503, "lodged is shutting down");
        if (queue_.size() >= max_queued_)
            throw Error(503, "Too many operations waiting (" + std::to_string(max_queued_) + "); try again later");
        queue_.push_back(std::move(job));
    }
    cv_.notify_one();
}

void WorkerPool::run() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return; // stopping and drained
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        try {
            job();
        } catch (const std::exception& e) {
            spdlog::error("worker: job failed outside its operation: {}", e.what());
        }
    }
}

} // namespace lodge::daemon
