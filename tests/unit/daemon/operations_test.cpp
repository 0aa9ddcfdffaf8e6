// Operations: life cycle, failure, cancel, waiting with and without a
// timeout, the bounded pool, retention, and the /1.0/operations endpoints
// against LXD's recorded shapes.
#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "daemon/operations.hpp"
#include "tests/unit/daemon/daemon_fixture.hpp"
#include "tests/unit/daemon/reference.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <thread>

using namespace lodge::daemon;
using namespace std::chrono_literals;
using lodge::test::load_reference;
using lodge::test::same_shape;
using nlohmann::json;
namespace api = lodge::api;

namespace {

// Polls until the operation has ended (the work runs on the pool).
api::Operation wait_end(Operations& ops, const std::string& id) {
    std::promise<api::Operation> p;
    auto f = p.get_future();
    EXPECT_TRUE(ops.wait_async(id, std::nullopt, [&p](const api::Operation& op) { p.set_value(op); }));
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    return f.get();
}

OperationSpec spec(std::string description, bool may_cancel = false) {
    OperationSpec s;
    s.description = std::move(description);
    s.may_cancel = may_cancel;
    s.resources = std::map<std::string, std::vector<std::string>>{{"instances", {"/1.0/instances/web1"}}};
    return s;
}

} // namespace

TEST(DaemonOperations, RunsToSuccessWithMetadata) {
    Operations ops;
    std::vector<api::StatusCode> seen;
    std::mutex m;
    ops.set_observer([&](const api::Operation& op) {
        std::lock_guard lock(m);
        seen.push_back(op.status_code);
    });
    auto op = ops.start(spec("Doing things"), [](OperationContext& ctx) { ctx.set_metadata({{"return", 0}}); });
    EXPECT_EQ(op.status_code, api::StatusCode::Running);
    EXPECT_EQ(op.id.size(), 36u);
    auto done = wait_end(ops, op.id);
    EXPECT_EQ(done.status_code, api::StatusCode::Success);
    EXPECT_EQ(done.metadata, json({{"return", 0}}));
    EXPECT_EQ(done.err, "");
    EXPECT_EQ(ops.get(op.id)->status_code, api::StatusCode::Success);
    std::lock_guard lock(m);
    EXPECT_EQ(seen.front(), api::StatusCode::Running);
    EXPECT_EQ(seen.back(), api::StatusCode::Success);
}

TEST(DaemonOperations, AThrowingWorkFails) {
    Operations ops;
    auto op = ops.start(spec("Failing"), [](OperationContext&) { throw lodge::Error(400, "no space left"); });
    auto done = wait_end(ops, op.id);
    EXPECT_EQ(done.status_code, api::StatusCode::Failure);
    EXPECT_EQ(done.err, "no space left");
}

TEST(DaemonOperations, CancelOnlyWhatMayBeCancelled) {
    Operations ops;
    auto loop = ops.start(spec("Looping", true), [](OperationContext& ctx) {
        while (!ctx.cancel_requested()) std::this_thread::sleep_for(1ms);
    });
    ops.cancel(loop.id);
    EXPECT_EQ(wait_end(ops, loop.id).status_code, api::StatusCode::Cancelled);
    EXPECT_THROW(ops.cancel(loop.id), lodge::Error); // already ended

    std::promise<void> release;
    auto gate = release.get_future().share();
    auto fixed = ops.start(spec("Not cancellable"), [gate](OperationContext&) { gate.wait(); });
    try {
        ops.cancel(fixed.id);
        FAIL() << "cancelled an operation that may not be";
    } catch (const lodge::Error& e) {
        EXPECT_EQ(e.status(), 400);
    }
    release.set_value();
    try {
        ops.cancel("no-such-id");
        FAIL();
    } catch (const lodge::Error& e) {
        EXPECT_EQ(e.status(), 404);
    }
}

TEST(DaemonOperations, WaitTimesOutWithTheCurrentState) {
    Operations ops;
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto op = ops.start(spec("Slow"), [gate](OperationContext&) { gate.wait(); });
    std::promise<api::Operation> p;
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(ops.wait_async(op.id, 50ms, [&p](const api::Operation& o) { p.set_value(o); }));
    auto f = p.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
    EXPECT_EQ(f.get().status_code, api::StatusCode::Running);
    release.set_value();
    EXPECT_EQ(wait_end(ops, op.id).status_code, api::StatusCode::Success);
    EXPECT_FALSE(ops.wait_async("unknown", 1ms, [](const api::Operation&) { ADD_FAILURE(); }));
}

TEST(DaemonOperations, AFullPoolRefusesWith503) {
    Operations ops(Operations::Limits{1, 1, std::chrono::seconds(300)});
    std::promise<void> release;
    auto gate = release.get_future().share();
    std::promise<void> running;
    auto first = ops.start(spec("Holds the only worker"), [gate, &running](OperationContext&) {
        running.set_value();
        gate.wait();
    });
    running.get_future().wait();
    auto second = ops.start(spec("Queued"), [](OperationContext&) {});
    try {
        ops.start(spec("One too many"), [](OperationContext&) {});
        FAIL() << "the queue grew past its bound";
    } catch (const lodge::Error& e) {
        EXPECT_EQ(e.status(), 503);
    }
    EXPECT_EQ(ops.list().size(), 2u) << "the refused operation was kept";
    release.set_value();
    EXPECT_EQ(wait_end(ops, second.id).status_code, api::StatusCode::Success);
    EXPECT_EQ(wait_end(ops, first.id).status_code, api::StatusCode::Success);
}

TEST(DaemonOperations, FinishedOperationsExpireAfterRetention) {
    Operations ops(Operations::Limits{1, 8, std::chrono::seconds(0)});
    auto op = ops.start(spec("Quick"), [](OperationContext&) {});
    wait_end(ops, op.id);
    std::this_thread::sleep_for(5ms);
    EXPECT_TRUE(ops.list().empty());
}

TEST(DaemonOperations, ShutdownFinishesWorkAnswersWaitersAndRefusesMore) {
    Operations ops;
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto op = ops.start(spec("Finishing"), [gate](OperationContext&) { gate.wait(); });
    std::promise<api::Operation> waited;
    ASSERT_TRUE(ops.wait_async(op.id, std::nullopt, [&waited](const api::Operation& o) { waited.set_value(o); }));
    std::thread releaser([&release] {
        std::this_thread::sleep_for(20ms);
        release.set_value();
    });
    ops.shutdown();
    releaser.join();
    auto f = waited.get_future();
    ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
    EXPECT_EQ(f.get().status_code, api::StatusCode::Success);
    try {
        ops.start(spec("Too late"), [](OperationContext&) {});
        FAIL() << "started work after shutdown";
    } catch (const lodge::Error& e) {
        EXPECT_EQ(e.status(), 503);
    }
    ops.shutdown(); // idempotent
}

namespace {

class DaemonOperationEndpoints : public lodge::test::DaemonFixture {
protected:
    HttpResponse call(const std::string& method, const std::string& path, std::map<std::string, std::string> q = {}) {
        return DaemonFixture::call(method, path, "", std::move(q));
    }
};

} // namespace

TEST_F(DaemonOperationEndpoints, ListGetWaitAndCancelMatchReference) {
    auto& ops = daemon_->operations();
    EXPECT_EQ(json::parse(call("GET", "/1.0/operations").body)["metadata"], json::object());

    auto done = ops.start(spec("Creating instance"), [](OperationContext& ctx) { ctx.set_metadata({{"a", "b"}}); });
    wait_end(ops, done.id);
    auto exec_spec = spec("Executing command", true);
    exec_spec.metadata = {{"command", {"true"}}}; // set at creation: the work may not have run yet
    auto loop = ops.start(exec_spec, [](OperationContext& ctx) {
        while (!ctx.cancel_requested()) std::this_thread::sleep_for(1ms);
    });

    auto list = json::parse(call("GET", "/1.0/operations").body);
    EXPECT_TRUE(same_shape(list, load_reference("operations-list.json")));
    EXPECT_EQ(list["metadata"]["success"], json::array({"/1.0/operations/" + done.id}));
    EXPECT_EQ(list["metadata"]["running"], json::array({"/1.0/operations/" + loop.id}));

    auto full = json::parse(call("GET", "/1.0/operations", {{"recursion", "1"}}).body);
    EXPECT_TRUE(same_shape(full["metadata"]["running"][0],
                           load_reference("operations-list-recursion1.json")["metadata"]["running"][0],
                           {".metadata", ".resources"}));

    auto one = json::parse(call("GET", "/1.0/operations/" + done.id).body);
    EXPECT_TRUE(same_shape(one, load_reference("operation-wait-success.json"), {".metadata.metadata",
                                                                                ".metadata.resources"}));
    EXPECT_EQ(call("GET", "/1.0/operations/nope").status, 404);

    // A bounded wait on a running operation returns its current state.
    auto waited = call("GET", "/1.0/operations/" + loop.id + "/wait", {{"timeout", "0.05"}});
    ASSERT_EQ(waited.status, 200) << waited.body;
    EXPECT_EQ(json::parse(waited.body)["metadata"]["status"], "Running");
    EXPECT_EQ(call("GET", "/1.0/operations/" + loop.id + "/wait", {{"timeout", "soon"}}).status, 400);

    // Cancel, then an unbounded wait sees the end.
    EXPECT_EQ(call("DELETE", "/1.0/operations/" + loop.id).status, 200);
    auto ended = json::parse(call("GET", "/1.0/operations/" + loop.id + "/wait").body);
    EXPECT_EQ(ended["metadata"]["status"], "Cancelled");
    EXPECT_EQ(ended["metadata"]["status_code"], 401);
    EXPECT_EQ(call("DELETE", "/1.0/operations/" + done.id).status, 400);
    EXPECT_EQ(call("GET", "/1.0/operations/nope/wait").status, 404);
}

// Work that lives outside the pool (exec's websockets): the operation runs
// until its handle ends it, with the metadata set meanwhile; one end counts.
TEST(DetachedOperations, EndThroughTheHandle) {
    Operations ops;
    std::vector<api::StatusCode> seen;
    std::mutex m;
    ops.set_observer([&](const api::Operation& op) {
        std::lock_guard lock(m);
        seen.push_back(op.status_code);
    });
    auto s = spec("Executing command");
    s.operation_class = "websocket";
    auto [op, handle] = ops.start_detached(std::move(s));
    EXPECT_EQ(op.status_code, api::StatusCode::Running);
    EXPECT_EQ(ops.get(op.id)->operation_class, "websocket");
    handle->set_metadata(json{{"return", 3}});
    handle->end();
    handle->end("ignored: the first end counts");
    auto done = wait_end(ops, op.id);
    EXPECT_EQ(done.status_code, api::StatusCode::Success);
    EXPECT_EQ(done.metadata["return"], 3);
    {
        std::lock_guard lock(m);
        EXPECT_EQ(seen, (std::vector<api::StatusCode>{api::StatusCode::Running, api::StatusCode::Running,
                                                      api::StatusCode::Success}));
    }

    auto [failing, h2] = ops.start_detached(spec("Showing console"));
    h2->end("Timed out waiting for websockets to connect");
    auto failed = wait_end(ops, failing.id);
    EXPECT_EQ(failed.status_code, api::StatusCode::Failure);
    EXPECT_EQ(failed.err, "Timed out waiting for websockets to connect");
}

TEST(DaemonOperations, APendingOperationIsClaimedOnceOrCancelled) {
    Operations ops;
    OperationSpec spec;
    spec.operation_class = "token";
    spec.metadata = {{"secret", "s1"}};
    auto first = ops.start_pending(spec);
    EXPECT_EQ(first.status_code, api::StatusCode::Running);
    EXPECT_TRUE(first.may_cancel);
    auto match = [](const std::string& secret) {
        return [secret](const api::Operation& op) { return op.metadata.value("secret", "") == secret; };
    };
    EXPECT_FALSE(ops.claim_pending(match("other")).has_value());
    auto claimed = ops.claim_pending(match("s1"));
    ASSERT_TRUE(claimed.has_value());
    EXPECT_EQ(claimed->id, first.id);
    EXPECT_EQ(ops.get(first.id)->status_code, api::StatusCode::Cancelled);
    EXPECT_FALSE(ops.claim_pending(match("s1")).has_value());

    spec.metadata = {{"secret", "s2"}};
    auto second = ops.start_pending(spec);
    bool waited = false;
    ops.wait_async(second.id, std::nullopt, [&](const api::Operation& op) {
        waited = op.status_code == api::StatusCode::Cancelled;
    });
    ops.cancel(second.id);
    EXPECT_TRUE(waited);
    EXPECT_EQ(ops.get(second.id)->status_code, api::StatusCode::Cancelled);
    EXPECT_FALSE(ops.claim_pending(match("s2")).has_value());

    // Shutting down ends what is still pending.
    auto third = ops.start_pending(spec);
    ops.shutdown();
    EXPECT_EQ(ops.get(third.id)->status_code, api::StatusCode::Cancelled);
}
