// run_confined: fork, Landlock, exec, and the child's output line by line.
// Landlock is used through its raw system calls; rights the kernel's ABI
// does not know are left out of the ruleset (detected, not assumed).
#include "images/vm/confine.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <linux/securebits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lodge::vm {

namespace {

// Rights newer than the distribution's linux/landlock.h.
constexpr std::uint64_t fs_truncate = 1ULL << 14;   // ABI 3
constexpr std::uint64_t fs_ioctl_dev = 1ULL << 15;  // ABI 5
constexpr std::uint64_t net_bind_tcp = 1ULL << 0;   // ABI 4
constexpr std::uint64_t net_connect_tcp = 1ULL << 1;
constexpr std::uint64_t scope_abstract_unix = 1ULL << 0; // ABI 6
constexpr std::uint64_t scope_signal = 1ULL << 1;

// struct landlock_ruleset_attr as of ABI 6; the size passed tells the
// kernel which fields we fill.
struct RulesetAttr {
    std::uint64_t handled_access_fs;
    std::uint64_t handled_access_net;
    std::uint64_t scoped;
};

constexpr std::uint64_t read_rights =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
constexpr std::uint64_t write_rights = read_rights | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                                       LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_MAKE_DIR |
                                       LANDLOCK_ACCESS_FS_MAKE_REG | fs_truncate | fs_ioctl_dev;
// Rights that make sense on a file rather than a directory.
constexpr std::uint64_t file_rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                      LANDLOCK_ACCESS_FS_READ_FILE | fs_truncate | fs_ioctl_dev;

std::uint64_t fs_rights_of_abi(int abi) {
    std::uint64_t rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; // ABI 1
    if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) rights |= fs_truncate;
    if (abi >= 5) rights |= fs_ioctl_dev;
    return rights;
}

const std::vector<std::string> always_readable = {
    "/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/localtime",
    "/dev/zero", "/dev/urandom", "/dev/random", "/sys/devices/system/cpu", "/sys/devices/system/node"};

class Ruleset {
public:
    // Returns false (with note) when the kernel has no Landlock at all.
    bool create(std::string& note) {
        abi_ = int(::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION));
        if (abi_ < 0) {
            if (errno == ENOSYS || errno == EOPNOTSUPP) {
                note = "Landlock is not available in this kernel; the program ran unconfined (the image's headers "
                       "were checked for references to other files before)";
                return false;
            }
            throw_errno("landlock_create_ruleset");
        }
        RulesetAttr attr{fs_rights_of_abi(abi_), 0, 0};
        std::size_t size = sizeof(std::uint64_t);
        if (abi_ >= 4) {
            attr.handled_access_net = net_bind_tcp | net_connect_tcp;
            size = 2 * sizeof(std::uint64_t);
        }
        if (abi_ >= 6) {
            attr.scoped = scope_abstract_unix | scope_signal;
            size = sizeof(attr);
        }
        fd_.reset(int(::syscall(SYS_landlock_create_ruleset, &attr, size, 0)));
        if (!fd_) throw_errno("landlock_create_ruleset");
        return true;
    }

    // required: a path the caller listed, which must exist.
    void allow(const std::string& path, std::uint64_t rights, bool required) {
        UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
        if (!fd) {
            if (!required && (errno == ENOENT || errno == ENOTDIR)) return;
            throw_errno("confining a helper program: " + path);
        }
        struct stat st {};
        check(::fstat(fd.get(), &st), "fstat " + path);
        if (!S_ISDIR(st.st_mode)) rights &= file_rights;
        // A checker reading a (read-only) loop device asks it for its size
        // and zones by ioctl: a listed block device may be asked.
        if (S_ISBLK(st.st_mode)) rights |= fs_ioctl_dev;
        landlock_path_beneath_attr rule{rights & fs_rights_of_abi(abi_), fd.get()};
        if (::syscall(SYS_landlock_add_rule, fd_.get(), LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
            throw_errno("landlock_add_rule for " + path);
    }

    int fd() const { return fd_.get(); }
    std::uint64_t read_rights_now() const { return read_rights & fs_rights_of_abi(abi_); }

private:
    int abi_ = 0;
    UniqueFd fd_;
};

std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
        std::string path = dir + name;
        if (::access(path.c_str(), X_OK) == 0) return path;
    }
    throw Error(500, fmt::format("the program '{}' is not installed", name));
}

void child_fail(int fd, const char* what) {
    const char* err = strerror(errno);
    (void)!::write(fd, what, strlen(what));
    (void)!::write(fd, ": ", 2);
    (void)!::write(fd, err, strlen(err));
    (void)!::write(fd, "\n", 1);
    _exit(127);
}

// Root without capabilities: root still owns the image, the output and the
// loop devices, so the helpers work, but a helper subverted by a hostile
// image gets no mount, module, raw I/O or DAC override rights. Without
// CAP_SETPCAP (not root) the bounding set cannot shrink, and need not: such
// a process has no capabilities to lose and no_new_privs stops file caps.
void drop_capabilities(std::uint64_t keep) {
    if (::prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                       SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED,
                0, 0, 0) != 0 &&
        errno != EPERM)
        child_fail(2, "PR_SET_SECUREBITS");
    for (int cap = 0; cap < 64; ++cap)
        if (!(keep >> cap & 1) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM)
            child_fail(2, "PR_CAPBSET_DROP");
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    // A kept capability must be inheritable and ambient to survive exec
    // now that root is not special (SECBIT_NOROOT).
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    for (int i = 0; i < 2; ++i) {
        auto bits = std::uint32_t(keep >> (32 * i));
        data[i] = {bits, bits, bits};
    }
    if (::syscall(SYS_capset, &header, data) != 0) child_fail(2, "capset (keeping capabilities needs them)");
    for (int cap = 0; cap < 64; ++cap)
        if ((keep >> cap & 1) && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
            child_fail(2, "PR_CAP_AMBIENT_RAISE");
}

// Between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(const char* program, char* const* argv, char* const* envp, int out, int null_fd,
                             int ruleset, std::uint64_t proc_rights, std::uint64_t keep_caps, pid_t parent) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(out, "PR_SET_PDEATHSIG");
    if (::getppid() != parent) _exit(127);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    // Ignored signals stay ignored across exec; the helper gets defaults.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    if (::dup2(null_fd, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) child_fail(out, "dup2");
    drop_capabilities(keep_caps);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(2, "PR_SET_NO_NEW_PRIVS");
    if (ruleset >= 0) {
        // /proc/self must be opened here: in the parent it is the parent's.
        int self = ::open("/proc/self", O_PATH | O_CLOEXEC);
        if (self < 0) child_fail(2, "open /proc/self");
        landlock_path_beneath_attr rule{proc_rights, self};
        if (::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
            child_fail(2, "landlock_add_rule /proc/self");
        if (::syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) child_fail(2, "landlock_restrict_self");
    }
    if (::syscall(SYS_close_range, 3, ~0U, 0) != 0) child_fail(2, "close_range");
    ::execve(program, argv, envp);
    child_fail(2, program);
    _exit(127);
}

// Output kept for the result: the last MiB, as errors come at the end.
constexpr std::size_t max_output = 1 << 20;

void deliver_lines(std::string& pending, const std::function<void(std::string_view)>& on_line, bool flush) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < pending.size(); ++i) {
        if (pending[i] != '\n' && pending[i] != '\r') continue;
        if (i > start && on_line) on_line(std::string_view(pending).substr(start, i - start));
        start = i + 1;
    }
    if (flush && start < pending.size() && on_line) on_line(std::string_view(pending).substr(start));
    pending.erase(0, flush ? pending.size() : start);
    if (pending.size() > max_output) pending.erase(0, pending.size() - max_output);
}

} // namespace

RunResult run_confined(const std::vector<std::string>& argv, const Confinement& confinement,
                       const std::function<void(std::string_view line)>& on_line) {
    if (argv.empty()) throw Error(500, "run_confined: no program");
    std::string program = find_program(argv[0]);
    RunResult result;
    Ruleset ruleset;
    result.confined = ruleset.create(result.note);
    if (result.confined) {
        for (const auto& p : always_readable) ruleset.allow(p, read_rights, false);
        ruleset.allow("/dev/null", write_rights, false);
        ruleset.allow(program, read_rights, true);
        for (const auto& p : confinement.read) ruleset.allow(p, read_rights, true);
        for (const auto& p : confinement.write) ruleset.allow(p, write_rights, true);
    }

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    char lc_env[] = "LC_ALL=C";
    char* envp[] = {path_env, lc_env, nullptr};

    int pipe_fds[2];
    check(::pipe2(pipe_fds, O_CLOEXEC), "pipe2");
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    UniqueFd null_fd(check(::open("/dev/null", O_RDWR | O_CLOEXEC), "open /dev/null"));
    std::uint64_t keep_caps = 0;
    for (int cap : confinement.capabilities) {
        if (cap < 0 || cap > 63) throw Error(500, fmt::format("run_confined: no capability {}", cap));
        keep_caps |= std::uint64_t(1) << cap;
    }
    pid_t parent = ::getpid();
    pid_t pid = check(::fork(), "fork");
    if (pid == 0)
        exec_child(program.c_str(), args.data(), envp, write_end.get(), null_fd.get(),
                   result.confined ? ruleset.fd() : -1, ruleset.read_rights_now(), keep_caps, parent);
    write_end.reset();

    std::string pending;
    try {
        char buf[16384];
        for (;;) {
            ssize_t n = ::read(read_end.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            pending.append(buf, std::size_t(n));
            result.output.append(buf, std::size_t(n));
            if (result.output.size() > 2 * max_output) result.output.erase(0, result.output.size() - max_output);
            deliver_lines(pending, on_line, false);
        }
        deliver_lines(pending, on_line, true);
    } catch (...) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {}
        throw;
    }
    if (result.output.size() > max_output) result.output.erase(0, result.output.size() - max_output);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw_errno("waitpid");
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

} // namespace lodge::vm
