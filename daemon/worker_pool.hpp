// A fixed set of threads for long work (operations), so HTTP threads never
// block on disks or child processes. Bounded: a full queue refuses new work
// rather than letting memory grow without limit.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lodge::daemon {

class WorkerPool {
public:
    WorkerPool(unsigned threads, std::size_t max_queued);
    ~WorkerPool(); // runs what is queued, then joins
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Queues job; throws Error(503) when max_queued jobs already wait, and
    // Error(503) after shutdown began. A job's exceptions are the job's to
    // handle: one escaping is logged and dropped.
    void submit(std::function<void()> job);

private:
    void run();

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    std::size_t max_queued_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

} // namespace lodge::daemon
