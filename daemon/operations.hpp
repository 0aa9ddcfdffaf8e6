// Operations: long work (create, start, exec, ...) that the API answers
// with `async` and an operation object clients poll, wait on or cancel.
// The work runs on a bounded worker pool; finished operations stay
// queryable for a retention period, since clients look after completion.
#pragma once

#include "api/operation.hpp"
#include "daemon/worker_pool.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace lodge::daemon {

// What the work function sees of its operation.
class OperationContext {
public:
    virtual ~OperationContext() = default;
    virtual const std::string& id() const = 0;
    // Set by DELETE /1.0/operations/{id} on a cancellable operation; the
    // work checks it at safe points and returns (or throws) when set.
    virtual bool cancel_requested() const = 0;
    // Replaces the operation's metadata (progress, exec's return code).
    virtual void set_metadata(nlohmann::json metadata) = 0;
};

// An operation whose work runs outside the pool (exec: on its websockets
// and its own I/O loop, for as long as a shell stays open). It stays
// Running until end() is called.
class DetachedOperation : public OperationContext {
public:
    // Ends the operation: Success when err is empty, Failure otherwise
    // (Cancelled when cancellation was requested). Only the first call counts.
    virtual void end(std::string err = "") = 0;
};

struct OperationSpec {
    std::string description;
    std::string operation_class = "task";
    std::optional<std::map<std::string, std::vector<std::string>>> resources;
    nlohmann::json metadata; // initial metadata, usually null
    bool may_cancel = false;
};

using OperationWork = std::function<void(OperationContext&)>;
using OperationCallback = std::function<void(const api::Operation&)>;

class Operations {
public:
    struct Limits {
        unsigned threads = 4;
        std::size_t max_queued = 256;
        std::chrono::seconds retention{300};
    };
    explicit Operations(Limits limits);
    Operations() : Operations(Limits{}) {}
    ~Operations() { shutdown(); }

    // Finishes running and queued work and answers pending waiters with the
    // last state; later start() calls fail with 503. lodged calls it while
    // its HTTP server still exists, since waiters hold connections.
    // Idempotent.
    void shutdown();

    // Creates the operation (status Running) and queues the work; returns the
    // object for the async answer. A work function that returns succeeds;
    // one that throws fails with the message as `err`; either ends as
    // Cancelled when cancellation was requested. Error(503) when the pool is full.
    api::Operation start(OperationSpec spec, OperationWork work);

    // Creates the operation (status Running) without work of its own; the
    // caller ends it through the handle, which must not outlive this object.
    std::pair<api::Operation, std::shared_ptr<DetachedOperation>> start_detached(OperationSpec spec);
    // Creates an operation with no work that stays Running until cancelled
    // (DELETE, claim_pending or shutdown): a trust token waiting for its
    // client. It is cancellable whatever spec.may_cancel says.
    api::Operation start_pending(OperationSpec spec);

    // Ends, as Cancelled, the first pending operation still Running for
    // which match(op) holds, and returns it as it was; nullopt when none
    // does. Atomic, so a pending operation is claimed at most once.
    std::optional<api::Operation> claim_pending(const std::function<bool(const api::Operation&)>& match);

    std::optional<api::Operation> get(const std::string& id);
    std::vector<api::Operation> list();

    // Error(404) for an unknown id, Error(400) when the operation cannot be
    // cancelled or has ended.
    void cancel(const std::string& id);

    // Calls done(op) once the operation has ended, or with its current state
    // after timeout (none: no limit), from a lodged thread; never blocks the
    // caller. False for an unknown id (done is not called).
    bool wait_async(const std::string& id, std::optional<std::chrono::milliseconds> timeout, OperationCallback done);

    // Called on every change (creation, metadata, status) with the new
    // state, in order; the events stream attaches here. Set once, before
    // use. It must not call back into Operations (creation is announced
    // under the registry lock).
    void set_observer(OperationCallback observer) { observer_ = std::move(observer); }

private:
    struct Entry;
    class Context;
    class Detached;
    struct Waiter {
        std::shared_ptr<Entry> entry;
        std::chrono::steady_clock::time_point deadline;
        OperationCallback done;
    };

    std::shared_ptr<Entry> create_locked(OperationSpec& spec);
    std::vector<std::shared_ptr<Entry>> pending_entries();
    void finish(const std::shared_ptr<Entry>& entry, api::StatusCode status, std::string err);
    void changed(const api::Operation& snapshot);
    void prune_locked();
    void run_timeouts();

    Limits limits_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Entry>> entries_;
    std::vector<Waiter> waiters_; // pending wait_async calls
    std::condition_variable timeouts_cv_;
    bool accepting_ = true; // false once shutdown() began
    bool stopping_ = false; // the timeout thread should end
    OperationCallback observer_;
    std::thread timeout_thread_;
    // Last: destroyed first, so queued work finishes while the rest lives.
    std::unique_ptr<WorkerPool> pool_;
};

} // namespace lodge::daemon
