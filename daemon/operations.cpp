// The operations registry: state transitions under one lock, work on the
// pool, waiters answered on completion or by the timeout thread.
#include "daemon/operations.hpp"

#include "common/error.hpp"
#include "daemon/uuid.hpp"

#include <spdlog/spdlog.h>

namespace lodge::daemon {

struct Operations::Entry {
    api::Operation op;
    std::atomic<bool> cancel{false};
    bool pending = false; // start_pending: no work, ends when cancelled
};

class Operations::Context : public OperationContext {
public:
    Context(Operations& ops, std::shared_ptr<Entry> entry) : ops_(ops), entry_(std::move(entry)) {}
    const std::string& id() const override { return entry_->op.id; }
    bool cancel_requested() const override { return entry_->cancel.load(); }
    void set_metadata(nlohmann::json metadata) override {
        api::Operation snapshot;
        {
            std::lock_guard lock(ops_.mutex_);
            entry_->op.metadata = std::move(metadata);
            entry_->op.updated_at = api::now();
            snapshot = entry_->op;
        }
        ops_.changed(snapshot);
    }

private:
    Operations& ops_;
    std::shared_ptr<Entry> entry_;
};

class Operations::Detached : public DetachedOperation {
public:
    Detached(Operations& ops, std::shared_ptr<Entry> entry) : ctx_(ops, entry), ops_(ops), entry_(std::move(entry)) {}
    const std::string& id() const override { return ctx_.id(); }
    bool cancel_requested() const override { return ctx_.cancel_requested(); }
    void set_metadata(nlohmann::json metadata) override { ctx_.set_metadata(std::move(metadata)); }
    void end(std::string err) override {
        if (ended_.exchange(true)) return;
        auto status = entry_->cancel ? api::StatusCode::Cancelled
                      : err.empty()  ? api::StatusCode::Success
                                     : api::StatusCode::Failure;
        ops_.finish(entry_, status, std::move(err));
    }

private:
    Context ctx_;
    Operations& ops_;
    std::shared_ptr<Entry> entry_;
    std::atomic<bool> ended_{false};
};

Operations::Operations(Limits limits)
    : limits_(limits), timeout_thread_([this] { run_timeouts(); }),
      pool_(std::make_unique<WorkerPool>(limits.threads, limits.max_queued)) {}

void Operations::shutdown() {
    {
        std::lock_guard lock(mutex_);
        if (!accepting_) return;
        accepting_ = false;
        // Work that can be cancelled is, so that shutting down never waits
        // on an operation that runs until someone cancels it.
        for (auto& [id, entry] : entries_)
            if (entry->op.may_cancel) entry->cancel = true;
    }
    for (auto& entry : pending_entries()) finish(entry, api::StatusCode::Cancelled, "");
    pool_.reset(); // runs what is queued; their waiters are answered by finish()
    std::vector<Waiter> left;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        left.swap(waiters_);
    }
    timeouts_cv_.notify_all();
    timeout_thread_.join();
    for (auto& w : left) w.done(w.entry->op);
}

std::shared_ptr<Operations::Entry> Operations::create_locked(OperationSpec& spec) {
    auto entry = std::make_shared<Entry>();
    auto& op = entry->op;
    op.id = random_uuid();
    op.operation_class = std::move(spec.operation_class);
    op.description = std::move(spec.description);
    op.created_at = op.updated_at = api::now();
    // LXD answers with the operation already Running; the work may still be
    // queued behind others, which the client cannot tell apart anyway.
    op.status_code = api::StatusCode::Running;
    op.resources = std::move(spec.resources);
    op.metadata = std::move(spec.metadata);
    op.may_cancel = spec.may_cancel;
    if (!accepting_) throw Error(503, "lodged is shutting down");
    prune_locked();
    return entry;
}

api::Operation Operations::start(OperationSpec spec, OperationWork work) {
    std::lock_guard lock(mutex_);
    auto entry = create_locked(spec);
    const auto& op = entry->op;
    // Queue first: a full pool (503) leaves nothing behind. The work cannot
    // report before the creation below is announced: every update takes
    // this lock first.
    pool_->submit([this, entry, work = std::move(work)] {
        Context ctx(*this, entry);
        try {
            work(ctx);
            finish(entry, entry->cancel ? api::StatusCode::Cancelled : api::StatusCode::Success, "");
        } catch (const std::exception& e) {
            spdlog::info("operation {} ({}) failed: {}", entry->op.id, entry->op.description, e.what());
            finish(entry, entry->cancel ? api::StatusCode::Cancelled : api::StatusCode::Failure, e.what());
        }
    });
    entries_[op.id] = entry;
    changed(op);
    return op;
}

std::pair<api::Operation, std::shared_ptr<DetachedOperation>> Operations::start_detached(OperationSpec spec) {
    std::lock_guard lock(mutex_);
    auto entry = create_locked(spec);
    entries_[entry->op.id] = entry;
    changed(entry->op);
    return {entry->op, std::make_shared<Detached>(*this, entry)};
}

api::Operation Operations::start_pending(OperationSpec spec) {
    spec.may_cancel = true; // deleting a pending operation is how it is revoked
    std::lock_guard lock(mutex_);
    auto entry = create_locked(spec);
    entry->pending = true;
    const auto& op = entry->op;
    entries_[op.id] = entry;
    changed(op);
    return op;
}

std::optional<api::Operation> Operations::claim_pending(const std::function<bool(const api::Operation&)>& match) {
    std::shared_ptr<Entry> found;
    api::Operation before;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, entry] : entries_) {
            if (!entry->pending || entry->op.status_code != api::StatusCode::Running || !match(entry->op)) continue;
            // Claimed under the lock: a second claimer no longer sees it Running.
            entry->op.status_code = api::StatusCode::Cancelling;
            found = entry;
            before = entry->op;
            break;
        }
    }
    if (!found) return std::nullopt;
    finish(found, api::StatusCode::Cancelled, "");
    before.status_code = api::StatusCode::Running;
    return before;
}

std::vector<std::shared_ptr<Operations::Entry>> Operations::pending_entries() {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<Entry>> out;
    for (auto& [id, entry] : entries_)
        if (entry->pending && !api::is_final(entry->op.status_code)) out.push_back(entry);
    return out;
}

void Operations::finish(const std::shared_ptr<Entry>& entry, api::StatusCode status, std::string err) {
    api::Operation snapshot;
    std::vector<Waiter> done;
    {
        std::lock_guard lock(mutex_);
        entry->op.status_code = status;
        entry->op.err = status == api::StatusCode::Cancelled && err.empty() ? "Operation cancelled" : std::move(err);
        entry->op.updated_at = api::now();
        entry->op.may_cancel = false;
        snapshot = entry->op;
        for (auto it = waiters_.begin(); it != waiters_.end();) {
            if (it->entry == entry) {
                done.push_back(std::move(*it));
                it = waiters_.erase(it);
            } else {
                ++it;
            }
        }
    }
    changed(snapshot);
    for (auto& w : done) w.done(snapshot);
}

void Operations::changed(const api::Operation& snapshot) {
    if (observer_) observer_(snapshot);
}

void Operations::prune_locked() {
    const auto cutoff = api::now() - limits_.retention;
    for (auto it = entries_.begin(); it != entries_.end();) {
        const auto& op = it->second->op;
        if (api::is_final(op.status_code) && op.updated_at < cutoff)
            it = entries_.erase(it);
        else
            ++it;
    }
}

std::optional<api::Operation> Operations::get(const std::string& id) {
    std::lock_guard lock(mutex_);
    prune_locked();
    auto it = entries_.find(id);
    if (it == entries_.end()) return std::nullopt;
    return it->second->op;
}

std::vector<api::Operation> Operations::list() {
    std::lock_guard lock(mutex_);
    prune_locked();
    std::vector<api::Operation> out;
    for (const auto& [id, entry] : entries_) out.push_back(entry->op);
    return out;
}

void Operations::cancel(const std::string& id) {
    api::Operation snapshot;
    std::shared_ptr<Entry> pending;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(id);
        if (it == entries_.end()) throw Error(404, "Operation not found");
        auto& op = it->second->op;
        if (api::is_final(op.status_code)) throw Error(400, "Operation has already ended");
        if (!op.may_cancel) throw Error(400, "This operation can't be cancelled");
        it->second->cancel = true;
        if (it->second->pending) {
            pending = it->second;
        } else {
            op.status_code = api::StatusCode::Cancelling;
            op.updated_at = api::now();
            snapshot = op;
        }
    }
    // Nothing runs for a pending operation: cancelling ends it.
    if (pending) return finish(pending, api::StatusCode::Cancelled, "");
    changed(snapshot);
}

bool Operations::wait_async(const std::string& id, std::optional<std::chrono::milliseconds> timeout,
                            OperationCallback done) {
    api::Operation ended;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(id);
        if (it == entries_.end()) return false;
        if (!api::is_final(it->second->op.status_code) && !stopping_) {
            auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                    : std::chrono::steady_clock::time_point::max();
            waiters_.push_back(Waiter{it->second, deadline, std::move(done)});
            timeouts_cv_.notify_all();
            return true;
        }
        ended = it->second->op;
    }
    done(ended);
    return true;
}

void Operations::run_timeouts() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        auto next = std::chrono::steady_clock::time_point::max();
        for (const auto& w : waiters_) next = std::min(next, w.deadline);
        if (next == std::chrono::steady_clock::time_point::max())
            timeouts_cv_.wait(lock);
        else
            timeouts_cv_.wait_until(lock, next);
        const auto now = std::chrono::steady_clock::now();
        std::vector<std::pair<OperationCallback, api::Operation>> expired;
        for (auto it = waiters_.begin(); it != waiters_.end();) {
            if (it->deadline <= now) {
                expired.emplace_back(std::move(it->done), it->entry->op);
                it = waiters_.erase(it);
            } else {
                ++it;
            }
        }
        if (expired.empty()) continue;
        lock.unlock();
        for (auto& [done, op] : expired) done(op);
        lock.lock();
    }
}

} // namespace lodge::daemon
