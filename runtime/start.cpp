#include "runtime/start.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/reverter.hpp"
#include "runtime/device_cgroup.hpp"
#include "runtime/device_nodes.hpp"
#include "runtime/devices.hpp"
#include "runtime/inject.hpp"
#include "runtime/message.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/netif.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/shift.hpp"
#include "runtime/syscalls.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lodge::runtime {

namespace {

constexpr long overlayfs_magic = 0x794c7630;

// What the child needs, prepared by the parent so the child does as little
// as possible between clone and exec.
struct ChildPlan {
    const ContainerConfig& cfg;
    const NamespaceSet& ns;
    std::vector<std::string> cgroup_procs; // cgroup.procs files to join (v1)
    std::string console;
    bool idmap_root;
    DevOwner owner;
    const std::vector<unsigned char>& seccomp;
    std::vector<std::string> env;
    int listener_sock = -1; // where the seccomp listener goes to the monitor
    std::vector<std::string> node_sources; // host copies of cfg.devices, in order
    // The config's mounts and nodes are put in by the parent once the
    // child has its own mount namespace (unprivileged: see start_container).
    bool inject = false;
};

void set_ns(int fd, int type, const char* what) {
    if (::setns(fd, type) < 0) throw_errno(std::string("join the container's ") + what + " namespace");
}

void become_container_root(const ChildPlan& p) {
    if (p.ns.user) set_ns(p.ns.user.get(), CLONE_NEWUSER, "user");
    if (::setgroups(0, nullptr) < 0) throw_errno("setgroups");
    if (::setresgid(0, 0, 0) < 0) throw_errno("setresgid");
    if (::setresuid(0, 0, 0) < 0) throw_errno("setresuid");
}

void attach_console() {
    if (::setsid() < 0) throw_errno("setsid");
    int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0) {
        fd = ::open("/dev/null", O_RDWR);
        if (fd < 0) throw_errno("open /dev/null");
    } else if (::ioctl(fd, TIOCSCTTY, 0) < 0) {
        throw_errno("make /dev/console the controlling terminal");
    }
    for (int i = 0; i < 3; ++i)
        if (::dup2(fd, i) < 0) throw_errno("dup2 console");
    if (fd > 2) ::close(fd);
}

void reset_signals() {
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
}

// The config's device nodes of a privileged container, bound from their
// host copies before pivot (unprivileged ones are injected, see
// inject_config_mounts).
void bind_device_nodes(int root_fd, const ChildPlan& p) {
    for (size_t i = 0; i < p.cfg.devices.size(); ++i) {
        UniqueFd target = make_file_in_root(root_fd, p.cfg.devices[i].path);
        UniqueFd tree = clone_node_mount(p.node_sources[i]);
        if (sys::move_mount(tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
            throw_errno("mount device node " + p.cfg.devices[i].path);
    }
}

[[noreturn]] void child_main(const ChildPlan& p, int report_fd) {
    try {
        const auto& cfg = p.cfg;
        reset_signals();
        // Mount points the image may lack are made on disk first: the
        // host's root can't create files through the idmapped mount.
        {
            UniqueFd raw(::open(cfg.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!raw) throw_errno("open root filesystem " + cfg.rootfs);
            for (const char* d : {"proc", "sys", "dev"}) make_dir_in_root(raw.get(), d);
            if (!p.inject)
                for (const auto& m : cfg.mounts) make_dir_in_root(raw.get(), m.target);
        }
        for (const auto& procs : p.cgroup_procs) write_file(procs, "0");

        set_ns(p.ns.net.get(), CLONE_NEWNET, "network");
        // As the host's root still: a loopback that is up whatever the
        // guest's init does (busybox's does nothing), so services bound to
        // 127.0.0.1 answer a proxy device.
        loopback_up();
        set_ns(p.ns.uts.get(), CLONE_NEWUTS, "uts");
        set_ns(p.ns.ipc.get(), CLONE_NEWIPC, "ipc");
        if (::sethostname(cfg.name.data(), cfg.name.size()) < 0) throw_errno("sethostname");

        UniqueFd root = mount_root(cfg.rootfs, p.idmap_root ? p.ns.user.get() : -1);
        if (!p.inject)
            for (const auto& m : cfg.mounts) mount_directory(root.get(), m.source, m.target, m.readonly, -1);
        mount_proc(root.get());
        mount_sys(root.get());
        populate_dev(root.get(), p.owner, p.console);
        if (!p.inject) bind_device_nodes(root.get(), p);
        pivot_into(cfg.rootfs);
        root.reset();

        if (!cfg.privileged) become_container_root(p);
        // A mount namespace of the container's own: everything above was
        // mounted by the host's root and is now locked in place.
        if (::unshare(CLONE_NEWNS | CLONE_NEWCGROUP) < 0) throw_errno("unshare mount and cgroup namespaces");
        if (p.inject) {
            send_message(p.listener_sock, "mounts");
            if (recv_message(p.listener_sock) != "go") throw Error("the monitor did not put in the mounts");
        }

        attach_console();
        drop_bounding_caps(cfg.security);

        std::vector<char*> argv, envp;
        for (const auto& a : cfg.init) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        for (const auto& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);

        sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        int listener = load_seccomp(p.seccomp, true);
        if (listener < 0) throw SystemError("load the seccomp filter", -listener);
        send_message(p.listener_sock, "listener", listener);
        ::close(listener);
        ::execve(argv[0], argv.data(), envp.data());
        throw_errno("exec " + cfg.init.front());
    } catch (const std::exception& e) {
        const char* msg = e.what();
        (void)!::write(report_fd, msg, std::strlen(msg));
    }
    ::_exit(127);
}

// The config's mounts and device nodes of an unprivileged container, put
// into the child's own mount namespace once it has one (it says "mounts"
// and waits for "go"): made before, by the host's root, they would be
// locked to their place, and neither a later unplug nor the guest could
// unmount them; put in this way their flags are locked (a read-only disk
// stays read-only) but they can be unplugged.
void inject_config_mounts(const ContainerConfig& cfg, const ChildPlan& plan, pid_t child,
                          const std::string& container_dir, int sock, int report_fd) {
    if (recv_message(sock) != "mounts") {
        std::string error = read_to_eof(report_fd);
        throw Error("container '" + cfg.name + "' failed to start: " + (error.empty() ? "init ended early" : error));
    }
    UniqueFd mntns(::open(("/proc/" + std::to_string(child) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
    if (!mntns) throw_errno("open the mount namespace of container '" + cfg.name + "'");
    int userns = plan.ns.user.get();
    try {
        for (const auto& m : cfg.mounts) {
            UniqueFd tree = clone_directory_mount(m.source, m.readonly, plan.idmap_root && m.shift ? userns : -1);
            inject_locked_mount(userns, mntns.get(), container_dir, tree.get(), m.target, true);
        }
        for (size_t i = 0; i < cfg.devices.size(); ++i) {
            UniqueFd tree = clone_node_mount(plan.node_sources[i]);
            inject_locked_mount(userns, mntns.get(), container_dir, tree.get(), cfg.devices[i].path, false);
        }
    } catch (const Error& e) {
        throw Error(e.status(), "container '" + cfg.name + "' failed to start: " + e.what());
    }
    send_message(sock, "go");
}

// The file the container's init resolves to inside its root ("" when it
// can't be resolved), to tell which halt signal it understands.
std::string init_target(const ContainerConfig& cfg) {
    UniqueFd root(::open(cfg.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return {};
    int fd = try_open_in_root(root.get(), cfg.init.front(), O_PATH);
    if (fd < 0) return {};
    UniqueFd init(fd);
    char target[4096];
    ssize_t n = ::readlink(fd_path(fd).c_str(), target, sizeof target - 1);
    if (n <= 0) return {};
    return std::string(target, static_cast<size_t>(n));
}

bool ends_with(const std::string& s, const char* tail) {
    size_t n = std::strlen(tail);
    return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

} // namespace

bool rootfs_idmapped(const ContainerConfig& cfg) {
    if (cfg.privileged) return false;
    struct statfs sfs;
    if (::statfs(cfg.rootfs.c_str(), &sfs) < 0) throw_errno("statfs " + cfg.rootfs);
    return sfs.f_type != overlayfs_magic;
}

std::vector<std::string> init_environment(const ContainerConfig& cfg) {
    std::vector<std::string> env = {
        "container=lxc",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM=linux",
        "HOME=/root",
    };
    env.insert(env.end(), cfg.env.begin(), cfg.env.end());
    return env;
}

int halt_signal_for(const ContainerConfig& cfg) {
    if (cfg.halt_signal > 0) return cfg.halt_signal;
    // A pid namespace's init ignores signals it has no handler for, so the
    // signal must be one this init handles: SIGRTMIN+3 for systemd, SIGUSR1
    // for busybox init, SIGPWR for sysvinit and OpenRC's init.
    std::string init = init_target(cfg);
    if (ends_with(init, "/systemd")) return SIGRTMIN + 3;
    if (ends_with(init, "/busybox")) return SIGUSR1;
    return SIGPWR;
}

RunningContainer start_container(const ContainerConfig& cfg, const std::string& console,
                                 const std::string& container_dir) {
    cfg.validate();
    RunningContainer rc; // outlives the reverter, whose undo steps use it
    Reverter revert;

    int64_t root_uid = cfg.privileged ? 0 : cfg.idmap.host_uid(0);
    int64_t root_gid = cfg.privileged ? 0 : cfg.idmap.host_gid(0);
    int64_t tty_gid = cfg.privileged ? 5 : cfg.idmap.host_gid(5);
    if (root_uid < 0 || root_gid < 0 || tty_gid < 0) throw Error(400, "the id map must map container ids 0 and 5");

    rc.cgroup = open_cgroup(cfg.name);
    rc.cgroup->create(static_cast<uid_t>(root_uid), static_cast<gid_t>(root_gid));
    revert.add([&] { rc.cgroup->destroy(); });
    rc.cgroup->apply(cfg.limits);
    // Before any process runs in the cgroup; the cgroup's removal takes the
    // rules and the program with it.
    auto rules = device_rules(cfg);
    DeviceProgram program = setup_device_cgroup(rc.cgroup->paths(), rules);
    write_device_record(container_dir, {rules, program});
    clear_host_nodes(container_dir);
    std::vector<std::string> node_sources;
    revert.add([&] { clear_host_nodes(container_dir); });
    for (const auto& d : cfg.devices) {
        make_host_node(container_dir, d, cfg);
        node_sources.push_back(host_node_path(container_dir, d));
    }
    rc.seccomp = compile_seccomp(cfg.security);

    bool idmap_root = rootfs_idmapped(cfg);
    if (!cfg.privileged && !idmap_root) {
        // overlayfs can't be idmapped: ownership is shifted on disk once.
        shift_tree(cfg.rootfs, {static_cast<uint32_t>(root_uid), static_cast<uint32_t>(root_gid),
                                cfg.idmap.uids.front().count});
    }
    NamespaceSet ns = make_namespaces(cfg.idmap, cfg.privileged);
    // Before init runs, so the guest's network setup finds its interfaces
    // at boot. Should the start fail, they go with the namespace.
    for (const auto& n : cfg.interfaces) move_interface(n.host, ns.net.get(), n.name);

    ChildPlan plan{cfg, ns, {}, console, idmap_root,
                   {static_cast<uid_t>(root_uid), static_cast<gid_t>(root_gid), static_cast<gid_t>(tty_gid)},
                   rc.seccomp, init_environment(cfg)};
    plan.node_sources = std::move(node_sources);
    plan.inject = !cfg.privileged && (!cfg.mounts.empty() || !cfg.devices.empty());
    int cg_fd = rc.cgroup->unified_fd();
    for (const auto& dir : rc.cgroup->paths()) {
        // The v2 directory is joined atomically by clone3 when there is one.
        if (cg_fd >= 0 && !is_v1_cgroup_dir(dir)) continue;
        plan.cgroup_procs.push_back(dir + "/cgroup.procs");
    }

    int report[2], sv[2];
    check(::pipe2(report, O_CLOEXEC), "pipe");
    UniqueFd report_r(report[0]), report_w(report[1]);
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair");
    UniqueFd listener_r(sv[0]), listener_w(sv[1]);
    plan.listener_sock = listener_w.get();

    int pidfd = -1;
    struct clone_args args = {};
    // The pid namespace belongs to the host's user namespace, as the kernel
    // offers no way to hand one owned by the container's over to a process
    // that is still the host's root. So container root can't mount a procfs
    // of its own (nothing gets past the masks), and a guest's reboot(2) is
    // refused: systemd and busybox init then simply exit, which is a clean
    // halt.
    args.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_PIDFD | (cg_fd >= 0 ? CLONE_INTO_CGROUP : 0);
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    if (cg_fd >= 0) args.cgroup = static_cast<uint64_t>(cg_fd);
    pid_t pid = sys::clone3(args);
    if (pid < 0) throw_errno("clone3 container init");
    if (pid == 0) {
        report_r.reset();
        child_main(plan, report_w.get());
    }
    rc.init_pid = pid;
    rc.init_pidfd.reset(pidfd);
    revert.add([&rc] {
        sys::pidfd_send_signal(rc.init_pidfd.get(), SIGKILL);
        ::waitpid(rc.init_pid, nullptr, 0);
    });
    report_w.reset();
    listener_w.reset();
    if (plan.inject) inject_config_mounts(cfg, plan, pid, container_dir, listener_r.get(), report_r.get());

    // The pipe closes on exec; anything read from it is the child's error.
    std::string error = read_to_eof(report_r.get());
    if (!error.empty()) {
        throw Error("container '" + cfg.name + "' failed to start: " + error);
    }
    recv_message(listener_r.get(), &rc.reboot_listener);
    if (!rc.reboot_listener) throw Error("container '" + cfg.name + "': init sent no seccomp listener");
    revert.success();
    return rc;
}

} // namespace lodge::runtime
