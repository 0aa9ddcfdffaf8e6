#include "tests/integration/harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace lodge::test {

void reap_orphans();

namespace {

double now_s() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

} // namespace

pid_t spawn(const std::vector<std::string>& argv, int in, int out, int err) {
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    return pid;
}

Result run(const std::vector<std::string>& argv, const std::string& input, int timeout_s) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
        throw std::runtime_error("pipe");
    pid_t pid = spawn(argv, in[0], out[1], err[1]);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (!input.empty()) (void)!::write(in[1], input.data(), input.size());
    ::close(in[1]);
    Result r;
    double deadline = now_s() + timeout_s;
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        int left = static_cast<int>((deadline - now_s()) * 1000);
        if (left <= 0) {
            ::kill(pid, SIGKILL);
            break;
        }
        if (::poll(fds, 2, left) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[65536];
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            } else {
                (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) ::close(f.fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

std::string build_dir() { return LODGE_BUILD_DIR; }
std::string bin(const std::string& name) { return build_dir() + "/bin/" + name; }

std::string fixture(const std::string& name) {
    const char* cache = std::getenv("LODGE_TEST_CACHE");
    std::string dir = std::string(cache && *cache ? cache : "/var/cache/lodge-test") + "/" + name;
    // The builder returns at once when its cached result is current.
    Result r = run({std::string(LODGE_SOURCE_DIR) + "/tests/fixtures/" + name + ".sh"}, "", 900);
    if (r.status != 0) throw std::runtime_error("building fixture " + name + " failed: " + r.err);
    return dir;
}

RootfsCopy::RootfsCopy(const std::string& fixture_name) {
    char tmpl[] = "/var/tmp/lodge-test-rootfs.XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    path_ = dir_ + "/rootfs";
    Result r = run({"cp", "-a", "--reflink=auto", fixture(fixture_name), path_}, "", 300);
    if (r.status != 0) throw std::runtime_error("copying fixture failed: " + r.err);
}

RootfsCopy::~RootfsCopy() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

Container::Container(std::string name, const std::string& fixture_name)
    : name_(std::move(name)), rootfs_(fixture_name), run_dir_(rootfs_.dir() + "/run") {}

Container::~Container() {
    runtime({"stop", name_, "--force"});
    runtime({"delete", name_});
    wait_until([&] { return leftovers(name_, rootfs()).empty(); }, 5);
}

Result Container::runtime(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {bin("lodge-runtime"), "--run-dir", run_dir_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

Result Container::start(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"start", name_, "--rootfs", rootfs_.path()};
    args.insert(args.end(), extra.begin(), extra.end());
    return runtime(args);
}

Result Container::exec(const std::vector<std::string>& cmd, const std::string& input,
                       const std::vector<std::string>& opts) {
    std::vector<std::string> argv = {bin("lodge-runtime"), "--run-dir", run_dir_, "exec", name_};
    argv.insert(argv.end(), opts.begin(), opts.end());
    argv.push_back("--");
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run(argv, input);
}

Result Container::stop(double timeout_s, bool force) {
    std::vector<std::string> args = {"stop", name_, "--timeout", std::to_string(timeout_s)};
    if (force) args.push_back("--force");
    return runtime(args);
}

std::string Container::state_json() { return runtime({"state", name_}).out; }

void Container::install_probe() { fs::copy_file(LODGE_PROBE, rootfs() + "/lodge-probe", fs::copy_options::overwrite_existing); }

std::vector<std::string> leftovers(const std::string& name, const std::string& rootfs) {
    reap_orphans();
    std::vector<std::string> found;
    std::error_code ec;
    // An empty name asks about mounts only.
    for (const auto& h : fs::directory_iterator(name.empty() ? "/nonexistent" : "/sys/fs/cgroup", ec)) {
        fs::path p = h.path() / "lodge" / name;
        if (fs::exists(p, ec)) found.push_back("cgroup " + p.string());
    }
    for (const auto& p : fs::directory_iterator("/proc", ec)) {
        std::ifstream cmd(p.path() / "cmdline");
        std::string line;
        std::getline(cmd, line, '\0');
        // "lodge-monitor NAME RUN_DIR" while it creates the container,
        // "lodge-monitor --supervise NAME ..." once it supervises it.
        std::string arg;
        std::getline(cmd, arg, '\0');
        if (arg == "--supervise") std::getline(cmd, arg, '\0');
        if (!name.empty() && line == "lodge-monitor" && arg == name)
            found.push_back("monitor process " + p.path().filename().string());
    }
    std::ifstream mi("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mi, line))
        if (!rootfs.empty() && line.find(rootfs) != std::string::npos) found.push_back("mount " + line);
    return found;
}

void reap_orphans() {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
}

bool wait_until(const std::function<bool()>& pred, double timeout_s) {
    double deadline = now_s() + timeout_s;
    while (now_s() < deadline) {
        reap_orphans();
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

} // namespace lodge::test
