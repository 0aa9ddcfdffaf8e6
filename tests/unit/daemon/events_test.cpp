// The events hub and event objects: filtering, dropping gone listeners,
// LXD's shapes, and operations reported as `operation` events in order.
#include "api/event.hpp"
#include "daemon/daemon.hpp"
#include "daemon/events.hpp"
#include "tests/unit/daemon/reference.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>

using namespace lodge::daemon;
using lodge::test::load_reference;
using lodge::test::same_shape;
using nlohmann::json;
namespace api = lodge::api;

TEST(DaemonEvents, ListenersGetTheTypesTheyAskedFor) {
    EventHub hub;
    std::vector<std::string> all, lifecycle;
    hub.subscribe({}, [&](const std::string& t) { all.push_back(t); return true; });
    hub.subscribe({"lifecycle"}, [&](const std::string& t) { lifecycle.push_back(t); return true; });
    hub.lifecycle("config-updated", "/1.0");
    api::Event op;
    op.type = "operation";
    op.metadata = json::object();
    hub.publish(op);
    EXPECT_EQ(all.size(), 2u);
    ASSERT_EQ(lifecycle.size(), 1u);
    auto j = json::parse(lifecycle[0]);
    EXPECT_EQ(j["metadata"], json({{"action", "config-updated"}, {"source", "/1.0"}}));
}

TEST(DaemonEvents, GoneListenersAreDropped) {
    EventHub hub;
    int calls = 0;
    auto id = hub.subscribe({}, [&](const std::string&) { ++calls; return false; });
    hub.lifecycle("a", "/1.0");
    hub.lifecycle("b", "/1.0");
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(hub.listeners(), 0u);
    hub.unsubscribe(id); // unknown ids are fine
}

TEST(DaemonEvents, EventsMatchReferenceShapes) {
    auto lifecycle_ref = load_reference("events-lifecycle.json");
    api::Event e;
    e.type = "lifecycle";
    e.timestamp = api::now();
    e.metadata = api::lifecycle_metadata("instance-exec", "/1.0/instances/web1", {{"command", {"true"}}});
    e.project = "default";
    EXPECT_TRUE(same_shape(json(e), lifecycle_ref[1], {".metadata.context"}));
    for (const auto& ref : lifecycle_ref) EXPECT_EQ(json(ref.get<api::Event>()), ref);

    // Every recorded event (all types) reads and writes back unchanged.
    std::ifstream in(lodge::test::reference_path("events-all-types.jsonl"));
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto ref = json::parse(line);
        EXPECT_EQ(json(ref.get<api::Event>()), ref) << line;
        ++n;
    }
    EXPECT_GT(n, 5);
}

TEST(DaemonEvents, OperationsAreAnnouncedInOrder) {
    char tmpl[] = "/tmp/lodge-unit-events-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::vector<json> seen;
    std::mutex m;
    std::promise<void> ended;
    {
        Daemon daemon(tmpl, ":memory:");
        daemon.events().subscribe({"operation"}, [&](const std::string& t) {
            std::lock_guard lock(m);
            seen.push_back(json::parse(t));
            if (seen.back()["metadata"]["status"] == "Success") ended.set_value();
            return true;
        });
        OperationSpec spec;
        spec.description = "Testing";
        spec.resources = std::map<std::string, std::vector<std::string>>{{"instances", {"/1.0/instances/web1"}}};
        daemon.operations().start(spec, [](OperationContext& ctx) { ctx.set_metadata({{"progress", "50"}}); });
        ASSERT_EQ(ended.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    }
    std::filesystem::remove_all(tmpl);
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0]["metadata"]["status"], "Running");
    EXPECT_EQ(seen[1]["metadata"]["metadata"], json({{"progress", "50"}}));
    EXPECT_EQ(seen[2]["metadata"]["status"], "Success");
    std::ifstream in(lodge::test::reference_path("events-all-types.jsonl"));
    std::string line;
    while (std::getline(in, line))
        if (line.find("\"type\":\"operation\"") != std::string::npos) break;
    // The first event as LXD's first: metadata still null, resources set.
    EXPECT_TRUE(same_shape(seen[0], json::parse(line), {".metadata.resources"}));
}
