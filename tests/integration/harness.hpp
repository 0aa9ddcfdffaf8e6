// What the integration tests share: running commands, the fixtures, and a
// container that cleans itself up however a test ends.
#pragma once

#include <sys/types.h>

#include <string>
#include <functional>
#include <vector>

namespace lodge::test {

struct Result {
    int status = -1; // exit code, or 128+signal
    std::string out;
    std::string err;
};

// Forks and execs argv (no shell) with the given stdin, stdout and stderr;
// returns the child's pid.
pid_t spawn(const std::vector<std::string>& argv, int in, int out, int err);

// Runs argv (no shell), feeding `input` to stdin; waits at most timeout_s.
Result run(const std::vector<std::string>& argv, const std::string& input = "", int timeout_s = 120);

std::string build_dir();
std::string bin(const std::string& name); // a binary of the build
std::string fixture(const std::string& name); // cached root filesystem, built when missing

// A private copy of a fixture root filesystem in a temporary directory,
// removed on destruction.
class RootfsCopy {
public:
    explicit RootfsCopy(const std::string& fixture_name);
    ~RootfsCopy();
    RootfsCopy(const RootfsCopy&) = delete;
    RootfsCopy& operator=(const RootfsCopy&) = delete;
    const std::string& path() const { return path_; }
    const std::string& dir() const { return dir_; }

private:
    std::string dir_;  // temp dir holding rootfs/
    std::string path_; // dir_/rootfs
};

// One container driven through lodge-runtime on its own run directory.
// Whatever happens in the test, the destructor stops it (by force), deletes
// its run directory and checks nothing of it is left: no cgroup, no monitor
// process, no socket.
class Container {
public:
    Container(std::string name, const std::string& fixture_name);
    ~Container();
    Container(const Container&) = delete;
    Container& operator=(const Container&) = delete;

    // lodge-runtime start with extra options; returns its Result.
    Result start(const std::vector<std::string>& extra = {});
    Result exec(const std::vector<std::string>& cmd, const std::string& input = "",
                const std::vector<std::string>& opts = {});
    Result runtime(const std::vector<std::string>& args); // any lodge-runtime command for this container
    Result stop(double timeout_s = 30, bool force = false);
    std::string state_json();
    // Copies lodge-probe into the root filesystem as /lodge-probe.
    void install_probe();

    const std::string& name() const { return name_; }
    const std::string& rootfs() const { return rootfs_.path(); }
    const std::string& run_dir() const { return run_dir_; }

private:
    std::string name_;
    RootfsCopy rootfs_;
    std::string run_dir_;
};

// Names of what a container could leave behind on the host: cgroup
// directories under any hierarchy, lodge-monitor processes whose command
// line names it, mounts of its rootfs. Empty when clean. With an empty name
// only the mounts are looked at.
std::vector<std::string> leftovers(const std::string& name, const std::string& rootfs);

// Reaps monitors that were handed to this process (a subreaper) when their
// starter exited.
void reap_orphans();

// Polls until pred() or timeout; returns pred()'s last value.
bool wait_until(const std::function<bool()>& pred, double timeout_s);

} // namespace lodge::test
