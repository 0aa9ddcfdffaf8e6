// Finding the host's cgroup layout, choosing the backend, and the pieces v1
// and v2 share: limit conversions, directory creation and delegation,
// signalling tasks safely, and the bounded wait-then-rmdir of destroy().
#include "runtime/cgroup.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/reverter.hpp"
#include "runtime/cgroup_internal.hpp"
#include "runtime/syscalls.hpp"

#include <dirent.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <set>
#include <thread>

namespace lodge::runtime {
namespace cgroup_detail {

// ---- mountinfo and layout ----

namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> out;
    size_t start = 0;
    for (size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == sep) {
            out.push_back(text.substr(start, i - start));
            start = i + 1;
        }
    }
    return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
    auto oct = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string dirname_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

} // namespace

std::string_view trim(std::string_view text) {
    const char* ws = " \t\n";
    auto b = text.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    return text.substr(b, text.find_last_not_of(ws) - b + 1);
}

std::optional<MountEntry> parse_mountinfo_line(std::string_view line) {
    auto f = split(trim(line), ' ');
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    auto sep = std::find(f.begin() + std::min<size_t>(f.size(), 6), f.end(), "-");
    if (f.size() < 10 || sep == f.end() || f.end() - sep < 4) return std::nullopt;
    return MountEntry{std::string(f[2]), unescape(f[3]), unescape(f[4]), std::string(sep[1]),
                      std::string(sep[3])};
}

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    for (auto line : split(text, '\n'))
        if (auto m = parse_mountinfo_line(line)) out.push_back(std::move(*m));
    return out;
}

std::vector<std::string> v1_controllers(std::string_view super_options) {
    static constexpr std::string_view flags[] = {
        "rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", "none", "all"};
    std::vector<std::string> out;
    for (auto opt : split(super_options, ',')) {
        if (opt.empty() || opt.starts_with("release_agent=")) continue;
        if (std::find(std::begin(flags), std::end(flags), opt) != std::end(flags)) continue;
        out.emplace_back(opt);
    }
    return out;
}

bool Hierarchy::has(std::string_view controller) const {
    return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

Hierarchies find_hierarchies(const std::vector<MountEntry>& mounts, const std::string& root,
                             bool root_is_cgroup2) {
    Hierarchies h;
    if (root_is_cgroup2) {
        h.unified = root;
        return h;
    }
    // The last mount on a mount point is the one visible there.
    std::vector<const MountEntry*> visible;
    for (const auto& m : mounts) {
        if (dirname_of(m.mount_point) != root) continue;
        std::erase_if(visible, [&](auto* v) { return v->mount_point == m.mount_point; });
        visible.push_back(&m);
    }
    std::vector<std::string> seen; // a hierarchy bind-mounted twice gets one directory
    for (const auto* m : visible) {
        if (m->fstype == "cgroup2") {
            h.unified = m->mount_point;
        } else if (m->fstype == "cgroup" && std::find(seen.begin(), seen.end(), m->device) == seen.end()) {
            seen.push_back(m->device);
            h.v1.push_back({m->mount_point, v1_controllers(m->super_options)});
        }
    }
    return h;
}

CgroupLayout layout_of(const Hierarchies& h, const std::string& root) {
    if (h.unified && *h.unified == root) return CgroupLayout::unified;
    if (h.unified) return CgroupLayout::hybrid;
    if (!h.v1.empty()) return CgroupLayout::legacy;
    throw Error("no cgroup hierarchy is mounted under " + root);
}

// ---- names ----

void validate_name(const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name.size() > 255 ||
        name.find_first_of(std::string_view("/\0\n", 3)) != std::string::npos)
        throw Error(400, "invalid cgroup name '" + name + "'");
}

void validate_parent(const std::string& parent) {
    for (auto part : split(parent, '/')) validate_name(std::string(part));
}

// ---- reading figures ----

std::optional<uint64_t> parse_u64(std::string_view text) {
    text = trim(text);
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

std::optional<uint64_t> keyed_value(std::string_view text, std::string_view key) {
    for (auto line : split(text, '\n')) {
        auto sp = line.find(' ');
        if (sp != std::string_view::npos && line.substr(0, sp) == key) return parse_u64(line.substr(sp + 1));
    }
    return std::nullopt;
}

UsageParts merge_usage(const UsageParts& a, const UsageParts& b) {
    return {a.memory ? a.memory : b.memory, a.memory_peak ? a.memory_peak : b.memory_peak,
            a.cpu_ns ? a.cpu_ns : b.cpu_ns, a.pids ? a.pids : b.pids,
            a.oom_kills ? a.oom_kills : b.oom_kills};
}

Usage to_usage(const UsageParts& p) {
    return {p.memory.value_or(0), p.memory_peak.value_or(0), p.cpu_ns.value_or(0), p.pids.value_or(0),
            p.oom_kills.value_or(0)};
}

// ---- filesystem pieces ----

bool path_exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

std::optional<std::string> read_if_present(const std::string& path) {
    try {
        return read_file(path);
    } catch (const SystemError& e) {
        if (e.code() == ENOENT) return std::nullopt;
        throw;
    }
}

namespace {

// Directories of the subtree at dir, children before their parents; empty
// when dir does not exist.
void collect_subtree(const std::string& dir, std::vector<std::string>& out) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        if (errno == ENOENT) return;
        throw_errno("open " + dir);
    }
    std::vector<std::string> children;
    while (auto* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (e->d_type == DT_DIR && n != "." && n != "..") children.push_back(dir + "/" + e->d_name);
    }
    ::closedir(d);
    for (const auto& c : children) collect_subtree(c, out);
    out.push_back(dir);
}

std::vector<std::string> subtree(const std::string& dir) {
    std::vector<std::string> out;
    collect_subtree(dir, out);
    return out;
}

// The pids in one cgroup's cgroup.procs. A cgroup that vanished, or a
// threaded one whose processes are listed at its domain, yields none.
std::set<pid_t> read_pids(const std::string& dir) {
    std::set<pid_t> pids;
    try {
        for (auto line : split(read_file(dir + "/cgroup.procs"), '\n'))
            if (auto v = parse_u64(line)) pids.insert(static_cast<pid_t>(*v));
    } catch (const SystemError& e) {
        if (e.code() != ENOENT && e.code() != EOPNOTSUPP) throw;
    }
    return pids;
}

bool has_tasks(const std::string& dir) {
    // v2 keeps a recursive "populated" flag; v1 must be walked.
    if (auto events = read_if_present(dir + "/cgroup.events"))
        return keyed_value(*events, "populated").value_or(0) != 0;
    for (const auto& d : subtree(dir))
        if (!read_pids(d).empty()) return true;
    return false;
}

// Removes the subtree depth first; false while some cgroup is still busy.
bool remove_tree(const std::string& dir) {
    for (const auto& d : subtree(dir)) {
        if (::rmdir(d.c_str()) == 0 || errno == ENOENT) continue;
        if (errno == EBUSY) return false;
        throw_errno("remove cgroup " + d);
    }
    return true;
}

// The parent directories are shared by every container: each goes only
// when empty, and a busy one (another container's cgroup inside) is normal.
void remove_empty_parents(const std::string& mount, const std::string& parent) {
    for (auto end = parent.size(); end != std::string::npos && end > 0; end = parent.rfind('/', end - 1)) {
        std::string dir = mount + "/" + parent.substr(0, end);
        if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return;
    }
}

// Signals the tasks of one cgroup that are not in `done`; returns how many
// it signalled. Each pid is pinned by a pidfd and checked to still be in
// the cgroup before the signal goes out, so a pid that exited and was
// reused by an unrelated process in between is left alone.
size_t signal_cgroup(const std::string& dir, int sig, std::set<pid_t>& done) {
    std::vector<std::pair<pid_t, UniqueFd>> pinned;
    for (pid_t pid : read_pids(dir)) {
        if (done.contains(pid)) continue;
        UniqueFd fd(sys::pidfd_open(pid));
        if (fd || errno == ENOSYS) pinned.emplace_back(pid, std::move(fd));
    }
    if (pinned.empty()) return 0;
    auto still = read_pids(dir);
    size_t sent = 0;
    for (auto& [pid, fd] : pinned) {
        if (!still.contains(pid)) continue;
        int rc = fd ? sys::pidfd_send_signal(fd.get(), sig) : ::kill(pid, sig);
        if (rc != 0 && errno != ESRCH) throw_errno("signal process " + std::to_string(pid) + " in " + dir);
        done.insert(pid);
        ++sent;
    }
    return sent;
}

} // namespace

std::optional<uint64_t> read_u64_if_present(const std::string& path) {
    auto text = read_if_present(path);
    return text ? parse_u64(*text) : std::nullopt;
}

std::optional<uint64_t> read_keyed_if_present(const std::string& path, std::string_view key) {
    auto text = read_if_present(path);
    return text ? keyed_value(*text, key) : std::nullopt;
}

void require_dir(const std::string& dir) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) throw_errno("cgroup " + dir);
    if (!S_ISDIR(st.st_mode)) throw SystemError("cgroup " + dir, ENOTDIR);
}

void write_limit(const std::string& path, const std::string& value, bool set) {
    if (!set && !path_exists(path)) return;
    write_file(path, value);
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
}

std::string make_cgroup_dir(const std::string& mount, const std::string& parent, const std::string& name,
                            const std::function<void(const std::string&)>& prepare) {
    std::string dir = mount + "/" + parent + "/" + name;
    // A concurrent destroy of the last other container may remove the
    // shared parent between our steps (ENOENT, or ENODEV from a file of the
    // removed cgroup); make it again then.
    for (int attempt = 0;; ++attempt) {
        try {
            std::string d = mount;
            for (auto part : split(parent, '/')) {
                d += "/";
                d += part;
                if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("create cgroup " + d);
                if (prepare) prepare(d);
            }
            if (::mkdir(dir.c_str(), 0755) == 0) return dir;
            if (errno == EEXIST)
                throw Error(409, "cgroup " + dir + " already exists: another container named '" + name +
                                     "' is running, or an earlier one was not cleaned up");
            throw_errno("create cgroup " + dir);
        } catch (const SystemError& e) {
            if ((e.code() != ENOENT && e.code() != ENODEV) || attempt == 5) throw;
        }
    }
}

void delegate_dir(const std::string& dir, uid_t uid, gid_t gid, bool unified) {
    std::vector<std::string> files = {"cgroup.procs", "tasks", "cgroup.subtree_control", "cgroup.threads"};
    // The kernel lists what a v2 delegatee may write (memory.reclaim, ...).
    if (auto listed = unified ? read_if_present("/sys/kernel/cgroup/delegate") : std::nullopt)
        for (auto f : split(*listed, '\n'))
            if (!f.empty() && std::find(files.begin(), files.end(), f) == files.end()) files.emplace_back(f);
    if (::chown(dir.c_str(), uid, gid) != 0) throw_errno("chown " + dir);
    for (const auto& f : files) {
        std::string path = dir + "/" + f;
        if (::chown(path.c_str(), uid, gid) != 0 && errno != ENOENT) throw_errno("chown " + path);
    }
}

void attach_pid(const std::string& dir, pid_t pid) { write_file(dir + "/cgroup.procs", std::to_string(pid)); }

void signal_tasks(const std::vector<std::string>& dirs, int sig) {
    std::set<pid_t> done;
    // A fork racing with SIGKILL can add a task after its cgroup was read;
    // go round again until a pass finds nobody new. Other signals go once:
    // a guest shutting down on SIGTERM may start helpers that must live.
    for (int pass = 0; pass < 100; ++pass) {
        size_t sent = 0;
        for (const auto& dir : dirs)
            for (const auto& d : subtree(dir)) sent += signal_cgroup(d, sig, done);
        if (sent == 0 || sig != SIGKILL) return;
    }
}

void remove_cgroups(const std::vector<std::string>& mounts, const std::string& parent,
                    const std::string& name) {
    using namespace std::chrono;
    auto deadline = steady_clock::now() + seconds(2);
    auto left = [&] {
        return duration_cast<milliseconds>(
            std::max(deadline - steady_clock::now(), steady_clock::duration(0)));
    };
    std::exception_ptr first_error;
    for (const auto& mount : mounts) {
        std::string dir = mount + "/" + parent + "/" + name;
        try {
            wait_until([&] { return !has_tasks(dir); }, left());
            if (!wait_until([&] { return remove_tree(dir); }, left()))
                throw Error(409, "cgroup " + dir + " still has tasks after 2 s; stop them first");
        } catch (const Error&) {
            if (!first_error) first_error = std::current_exception();
        }
        remove_empty_parents(mount, parent);
    }
    if (first_error) std::rethrow_exception(first_error);
}

// ---- hybrid: v1 for resources, v2 for membership ----

void HybridCgroup::create(uid_t uid, gid_t gid) {
    v1_.create(uid, gid);
    Reverter undo;
    undo.add([this] { v1_.destroy(); });
    v2_.create(uid, gid);
    undo.success();
}

void HybridCgroup::apply(const Limits& limits) {
    validate_limits(limits);
    // A controller belongs to one hierarchy; v1 takes what it has and
    // reports what neither has.
    auto [on_v1, on_v2] = split_limits(
        limits, [&](std::string_view c) { return v1_.has_controller(c) || !v2_.has_controller(c); });
    require_controllers(on_v1, [&](std::string_view c) { return v1_.has_controller(c); });
    v1_.apply(on_v1);
    v2_.apply(on_v2);
}

Limits HybridCgroup::read_limits() const {
    // The same split as apply(): v1 answers for the controllers it has.
    return merge_limits(v1_.read_limits(), v2_.read_limits(),
                        [&](std::string_view c) { return v1_.has_controller(c) || !v2_.has_controller(c); });
}

void HybridCgroup::attach(pid_t pid) {
    v1_.attach(pid);
    v2_.attach(pid);
}

Usage HybridCgroup::usage() const { return to_usage(merge_usage(v1_.usage_parts(), v2_.usage_parts())); }

void HybridCgroup::freeze(bool frozen) {
    if (v1_.has_controller("freezer"))
        v1_.freeze(frozen);
    else
        v2_.freeze(frozen);
}

bool HybridCgroup::frozen() const { return v1_.has_controller("freezer") ? v1_.frozen() : v2_.frozen(); }

void HybridCgroup::kill_all(int sig) {
    // Every task is in the v2 directory too, and cgroup.kill there is atomic.
    if (sig == SIGKILL && path_exists(v2_.dir() + "/cgroup.kill"))
        v2_.kill_all(sig);
    else
        signal_tasks(paths(), sig);
    // The v1 freezer holds even killed tasks until thawed: let them die.
    if (sig == SIGKILL && frozen()) freeze(false);
}

void HybridCgroup::destroy() {
    auto mounts = v1_.mounts();
    mounts.push_back(v2_.mount());
    v2_.close_fd();
    remove_cgroups(mounts, v1_.parent(), v1_.name());
}

std::vector<std::string> HybridCgroup::paths() const {
    auto out = v1_.paths();
    out.push_back(v2_.dir());
    return out;
}

namespace {

Hierarchies discover_now(const std::string& root) {
    struct statfs fs;
    if (::statfs(root.c_str(), &fs) != 0) throw_errno("cgroup root " + root);
    bool cgroup2 = static_cast<unsigned long>(fs.f_type) == CGROUP2_SUPER_MAGIC;
    return find_hierarchies(parse_mountinfo(read_file("/proc/self/mountinfo")), root, cgroup2);
}

// The host's cgroup mounts do not change under a running process, and
// reading mountinfo dominates asking about a thousand containers, so the
// answer for the real root is kept. Other roots (tests) are read each time.
Hierarchies discover(const std::string& root) {
    if (root != "/sys/fs/cgroup") return discover_now(root);
    static std::mutex mutex;
    static std::optional<Hierarchies> cached;
    std::lock_guard lock(mutex);
    if (!cached) cached = discover_now(root);
    return *cached;
}

} // namespace
} // namespace cgroup_detail

using namespace cgroup_detail;

std::string cgroup_root() {
    const char* env = std::getenv("LODGE_CGROUP_ROOT");
    std::string root = env && *env ? env : "/sys/fs/cgroup";
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    return root;
}

CgroupLayout detect_cgroup_layout() {
    auto root = cgroup_root();
    return layout_of(discover(root), root);
}

std::unique_ptr<Cgroup> open_cgroup(const std::string& name, const std::string& parent) {
    validate_name(name);
    validate_parent(parent);
    auto root = cgroup_root();
    auto h = discover(root);
    switch (layout_of(h, root)) {
    case CgroupLayout::unified:
        return std::make_unique<CgroupV2>(*h.unified, parent, name);
    case CgroupLayout::legacy:
        return std::make_unique<CgroupV1>(std::move(h.v1), parent, name);
    case CgroupLayout::hybrid:
        break;
    }
    return std::make_unique<HybridCgroup>(CgroupV1(std::move(h.v1), parent, name),
                                          CgroupV2(*h.unified, parent, name));
}

} // namespace lodge::runtime
