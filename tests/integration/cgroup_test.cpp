// A container's cgroup on this host's real layout, as root: create and
// delegate it, apply limits and read them back from the kernel's files, put
// a process in it, watch its usage, freeze and thaw it, kill it, remove it,
// and check that nothing is left in any hierarchy. Each test works under its
// own parent "lodge-test-<pid>" and cleans up however it ends.
#include "runtime/cgroup.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/syscalls.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace lodge::runtime {
namespace {

using namespace std::chrono_literals;

std::string test_parent() { return "lodge-test-" + std::to_string(::getpid()); }

bool exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

std::string trimmed(const std::string& path) {
    auto s = read_file(path);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 3s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

// The container's cgroup, destroyed when the test ends, which also checks
// that no hierarchy keeps the test parent.
class TestCgroup {
public:
    explicit TestCgroup(const std::string& name) : cg_(open_cgroup(name, test_parent())) {
        for (const auto& p : cg_->paths()) {
            auto mount = p.substr(0, p.rfind("/" + test_parent() + "/"));
            mounts_.push_back(mount);
        }
    }
    ~TestCgroup() {
        try {
            cg_->destroy();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "destroy: " << e.what();
        }
        for (const auto& m : mounts_) EXPECT_FALSE(exists(m + "/" + test_parent())) << m;
    }
    Cgroup* operator->() const { return cg_.get(); }
    Cgroup& operator*() const { return *cg_; }
    const std::vector<std::string>& mounts() const { return mounts_; }

    // Expects `file` to read `value` in whichever hierarchy has it; false
    // when none has it.
    bool expect(const std::string& file, const std::string& value) const {
        auto path = with(file);
        if (path) {
            EXPECT_EQ(trimmed(*path), value) << *path;
        }
        return path.has_value();
    }

    // The path of the hierarchy that has `file`, or nullopt.
    std::optional<std::string> with(const std::string& file) const {
        for (const auto& p : cg_->paths())
            if (exists(p + "/" + file)) return p + "/" + file;
        return std::nullopt;
    }

private:
    std::unique_ptr<Cgroup> cg_;
    std::vector<std::string> mounts_;
};

// A forked child that waits for start(), then touches 8 MiB and either
// spins on the cpu or sleeps. Killed and reaped when the test ends.
class Child {
public:
    explicit Child(bool spin) : spin_(spin) {
        int go[2], ready[2];
        if (::pipe(go) != 0 || ::pipe(ready) != 0) throw std::runtime_error("pipe");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(go[1]);
            ::close(ready[0]);
            run(go[0], ready[1]);
        }
        ::close(go[0]);
        ::close(ready[1]);
        go_ = go[1];
        ready_ = ready[0];
    }
    // Adopts a child made elsewhere (clone3) that waits on go.
    Child(pid_t pid, int go) : pid_(pid), go_(go) {}
    ~Child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            reap();
        }
        if (go_ >= 0) ::close(go_);
        if (ready_ >= 0) ::close(ready_);
    }
    pid_t pid() const { return pid_; }
    void start() {
        char c = 1;
        ASSERT_EQ(::write(go_, &c, 1), 1);
        ASSERT_EQ(::read(ready_, &c, 1), 1);
    }
    // Waits at most `limit` for the child; its wait status, or nullopt.
    std::optional<int> reap_within(std::chrono::milliseconds limit) {
        int status = 0;
        if (!eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, limit))
            return std::nullopt;
        pid_ = -1;
        return status;
    }
    // Waits for the child and returns its wait status.
    int reap() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
        pid_ = -1;
        return status;
    }

private:
    [[noreturn]] void run(int go, int ready) {
        char c;
        if (::read(go, &c, 1) != 1) ::_exit(1);
        const size_t size = 8 << 20;
        auto* mem = static_cast<volatile char*>(
            ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (mem == MAP_FAILED) ::_exit(1);
        for (size_t i = 0; i < size; i += 4096) mem[i] = 1;
        if (::write(ready, &c, 1) != 1) ::_exit(1);
        volatile unsigned long spins = 0;
        for (;;) {
            if (spin_)
                spins = spins + 1;
            else
                ::pause();
        }
    }

    bool spin_ = false;
    pid_t pid_ = -1;
    int go_ = -1, ready_ = -1;
};

// Lines of /proc/<pid>/cgroup that put pid in the test cgroup `name`.
size_t memberships(pid_t pid, const std::string& name) {
    std::string want = ":/" + test_parent() + "/" + name;
    std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/cgroup"));
    size_t n = 0;
    for (std::string line; std::getline(in, line);)
        if (line.ends_with(want)) ++n;
    return n;
}

int status_of(const std::function<void()>& f) {
    try {
        f();
        return 0;
    } catch (const Error& e) {
        return e.status();
    }
}

TEST(Cgroup, CreateDelegatesToTheContainersRootAndRefusesADuplicate) {
    TestCgroup cg("delegated");
    ASSERT_FALSE(cg->exists());
    cg->create(1000000, 1000000);
    ASSERT_TRUE(cg->exists());
    ASSERT_FALSE(cg->paths().empty());
    for (const auto& dir : cg->paths()) {
        struct stat st;
        ASSERT_EQ(::stat(dir.c_str(), &st), 0) << dir;
        EXPECT_EQ(st.st_uid, 1000000u) << dir;
        EXPECT_EQ(st.st_gid, 1000000u) << dir;
        for (const char* f : {"cgroup.procs", "tasks", "cgroup.subtree_control", "cgroup.threads"}) {
            if (::stat((dir + "/" + f).c_str(), &st) != 0) continue;
            EXPECT_EQ(st.st_uid, 1000000u) << dir << "/" << f;
        }
        // Limits stay the host's: a guest must not raise its own.
        for (const char* f : {"memory.limit_in_bytes", "memory.max", "pids.max", "cpu.shares"})
            if (::stat((dir + "/" + f).c_str(), &st) == 0) {
                EXPECT_EQ(st.st_uid, 0u) << dir << "/" << f;
            }
        // The shared parent stays root's.
        ASSERT_EQ(::stat(dir.substr(0, dir.rfind('/')).c_str(), &st), 0);
        EXPECT_EQ(st.st_uid, 0u) << dir;
    }
    for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
        if (auto path = cg.with(f)) {
            EXPECT_NE(trimmed(*path), "") << *path << " not copied down";
        }
    }

    auto again = open_cgroup("delegated", test_parent());
    EXPECT_EQ(status_of([&] { again->create(0, 0); }), 409);
    EXPECT_TRUE(cg->exists()) << "a failed duplicate create must not remove the first";

    cg->destroy();
    EXPECT_FALSE(cg->exists());
    EXPECT_NO_THROW(cg->destroy()); // idempotent
}

TEST(Cgroup, LimitsReachTheKernelAndResetToDefaults) {
    TestCgroup cg("limits");
    cg->create(0, 0);
    const uint64_t mib = 1 << 20;
    cg->apply({.memory_bytes = 256 * mib,
               .memory_swap_bytes = 64 * mib,
               .cpu_weight = 50,
               .cpu_quota_us = 50000,
               .cpu_period_us = 100000,
               .cpuset_cpus = "0",
               .pids_max = 100});

    const std::string limit = std::to_string(256 * mib);
    int found = 0;
    if (cg.expect("memory.limit_in_bytes", limit)) {
        ++found;
        cg.expect("memory.memsw.limit_in_bytes", std::to_string(320 * mib)); // with swap accounting
    }
    if (cg.expect("memory.max", limit)) {
        ++found;
        cg.expect("memory.swap.max", std::to_string(64 * mib));
    }
    if (cg.expect("cpu.shares", "512")) {
        ++found;
        cg.expect("cpu.cfs_quota_us", "50000");
        cg.expect("cpu.cfs_period_us", "100000");
    }
    if (cg.expect("cpu.weight", "50")) {
        ++found;
        cg.expect("cpu.max", "50000 100000");
    }
    found += cg.expect("cpuset.cpus", "0");
    found += cg.expect("pids.max", "100");
    EXPECT_EQ(found, 4) << "memory, cpu, cpuset and pids should all be somewhere";

    // Growing memory past the old memory+swap: v1 must move memsw first.
    cg->apply({.memory_bytes = 1024 * mib, .memory_swap_bytes = 0});
    cg.expect("memory.limit_in_bytes", std::to_string(1024 * mib));
    cg.expect("memory.memsw.limit_in_bytes", std::to_string(1024 * mib));
    cg.expect("memory.swap.max", "0");

    // Bad input is refused before anything is written.
    EXPECT_EQ(status_of([&] { cg->apply({.cpu_weight = 0, .pids_max = 5}); }), 400);
    cg.expect("pids.max", "max");

    // Unset fields go back to the kernel's defaults.
    cg->apply({});
    cg.expect("memory.limit_in_bytes", "9223372036854771712"); // v1's "unlimited"
    cg.expect("memory.max", "max");
    cg.expect("cpu.shares", "1024");
    cg.expect("cpu.cfs_quota_us", "-1");
    cg.expect("cpu.max", "max 100000");
    cg.expect("pids.max", "max");
    if (auto f = cg.with("cpuset.cpus")) {
        auto dir = f->substr(0, f->rfind('/'));
        EXPECT_EQ(trimmed(*f), trimmed(dir.substr(0, dir.rfind('/')) + "/cpuset.cpus"));
    }
}

// read_limits() maps the kernel's files back to what apply() was given,
// including the defaults a lifted limit is reset to.
TEST(Cgroup, LimitsReadBackAsApplied) {
    TestCgroup cg("readback");
    cg->create(0, 0);
    const uint64_t mib = 1 << 20;
    EXPECT_EQ(cg->read_limits(), Limits{});
    bool swap_accounted = cg.with("memory.memsw.limit_in_bytes") || cg.with("memory.swap.max");
    for (Limits l : {Limits{.memory_bytes = 256 * mib,
                            .memory_swap_bytes = 64 * mib,
                            .cpu_weight = 33,
                            .cpu_quota_us = 25000,
                            .cpu_period_us = 50000,
                            .cpuset_cpus = "0",
                            .pids_max = 77},
                     Limits{.memory_bytes = 64 * mib, .memory_swap_bytes = 0},
                     Limits{.memory_bytes = 64 * mib}, Limits{.cpu_weight = 1, .pids_max = 1}, Limits{}}) {
        auto started = std::chrono::steady_clock::now();
        cg->apply(l);
        auto took = std::chrono::steady_clock::now() - started;
        RecordProperty("apply_us", std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
        if (!swap_accounted) l.memory_swap_bytes.reset();
        EXPECT_EQ(nlohmann::json(cg->read_limits()), nlohmann::json(l));
    }
    cg.expect("pids.max", "max");
}

TEST(Cgroup, ARunningProcessIsCountedFrozenThawedAndKilled) {
    TestCgroup cg("lifecycle");
    cg->create(0, 0);
    Child child(true);
    cg->attach(child.pid());
    EXPECT_EQ(memberships(child.pid(), "lifecycle"), cg->paths().size());
    child.start();

    ASSERT_TRUE(eventually([&] { return cg->usage().cpu_ns > 0; })) << "no cpu time accounted";
    Usage u = cg->usage();
    EXPECT_GT(u.memory_bytes, 0u);
    EXPECT_GE(u.memory_peak_bytes, u.memory_bytes);
    EXPECT_EQ(u.pids, 1u);
    EXPECT_EQ(u.oom_kills, 0u);

    cg->freeze(true);
    EXPECT_TRUE(cg->frozen());
    if (!cg.expect("freezer.state", "FROZEN")) {
        EXPECT_NE(read_file(*cg.with("cgroup.events")).find("frozen 1"), std::string::npos);
    }
    auto before = cg->usage().cpu_ns;
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(cg->usage().cpu_ns, before) << "a frozen spinner used cpu";

    cg->freeze(false);
    EXPECT_FALSE(cg->frozen());
    EXPECT_TRUE(eventually([&] { return cg->usage().cpu_ns > before; })) << "thawed spinner did not run";

    cg->kill_all(SIGKILL);
    int status = child.reap();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    EXPECT_TRUE(eventually([&] { return cg->usage().pids == 0; }));

    cg->destroy();
    EXPECT_FALSE(cg->exists());
}

TEST(Cgroup, Clone3StartsAProcessInsideTheUnifiedCgroup) {
    TestCgroup cg("clone3");
    cg->create(0, 0);
    if (cg->unified_fd() < 0) GTEST_SKIP() << "no cgroup2 hierarchy on this host";
    int go[2];
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
    struct clone_args args = {};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cg->unified_fd());
    pid_t pid = sys::clone3(args);
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) {
        char c;
        ::close(go[1]);
        ::_exit(::read(go[0], &c, 1) == 1 ? 0 : 1);
    }
    ::close(go[0]);
    Child child(pid, go[1]);
    std::string cgroup = read_file("/proc/" + std::to_string(pid) + "/cgroup");
    EXPECT_NE(cgroup.find("0::/" + test_parent() + "/clone3\n"), std::string::npos) << cgroup;
    // On hybrid hosts the v1 hierarchies still need a write each.
    cg->attach(pid);
    EXPECT_EQ(memberships(pid, "clone3"), cg->paths().size());
}

TEST(Cgroup, DestroyRemovesTheGuestsOwnCgroupsDepthFirst) {
    TestCgroup cg("nested");
    cg->create(0, 0);
    // What systemd in the guest makes of its delegated subtree.
    for (const auto& dir : cg->paths()) {
        for (const char* sub : {"/init.scope", "/system.slice", "/system.slice/cron.service"})
            ASSERT_EQ(::mkdir((dir + sub).c_str(), 0755), 0) << dir << sub;
        if (exists(dir + "/cpuset.cpus"))
            for (const char* sub : {"/init.scope", "/system.slice", "/system.slice/cron.service"})
                for (const char* f : {"/cpuset.cpus", "/cpuset.mems"})
                    write_file(dir + sub + f, read_file(dir.substr(0, dir.rfind('/')) + f));
    }
    Child child(false);
    for (const auto& dir : cg->paths())
        write_file(dir + "/system.slice/cron.service/cgroup.procs", std::to_string(child.pid()));
    child.start();
    EXPECT_EQ(cg->usage().pids, 1u) << "usage counts the guest's sub-cgroups";

    // A signal other than SIGKILL goes pid by pid through the whole subtree.
    cg->kill_all(SIGTERM);
    int status = child.reap();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    cg->destroy();
    EXPECT_FALSE(cg->exists());
}

TEST(Cgroup, KillingAFrozenContainerEndsIt) {
    TestCgroup cg("frozenkill");
    cg->create(0, 0);
    Child child(true);
    cg->attach(child.pid());
    child.start();
    cg->freeze(true);
    cg->kill_all(SIGKILL);
    auto status = child.reap_within(3s);
    ASSERT_TRUE(status) << "a killed task stayed frozen";
    EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
    EXPECT_FALSE(cg->frozen());
    cg->destroy();
    EXPECT_FALSE(cg->exists());
}

TEST(Cgroup, DestroyWaitsForTasksThatAreStillExiting) {
    TestCgroup cg("exiting");
    cg->create(0, 0);
    Child child(false);
    cg->attach(child.pid());
    child.start();
    cg->kill_all(SIGKILL);
    // No waitpid yet: the child may still be exiting, or a zombie.
    cg->destroy();
    EXPECT_FALSE(cg->exists());
    int status = child.reap();
    EXPECT_TRUE(WIFSIGNALED(status));
}

TEST(Cgroup, DestroyRefusesWhileTasksLive) {
    TestCgroup cg("busy");
    cg->create(0, 0);
    Child child(false);
    cg->attach(child.pid());
    child.start();
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_THROW(cg->destroy(), Error);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, 3s) << "the wait for tasks must be bounded";
    EXPECT_TRUE(cg->exists()) << "a live task's cgroup must stay";
    cg->kill_all(SIGKILL);
    child.reap();
}

TEST(Cgroup, AFailedCreateLeavesNothingBehind) {
    TestCgroup cg("half");
    auto paths = cg->paths();
    // Someone else's directory in the last hierarchy: create must stop
    // there, undo the rest, and leave that directory alone.
    auto theirs = paths.back();
    ASSERT_TRUE(make_dirs(theirs));
    EXPECT_EQ(status_of([&] { cg->create(0, 0); }), 409);
    for (size_t i = 0; i + 1 < paths.size(); ++i) EXPECT_FALSE(exists(paths[i])) << paths[i];
    EXPECT_TRUE(exists(theirs));
    ASSERT_EQ(::rmdir(theirs.c_str()), 0);
    ::rmdir(theirs.substr(0, theirs.rfind('/')).c_str());
}

// The pure v2 backend, exercised on a cgroup2 mount of this host (on hybrid
// hosts /sys/fs/cgroup/unified) through LODGE_CGROUP_ROOT.
class UnifiedRoot {
public:
    UnifiedRoot() {
        if (const char* old = std::getenv("LODGE_CGROUP_ROOT")) old_ = old;
        struct statfs fs;
        for (std::string dir : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
            if (::statfs(dir.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
                ::setenv("LODGE_CGROUP_ROOT", dir.c_str(), 1);
                root_ = dir;
                return;
            }
        }
    }
    ~UnifiedRoot() {
        if (old_)
            ::setenv("LODGE_CGROUP_ROOT", old_->c_str(), 1);
        else
            ::unsetenv("LODGE_CGROUP_ROOT");
    }
    const std::string& root() const { return root_; }

private:
    std::optional<std::string> old_;
    std::string root_;
};

TEST(Cgroup, UnifiedBackendOnItsOwn) {
    UnifiedRoot unified;
    if (unified.root().empty()) GTEST_SKIP() << "no cgroup2 mount";
    ASSERT_EQ(detect_cgroup_layout(), CgroupLayout::unified);
    TestCgroup cg("v2only");
    ASSERT_EQ(cg->paths(), std::vector<std::string>{unified.root() + "/" + test_parent() + "/v2only"});
    cg->create(1000000, 1000000);
    struct stat st;
    ASSERT_EQ(::stat((cg->paths()[0] + "/cgroup.procs").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000000u);
    EXPECT_GE(cg->unified_fd(), 0);

    auto controllers = read_file(cg->paths()[0] + "/cgroup.controllers");
    EXPECT_NO_THROW(cg->apply({})); // defaults only where controllers are
    EXPECT_EQ(cg->read_limits(), Limits{});
    if (controllers.find("pids") == std::string::npos) {
        EXPECT_EQ(status_of([&] { cg->apply({.pids_max = 10}); }), 400);
    }

    Child child(true);
    cg->attach(child.pid());
    child.start();
    EXPECT_TRUE(eventually([&] { return cg->usage().cpu_ns > 0; }));
    cg->freeze(true);
    EXPECT_TRUE(cg->frozen());
    EXPECT_NE(read_file(cg->paths()[0] + "/cgroup.events").find("frozen 1"), std::string::npos);
    cg->freeze(false);
    EXPECT_FALSE(cg->frozen());
    cg->kill_all(SIGKILL);
    int status = child.reap();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

} // namespace
} // namespace lodge::runtime
