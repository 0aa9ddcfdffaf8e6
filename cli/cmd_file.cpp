// `lodge file push|pull|delete`: files between this machine and an
// instance over the file API (X-LXD-* headers), recursively with -r as lxc
// does: one request per directory, file and symlink.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace fs = std::filesystem;

namespace lodge::cli {

namespace {

using Headers = std::map<std::string, std::string>;

struct InstancePath {
    std::string remote, instance, path; // path absolute inside the instance
};

// "[remote:]instance/path"
InstancePath parse_instance_path(const ClientConfig& config, const std::string& arg) {
    auto [remote, rest] = parse_remote(config, arg);
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0)
        throw Error("Invalid target \"" + arg + "\": give <instance>/<path>");
    return {remote, rest.substr(0, slash), rest.substr(slash)};
}

std::string files_url(const InstancePath& p, const std::string& path) {
    std::string q;
    for (unsigned char c : path) {
        if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
            q += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            q += buf;
        }
    }
    return "/1.0/instances/" + url_escape(p.instance) + "/files?path=" + q;
}

std::string octal(unsigned mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
    return buf;
}

struct Ownership {
    std::string uid = "-1", gid = "-1", mode; // mode empty: the local file's
};

std::string join(const std::string& dir, const std::string& name) {
    return dir.empty() || dir.back() != '/' ? dir + "/" + name : dir + name;
}

void push_one(ApiClient& api, const InstancePath& target, const std::string& local, const std::string& remote_path,
              const Ownership& own, bool recursive) {
    struct stat st;
    if (::lstat(local.c_str(), &st) != 0) throw Error("Cannot read " + local + ": " + std::strerror(errno));
    const auto url = files_url(target, remote_path);
    Headers h{{"X-LXD-uid", own.uid}, {"X-LXD-gid", own.gid}, {"Content-Type", "application/octet-stream"}};
    if (S_ISLNK(st.st_mode)) {
        h["X-LXD-type"] = "symlink";
        api.raw("POST", url, fs::read_symlink(local).string(), h);
    } else if (S_ISDIR(st.st_mode)) {
        if (!recursive) throw Error(local + " is a directory: pass -r to push it");
        h["X-LXD-type"] = "directory";
        h["X-LXD-mode"] = own.mode.empty() ? octal(st.st_mode) : own.mode;
        api.raw("POST", url, "", h);
        for (const auto& e : fs::directory_iterator(local))
            push_one(api, target, e.path().string(), join(remote_path, e.path().filename().string()), own, true);
    } else if (S_ISREG(st.st_mode)) {
        std::ifstream in(local, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), {});
        h["X-LXD-type"] = "file";
        h["X-LXD-mode"] = own.mode.empty() ? octal(st.st_mode) : own.mode;
        h["X-LXD-write"] = "overwrite";
        api.raw("POST", url, data, h);
    } else {
        throw Error(local + " is not a file, directory or symlink");
    }
}

void make_parents(ApiClient& api, const InstancePath& target, const std::string& path) {
    std::string so_far;
    auto last = path.rfind('/');
    for (std::size_t pos = 1; pos <= last && pos < path.size(); ++pos) {
        auto next = path.find('/', pos);
        if (next == std::string::npos || next > last) break;
        so_far = path.substr(0, next);
        if (next > pos)
            api.raw("POST", files_url(target, so_far), "",
                    {{"X-LXD-type", "directory"}, {"X-LXD-mode", "0755"}, {"X-LXD-uid", "0"}, {"X-LXD-gid", "0"}});
        pos = next;
    }
}

int run_push(Context& ctx, const Args& args) {
    std::vector<std::string> sources(args.positional.begin(), args.positional.end() - 1);
    auto target = parse_instance_path(ctx.config, args.positional.back());
    Ownership own;
    if (args.has("uid")) own.uid = args.value("uid");
    if (args.has("gid")) own.gid = args.value("gid");
    if (args.has("mode")) own.mode = args.value("mode");
    auto api = connect_remote(ctx.config, target.remote);
    const bool into_dir = target.path.back() == '/' || sources.size() > 1 || args.has("recursive");
    for (const auto& src : sources) {
        auto base = fs::path(src).lexically_normal().filename().string();
        if (base.empty()) base = fs::path(src).lexically_normal().parent_path().filename().string();
        auto dest = into_dir ? join(target.path, base) : target.path;
        if (args.has("create-dirs")) make_parents(api, target, dest);
        push_one(api, target, src, dest, own, args.has("recursive"));
    }
    return 0;
}

void pull_one(ApiClient& api, const InstancePath& source, const std::string& path, const std::string& local,
              bool recursive) {
    auto r = api.raw("GET", files_url(source, path));
    const auto type = r.headers["x-lxd-type"];
    const unsigned mode = static_cast<unsigned>(std::strtoul(r.headers["x-lxd-mode"].c_str(), nullptr, 8));
    if (type == "directory") {
        if (!recursive) throw Error(path + " is a directory: pass -r to pull it");
        fs::create_directories(local);
        ::chmod(local.c_str(), mode ? mode : 0755);
        for (const auto& name : unwrap_response(r.status, r.body))
            pull_one(api, source, join(path, name.get<std::string>()), join(local, name.get<std::string>()), true);
    } else if (type == "symlink") {
        std::error_code ec;
        fs::remove(local, ec);
        fs::create_symlink(r.body, local);
    } else {
        std::ofstream out(local, std::ios::binary | std::ios::trunc);
        out << r.body;
        out.close();
        if (!out) throw Error("Cannot write " + local);
        ::chmod(local.c_str(), mode);
    }
}

int run_pull(Context& ctx, const Args& args) {
    const std::string dest = args.positional.back();
    std::vector<std::string> sources(args.positional.begin(), args.positional.end() - 1);
    const bool dest_is_dir = fs::is_directory(dest);
    if (sources.size() > 1 && !dest_is_dir) throw Error("Target " + dest + " must be a directory for several sources");
    if (args.has("create-dirs") && !dest_is_dir) fs::create_directories(fs::path(dest).parent_path());
    for (const auto& s : sources) {
        auto source = parse_instance_path(ctx.config, s);
        auto api = connect_remote(ctx.config, source.remote);
        auto base = fs::path(source.path).lexically_normal().filename().string();
        pull_one(api, source, source.path, dest_is_dir ? join(dest, base) : dest, args.has("recursive"));
    }
    return 0;
}

int run_delete(Context& ctx, const Args& args) {
    for (const auto& p : args.positional) {
        auto target = parse_instance_path(ctx.config, p);
        auto api = connect_remote(ctx.config, target.remote);
        api.raw("DELETE", files_url(target, target.path));
    }
    return 0;
}

} // namespace

void add_file_commands(std::vector<Command>& table) {
    const Flag recursive{"recursive", 'r', false, "", "Recursively transfer files"};
    const Flag parents{"create-dirs", 'p', false, "", "Create any directories necessary"};
    table.push_back({"file push",
                     {},
                     "<source path>... [<remote>:]<instance>/<path>",
                     "Push files into instances",
                     2,
                     many,
                     {recursive,
                      parents,
                      {"uid", 0, true, "-1", "Set the file's uid on push"},
                      {"gid", 0, true, "-1", "Set the file's gid on push"},
                      {"mode", 0, true, "", "Set the file's perms on push"}},
                     run_push});
    table.push_back({"file pull",
                     {},
                     "[<remote>:]<instance>/<path>... <target path>",
                     "Pull files from instances",
                     2,
                     many,
                     {recursive, parents},
                     run_pull});
    table.push_back({"file delete",
                     {"rm"},
                     "[<remote>:]<instance>/<path>...",
                     "Delete files in instances",
                     1,
                     many,
                     {},
                     run_delete});
}

} // namespace lodge::cli
