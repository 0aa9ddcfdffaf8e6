// POST /1.0/instances/{name}/exec (and /1.0/containers/...): a command in a
// running instance, over websockets (exec_session.hpp) or in the background
// with its output recorded under the instance's logs, which
// GET /1.0/instances/{name}/logs/{file} serves.
#include "common/error.hpp"
#include "common/file.hpp"
#include "daemon/api/exec_request.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "runtime/monitor_client.hpp"
#include "daemon/exec_session.hpp"
#include "runtime/exec.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lodge::daemon {

ExecPost parse_exec_post(const std::string& body) {
    auto j = nlohmann::json::parse(body.empty() ? "{}" : body);
    if (!j.is_object()) throw Error(400, "The exec request must be a JSON object");
    ExecPost p;
    if (!j.contains("command") || !j["command"].is_array() || j["command"].empty())
        throw Error(400, "Command is required: give \"command\" as a non-empty list of strings");
    p.command = j["command"].get<std::vector<std::string>>();
    if (j.contains("environment") && !j["environment"].is_null())
        p.environment = j["environment"].get<std::map<std::string, std::string>>();
    p.wait_for_websocket = j.value("wait-for-websocket", false);
    p.interactive = j.value("interactive", false);
    p.record_output = j.value("record-output", false);
    p.width = j.value("width", 0);
    p.height = j.value("height", 0);
    auto id = [&](const char* key) -> std::uint32_t {
        if (!j.contains(key) || j[key].is_null()) return 0;
        auto v = j[key].get<long long>();
        if (v < 0 || v > 0xfffffffeLL) throw Error(400, std::string("Invalid ") + key + " " + std::to_string(v));
        return static_cast<std::uint32_t>(v);
    };
    p.user = id("user");
    p.group = id("group");
    p.cwd = j.value("cwd", std::string());
    if (!p.cwd.empty() && p.cwd[0] != '/') throw Error(400, "cwd must be an absolute path, not \"" + p.cwd + "\"");
    return p;
}

// LXD's defaults under what the client sent: PATH, LANG, and for root HOME
// and USER.
std::map<std::string, std::string> exec_environment(const ExecPost& p) {
    auto env = p.environment;
    env.try_emplace("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env.try_emplace("LANG", "C.UTF-8");
    if (p.user == 0) {
        env.try_emplace("HOME", "/root");
        env.try_emplace("USER", "root");
    }
    return env;
}

runtime::ExecRequest exec_request(const ExecPost& p) {
    runtime::ExecRequest r;
    r.argv = p.command;
    auto env = exec_environment(p);
    for (const auto& [k, v] : env) {
        if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos)
            throw Error(400, "Invalid environment variable name \"" + k + "\"");
        r.env.push_back(k + "=" + v);
    }
    r.uid = p.user;
    r.gid = p.group;
    if (!p.cwd.empty())
        r.cwd = p.cwd;
    else if (auto home = env.find("HOME"); home != env.end() && !home->second.empty() && home->second[0] == '/')
        r.cwd = home->second;
    else
        r.cwd = "/";
    r.pty = p.interactive;
    if (p.width > 0 && p.width < 65536) r.cols = static_cast<unsigned short>(p.width);
    if (p.height > 0 && p.height < 65536) r.rows = static_cast<unsigned short>(p.height);
    return r;
}

namespace {

void ensure_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) throw SystemError("mkdir " + path, errno);
}

std::map<std::string, std::vector<std::string>> resources(const std::string& name) {
    return {{"containers", {"/1.0/containers/" + name}}, {"instances", {"/1.0/instances/" + name}}};
}

api::Response post_exec(Daemon& daemon, const Request& request) {
    const auto& name = request.param("name");
    auto where = daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
    auto loc = daemon.instances().locate(where, name);
    try {
        daemon.instances().require_running(loc);
    } catch (const Error& e) {
        // The runtime has never heard of an instance that never ran.
        if (e.status() == 404) throw Error(400, "Instance is not running");
        throw;
    }
    auto post = parse_exec_post(request.body);
    // The instance's environment.* keys, under what the client sent (as
    // LXD): changed keys reach the next command without a restart.
    // (From the database alone: require_running has asked the runtime already.)
    if (auto instance = daemon.with_db([&](db::Database& db) { return db::get_instance(db, where, name); }))
        for (const auto& [key, value] : instance->expanded_config)
            if (key.rfind("environment.", 0) == 0) post.environment.try_emplace(key.substr(12), value);
    ExecTarget target{daemon.instances().run_dir(), loc.runtime_name, exec_request(post)};

    OperationSpec spec;
    spec.description = "Executing command";
    spec.resources = resources(name);
    if (post.wait_for_websocket) {
        std::map<std::string, std::string> fds;
        fds["0"] = random_secret();
        if (!post.interactive) {
            fds["1"] = random_secret();
            fds["2"] = random_secret();
        }
        fds["control"] = random_secret();
        nlohmann::json metadata{{"command", post.command},
                                {"environment", exec_environment(post)},
                                {"fds", fds},
                                {"interactive", post.interactive}};
        spec.operation_class = "websocket";
        spec.metadata = metadata;
        auto [op, handle] = daemon.operations().start_detached(std::move(spec));
        start_exec_session(daemon.operation_sockets(), std::move(handle), std::move(fds), std::move(metadata),
                           std::move(target));
        return api::async_response(op.url(), op);
    }

    // In the background: output to files under the instance's logs, or nowhere.
    auto op = daemon.operations().start(std::move(spec), [&daemon, loc, target, post](OperationContext& ctx) mutable {
        UniqueFd out, err;
        nlohmann::json metadata = nlohmann::json::object();
        if (post.record_output) {
            ensure_dir(daemon.state_dir() + "/logs");
            const auto dir = loc.logs;
            ensure_dir(dir);
            const auto base = "exec_" + ctx.id();
            out.reset(::open((dir + "/" + base + ".stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
            err.reset(::open((dir + "/" + base + ".stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
            if (!out || !err) throw SystemError("create the exec output files in " + dir, errno);
            const auto prefix = "/1.0/instances/" + loc.name + "/logs/" + base;
            metadata["output"] = {{"1", prefix + ".stdout"}, {"2", prefix + ".stderr"}};
        }
        target.request.stdin_fd = -1;
        target.request.stdout_fd = out ? out.get() : -1;
        target.request.stderr_fd = err ? err.get() : -1;
        target.request.pty = false;
        int code = 127;
        try {
            auto session = runtime::start_exec(target.run_dir, target.runtime_name, target.request);
            code = runtime::wait_exec(session);
        } catch (const Error& e) {
            if (e.status() != 404 || std::string(e.what()).find("not running") != std::string::npos) throw;
            if (err) (void)!::write(err.get(), e.what(), std::string(e.what()).size());
        }
        metadata["return"] = code;
        ctx.set_metadata(std::move(metadata));
    });
    return api::async_response(op.url(), op);
}

// Only files lodged wrote there (exec_*.stdout/stderr): a name is one path
// segment and is opened without following symlinks. lxc.log, which
// `lxc info --show-log` asks for, is the container's monitor log (what
// liblxc's log is to LXD).
HttpResponse get_log(Daemon& daemon, const Request& request) {
    const auto& file = request.param("file");
    const bool monitor_log = file == "lxc.log";
    if (!monitor_log &&
        (file.find('/') != std::string::npos || file == "." || file == ".." || file.rfind("exec_", 0) != 0))
        throw Error(404, "Log file \"" + file + "\" not found");
    auto project = daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
    auto loc = daemon.instances().locate(project, request.param("name"));
    const auto path = monitor_log ? runtime::container_run_dir(daemon.instances().run_dir(), loc.runtime_name) +
                                        "/monitor.log"
                                  : loc.logs + "/" + file;
    if (monitor_log && ::access(path.c_str(), F_OK) != 0) {
        HttpResponse empty; // never started: nothing logged yet
        empty.content_type = "application/octet-stream";
        return empty;
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) throw Error(404, "Log file \"" + file + "\" not found");
    HttpResponse r;
    r.content_type = "application/octet-stream";
    r.body = read_to_eof(fd.get());
    return r;
}

} // namespace

void add_exec_routes(Router& router, Daemon& daemon) {
    for (std::string tree : {"/1.0/instances", "/1.0/containers"}) {
        router.add("POST", tree + "/{name}/exec", [&daemon](Request& r) -> Reply { return post_exec(daemon, r); });
        router.add("GET", tree + "/{name}/logs/{file}", [&daemon](Request& r) -> Reply { return get_log(daemon, r); });
    }
}

} // namespace lodge::daemon
