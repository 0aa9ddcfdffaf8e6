// Applying metadata.yaml templates to an instance directory (see
// templates.hpp). Every file is reached through an fd of its root, so a
// symlink planted by the image or by the container never leads lodged to a
// host file.
#include "daemon/images/templates.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/path.hpp"
#include "daemon/images/template_render.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace lodge::daemon {

namespace {

constexpr std::size_t max_metadata_bytes = 1 << 20;
constexpr std::size_t max_template_bytes = 1 << 20;

struct Template {
    std::string target;   // "/etc/hostname"
    std::string source;   // "hostname.tpl", inside templates/
    std::vector<std::string> when;
    bool create_only = false;
    std::map<std::string, std::string> properties;
};

// Reads at most `limit` bytes of a regular file; Error(400) naming `what`
// when it is larger or not a regular file.
std::string read_limited(int fd, std::size_t limit, const std::string& what) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("stat " + what);
    if (!S_ISREG(st.st_mode)) throw Error(400, what + " is not a regular file");
    std::string out;
    char buf[65536];
    for (;;) {
        auto n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read " + what);
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > limit)
            throw Error(400, what + " is too large (more than " + std::to_string(limit) + " bytes)");
    }
    return out;
}

// An O_PATH fd reopened for reading once it is known to be a regular
// file: opening a device or a FIFO would already act on it.
UniqueFd reopen_regular(UniqueFd path_fd, const std::string& what) {
    struct stat st {};
    if (::fstat(path_fd.get(), &st) != 0) throw_errno("stat " + what);
    if (!S_ISREG(st.st_mode)) throw Error(400, what + " is not a regular file");
    UniqueFd fd(::open(fd_path(path_fd.get()).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) throw_errno("open " + what);
    return fd;
}

// A directory entry of the instance directory that must be what it says,
// not a symlink to elsewhere. Empty fd when absent.
UniqueFd open_entry(int dir_fd, const char* name, int flags) {
    UniqueFd fd(::openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC));
    if (!fd && errno == ENOENT) return fd;
    if (!fd && (errno == ELOOP || errno == ENOTDIR))
        throw Error(400, std::string("Instance '") + name + "' is a symlink or of the wrong type; refusing templates");
    if (!fd) throw_errno(std::string("open ") + name);
    return fd;
}

// "a/b/../c" has "..": such names are refused outright rather than
// clamped, so an image cannot aim at a place it did not name.
bool has_dotdot(const std::string& path) {
    size_t start = 0;
    while (start <= path.size()) {
        auto slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        if (path.compare(start, slash - start, "..") == 0 && slash - start == 2) return true;
        start = slash + 1;
    }
    return false;
}

std::vector<Template> parse_templates(const std::string& text) {
    std::vector<Template> out;
    try {
        auto doc = YAML::Load(text);
        if (!doc.IsMap() || !doc["templates"] || doc["templates"].IsNull()) return out;
        if (!doc["templates"].IsMap()) throw Error(400, "Invalid metadata.yaml: templates is not a mapping");
        for (const auto& kv : doc["templates"]) {
            Template t;
            t.target = kv.first.as<std::string>();
            const auto& v = kv.second;
            if (!v.IsMap()) throw Error(400, "Invalid metadata.yaml: template '" + t.target + "' is not a mapping");
            t.source = v["template"] ? v["template"].as<std::string>() : "";
            if (v["when"] && v["when"].IsSequence())
                for (const auto& w : v["when"]) t.when.push_back(w.as<std::string>());
            t.create_only = v["create_only"] && v["create_only"].as<bool>();
            if (v["properties"] && v["properties"].IsMap())
                for (const auto& p : v["properties"]) t.properties[p.first.as<std::string>()] = p.second.as<std::string>();
            out.push_back(std::move(t));
        }
    } catch (const YAML::Exception& e) {
        throw Error(400, std::string("Invalid metadata.yaml: ") + e.what());
    }
    return out;
}

std::string read_template(int templates_fd, const Template& t) {
    if (t.source.empty()) throw Error(400, "Template for '" + t.target + "' names no template file");
    if (t.source.front() == '/' || has_dotdot(t.source))
        throw Error(400, "Template '" + t.source + "' leaves the templates directory");
    const int fd = try_open_in_root(templates_fd, t.source, O_PATH, 0, true);
    if (fd == -ELOOP || fd == -EXDEV)
        throw Error(400, "Template '" + t.source + "' is a symlink; templates must be plain files");
    if (fd < 0) throw Error(400, "Template '" + t.source + "' is missing from templates/");
    const auto what = "Template '" + t.source + "'";
    return read_limited(reopen_regular(UniqueFd(fd), what).get(), max_template_bytes, what);
}

// The target opened for writing, created as LXD creates it (0644, owned
// like rootfs/ itself) when absent; empty fd when it exists and the
// template is create_only.
UniqueFd open_target(int rootfs_fd, const Template& t) {
    const auto& target = t.target;
    if (target.empty() || has_dotdot(target)) throw Error(400, "Template target '" + target + "' leaves the rootfs");
    auto rel = target.substr(target.find_first_not_of('/') == std::string::npos ? target.size()
                                                                                : target.find_first_not_of('/'));
    if (rel.empty()) throw Error(400, "Template target '" + target + "' is the rootfs itself");
    // O_PATH first: opening a device or a FIFO planted at the target would
    // already act on it.
    int found = try_open_in_root(rootfs_fd, rel, O_PATH);
    if (found >= 0) {
        UniqueFd path_fd(found);
        if (t.create_only) return {};
        struct stat st {};
        if (::fstat(found, &st) != 0) throw_errno("stat " + target);
        if (!S_ISREG(st.st_mode)) throw Error(400, "Template target '" + target + "' is not a regular file");
        UniqueFd fd(::open(fd_path(found).c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY));
        if (!fd) throw_errno("open " + target);
        return fd;
    }
    if (found != -ENOENT) throw SystemError("open template target " + target, -found);
    struct stat root {};
    if (::fstat(rootfs_fd, &root) != 0) throw_errno("stat rootfs");
    const auto slash = rel.rfind('/');
    const auto dir = slash == std::string::npos ? std::string() : rel.substr(0, slash);
    const auto base = slash == std::string::npos ? rel : rel.substr(slash + 1);
    int parent_fd = try_open_in_root(rootfs_fd, dir, O_PATH | O_DIRECTORY);
    UniqueFd parent;
    if (parent_fd >= 0) {
        parent.reset(parent_fd);
    } else {
        // Missing directories are made without following any symlink: a
        // dangling one on the way is refused, not resolved.
        try {
            parent = make_dir_in_root(rootfs_fd, dir, 0755);
        } catch (const std::exception& e) {
            throw Error(400, "Template target '" + target + "': cannot make its directory inside the rootfs (" +
                                 e.what() + ")");
        }
    }
    UniqueFd fd(::openat(parent.get(), base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd && errno == EEXIST) throw Error(400, "Template target '" + target + "' is a dangling symlink");
    if (!fd) throw_errno("create template target " + target);
    if (::fchown(fd.get(), root.st_uid, root.st_gid) != 0 || ::fchmod(fd.get(), 0644) != 0)
        throw_errno("set the owner of " + target);
    return fd;
}

void write_all(int fd, const std::string& data, const std::string& what) {
    size_t off = 0;
    while (off < data.size()) {
        auto n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("write " + what);
        off += static_cast<size_t>(n);
    }
}

} // namespace

std::vector<std::string> apply_templates(const std::string& instance_dir, const std::string& trigger,
                                         const TemplateInstance& instance) {
    UniqueFd dir(::open(instance_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_errno("open " + instance_dir);
    UniqueFd metadata_path = open_entry(dir.get(), "metadata.yaml", O_PATH);
    if (!metadata_path) return {};
    auto metadata = reopen_regular(std::move(metadata_path), "metadata.yaml");
    auto templates = parse_templates(read_limited(metadata.get(), max_metadata_bytes, "metadata.yaml"));
    std::vector<std::string> written;
    if (templates.empty()) return written;
    UniqueFd rootfs = open_entry(dir.get(), "rootfs", O_RDONLY | O_DIRECTORY);
    UniqueFd templates_dir = open_entry(dir.get(), "templates", O_RDONLY | O_DIRECTORY);
    if (!rootfs) throw Error(400, "Instance has no rootfs/ to apply templates to");

    std::map<std::string, std::string> meta{{"name", instance.name},
                                            {"type", instance.type},
                                            {"architecture", instance.architecture},
                                            {"privileged", instance.privileged ? "true" : "false"},
                                            {"ephemeral", instance.ephemeral ? "true" : "false"}};
    for (const auto& t : templates) {
        if (std::find(t.when.begin(), t.when.end(), trigger) == t.when.end()) continue;
        if (!templates_dir) throw Error(400, "Template '" + t.source + "': the image has no templates/");
        RenderContext ctx;
        ctx.values = {{"trigger", trigger}, {"path", t.target}};
        ctx.objects = {{"container", meta}, {"instance", meta}, {"properties", t.properties},
                       {"config", instance.config}};
        ctx.config = instance.config;
        auto rendered = render_template(t.source, read_template(templates_dir.get(), t), ctx);
        auto out = open_target(rootfs.get(), t);
        if (!out) continue;
        write_all(out.get(), rendered, t.target);
        written.push_back(t.target);
    }
    return written;
}

} // namespace lodge::daemon
