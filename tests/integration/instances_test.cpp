// Instances through lodged, driven the way admins drive LXD: LXD's own
// `lxc` client (LXD_DIR at lodged's state directory) and `lodge`, on real
// containers. Each test's daemon has its own state directory; whatever a
// failing test leaves running is force-stopped through the runtime.
#include "tests/integration/lxc_session.hpp"

#include "common/file.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <memory>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;

class Instances : public LxcSession {
protected:
    Instances() : LxcSession("lodge-inst") {}

    // A stopped instance of the busybox image.
    void make_busybox(const std::string& name) {
        if (lxc({"image", "info", "bb"}).status != 0) import(busybox_image_tarball(), "bb");
        auto r = lxc({"init", "bb", name});
        ASSERT_EQ(r.status, 0) << r.err;
    }

    std::string csv(const std::string& columns = "ns") {
        return lxc({"list", "--format", "csv", "-c", columns}).out;
    }
};

TEST_F(Instances, LifecycleThroughLxc) {
    make_busybox("inst-a");
    EXPECT_EQ(csv(), "inst-a,STOPPED\n");
    auto r = lxc({"start", "inst-a"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(csv(), "inst-a,RUNNING\n");

    // Deleting a running instance is refused and changes nothing.
    auto del = lodged_->request("DELETE", "/1.0/instances/inst-a");
    EXPECT_EQ(del.status, 400) << del.body;
    EXPECT_EQ(del.json()["error"], "Instance is running");
    EXPECT_EQ(csv(), "inst-a,RUNNING\n");

    r = lxc({"pause", "inst-a"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(csv(), "inst-a,FROZEN\n");
    r = lxc({"start", "inst-a"}); // resumes, as with LXD
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(csv(), "inst-a,RUNNING\n");

    // State: a pid, processes, memory from the container's cgroup.
    auto state = lodged_->request("GET", "/1.0/instances/inst-a/state").json()["metadata"];
    EXPECT_EQ(state["status"], "Running");
    EXPECT_GT(state["pid"].get<int>(), 1);
    EXPECT_GE(state["processes"].get<int>(), 1);
    EXPECT_GT(state["memory"]["usage"].get<long>(), 0);

    r = lxc({"stop", "inst-a"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(csv(), "inst-a,STOPPED\n");
    r = lxc({"operation", "list", "--format", "csv"});
    EXPECT_NE(r.out.find("Stopping instance,SUCCESS"), std::string::npos) << r.out << r.err;
    r = lxc({"delete", "inst-a"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(csv(), "");
    EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/containers/inst-a"));
}

TEST_F(Instances, ConfigLimitsReachTheContainer) {
    make_busybox("inst-l");
    auto r = lxc({"config", "set", "inst-l", "limits.processes", "77"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(lxc({"config", "get", "inst-l", "limits.processes"}).out, "77\n");
    r = lxc({"config", "set", "inst-l", "bogus.key", "1"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("Unknown configuration key: bogus.key"), std::string::npos) << r.err;
    ASSERT_EQ(lxc({"start", "inst-l"}).status, 0);
    // The limit as the host's pids controller holds it (v1 or unified).
    std::string limit = read_file_if_exists("/sys/fs/cgroup/pids/lodge/inst-l/pids.max");
    if (limit.empty()) limit = read_file_if_exists("/sys/fs/cgroup/lodge/inst-l/pids.max");
    EXPECT_EQ(limit, "77\n");
    ASSERT_EQ(lxc({"delete", "-f", "inst-l"}).status, 0);
}

TEST_F(Instances, BadInputGetsA4xxAndChangesNothing) {
    for (const std::string& name : std::vector<std::string>{"bad name!", "1leading-digit", "-dash", std::string(64, 'a')}) {
        auto r = lodged_->request("POST", "/1.0/instances",
                                  nlohmann::json{{"name", name}, {"source", {{"type", "none"}}}}.dump());
        EXPECT_EQ(r.status, 400) << name << ": " << r.body;
    }
    auto r = lodged_->request("POST", "/1.0/instances", "{\"name\": ");
    EXPECT_EQ(r.status, 400) << r.body;
    r = lodged_->request("GET", "/1.0/instances/nosuch");
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.json()["error"], "Instance not found");
    r = lodged_->request("PUT", "/1.0/instances/nosuch/state", R"({"action": "start"})");
    EXPECT_EQ(r.status, 404) << r.body;
    r = lodged_->request("POST", "/1.0/instances",
                         R"({"name": "inst-x", "source": {"type": "image", "alias": "nosuch"}})");
    EXPECT_EQ(r.status, 404) << r.body;
    r = lodged_->request("POST", "/1.0/instances",
                         R"({"name": "inst-x", "source": {"type": "none"}, "config": {"limits.memory": "lots"}})");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(csv(), "");
    EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/containers/inst-x"));
}

TEST_F(Instances, SurviveSigkillOfLodged) {
    make_busybox("inst-k1");
    make_busybox("inst-k2");
    ASSERT_EQ(lxc({"start", "inst-k1", "inst-k2"}).status, 0);
    const auto before = csv("nsp");

    // An instance whose init ignores its halt signal keeps a stop operation
    // running; lodged dies under it.
    make_busybox("inst-k3");
    ASSERT_EQ(lxc({"config", "set", "inst-k3", "linux.halt_signal", "SIGWINCH"}).status, 0);
    ASSERT_EQ(lxc({"start", "inst-k3"}).status, 0);
    auto stop = lodged_->request("PUT", "/1.0/instances/inst-k3/state", R"({"action": "stop", "timeout": 60})");
    ASSERT_EQ(stop.status, 202) << stop.body;
    const std::string op = stop.json()["operation"];
    EXPECT_EQ(lodged_->stop(SIGKILL), 128 + SIGKILL);

    // A half-made instance directory, as an interrupted creation leaves it.
    fs::create_directories(state_.path() + "/storage-pools/default/containers/inst-half/rootfs");

    lodged_ = std::make_unique<Lodged>(state_.path());
    const auto after = csv("nsp");
    EXPECT_NE(after.find(before.substr(0, before.find('\n'))), std::string::npos) << after;
    EXPECT_NE(after.find("inst-k2,RUNNING"), std::string::npos) << after;
    EXPECT_NE(after.find("inst-k3,RUNNING"), std::string::npos) << after;
    auto r = lodged_->request("GET", op);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["metadata"]["status"], "Failure") << r.body;
    EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/containers/inst-half"));

    // The restarted daemon drives the containers it found.
    auto exec = lxc({"exec", "inst-k1", "--", "sh", "-c", "echo alive; exit 7"});
    EXPECT_EQ(exec.status, 7) << exec.err;
    EXPECT_EQ(exec.out, "alive\n");
    auto listed = lodge({"list", "--format", "csv", "-c", "ns"});
    EXPECT_EQ(listed.out, "inst-k1,RUNNING\ninst-k2,RUNNING\ninst-k3,RUNNING\n") << listed.err;
    ASSERT_EQ(lxc({"stop", "-f", "inst-k3"}).status, 0);
    ASSERT_EQ(lodge({"delete", "-f", "inst-k1", "inst-k2", "inst-k3"}).status, 0);
    EXPECT_EQ(csv(), "");
}

TEST_F(Instances, LodgeCliSpeaksForTheSameDaemon) {
    Background monitor({"/usr/bin/env", "LODGE_DIR=" + state_.path(), "HOME=" + home_.path(), bin("lodge"),
                        "monitor", "--type", "lifecycle"});
    ASSERT_TRUE(wait_until([&] { return lodged_->event_subscriptions() > 0; }, 10));
    auto r = lodge({"init", "--empty", "inst-c"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "Creating inst-c\n");
    EXPECT_TRUE(monitor.wait_for_output("  action: instance-created\n  source: /1.0/instances/inst-c\n", 10))
        << monitor.output();
    ASSERT_EQ(run({"cp", "-a", fixture("busybox") + "/.",
                   state_.path() + "/storage-pools/default/containers/inst-c/rootfs"})
                  .status,
              0);
    ASSERT_EQ(lodge({"start", "inst-c"}).status, 0);
    EXPECT_EQ(lodge({"list", "--format", "csv", "-c", "ns"}).out, "inst-c,RUNNING\n");
    r = lodge({"info", "inst-c"});
    EXPECT_NE(r.out.find("Name: inst-c\nStatus: RUNNING\n"), std::string::npos) << r.out;
    r = lodge({"delete", "inst-c"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("stop it first or pass --force"), std::string::npos) << r.err;
    ASSERT_EQ(lodge({"rename", "inst-c", "inst-d"}).status, 1);
    ASSERT_EQ(lodge({"stop", "inst-c"}).status, 0);
    ASSERT_EQ(lodge({"rename", "inst-c", "inst-d"}).status, 0);
    EXPECT_EQ(lxc({"list", "--format", "csv", "-c", "ns"}).out, "inst-d,STOPPED\n");
    ASSERT_EQ(lodge({"delete", "inst-d"}).status, 0);
    r = lodge({"operation", "list", "--format", "csv"});
    EXPECT_NE(r.out.find("Renaming instance,SUCCESS"), std::string::npos) << r.out;
}

TEST_F(Instances, LaunchWaitReturnsOnceSystemdIsRunning) {
    import(debian_image_tarball(), "debian-12");
    auto r = lodge({"launch", "debian-12", "inst-deb", "--wait"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(r.out, "Creating inst-deb\nStarting inst-deb\n");
    // Asked at once, with no retry: the guest must already be up.
    r = run({bin("lodge-runtime"), "--run-dir", state_.path() + "/run", "exec", "inst-deb", "--", "systemctl",
             "is-system-running"});
    EXPECT_EQ(r.out, "running\n") << r.err;
    auto state = lodged_->request("GET", "/1.0/instances/inst-deb/state").json()["metadata"];
    EXPECT_EQ(state["guest_state"], "ready");
    // The image's properties became the instance's image.* keys.
    EXPECT_EQ(lxc({"config", "get", "inst-deb", "image.os"}).out, "debian\n");
    ASSERT_EQ(lodge({"delete", "-f", "inst-deb"}).status, 0);
}

TEST_F(Instances, LaunchFromTheImageThroughLxc) {
    import(busybox_image_tarball(), "bb");
    auto r = lxc({"launch", "bb", "inst-img"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(csv("ns"), "inst-img,RUNNING\n");
    r = lxc({"list", "--format", "json"});
    auto list = nlohmann::json::parse(r.out);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["status"], "Running");
    EXPECT_EQ(list[0]["config"]["image.os"], "busybox");
    EXPECT_GT(list[0]["state"]["pid"].get<int>(), 0);
    // lxc info, with the monitor's log as the instance's lxc.log.
    r = lxc({"info", "--show-log", "inst-img"});
    EXPECT_NE(r.out.find("Name: inst-img\nStatus: RUNNING\n"), std::string::npos) << r.out << r.err;
    EXPECT_NE(r.out.find("\nLog:\n\nlodge-monitor inst-img: "), std::string::npos) << r.out;
    // The image records its use.
    auto image = lodged_->request("GET", "/1.0/images/" + std::string(list[0]["config"]["volatile.base_image"]));
    EXPECT_NE(image.json()["metadata"]["last_used_at"], "0001-01-01T00:00:00Z");
    // An unnamed launch gets a name from the server.
    r = lodge({"launch", "bb"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("Instance name is: "), std::string::npos) << r.out;
    ASSERT_EQ(lodge({"list", "--format", "csv", "-c", "n"}).out.find('\n') + 1 <
                  lodge({"list", "--format", "csv", "-c", "n"}).out.size(),
              true);
    for (const auto& name : {std::string("inst-img"), r.out.substr(r.out.find(": ") + 2, r.out.find('\n', r.out.find(": ")) - r.out.find(": ") - 2)})
        ASSERT_EQ(lxc({"delete", "-f", name}).status, 0) << name;
}

} // namespace
} // namespace lodge::test
