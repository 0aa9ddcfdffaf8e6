// lodge-runtime: start, enter, inspect and stop containers straight through
// the runtime, with no daemon.
#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/control.hpp"
#include "runtime/device_cgroup.hpp"
#include "runtime/exec.hpp"
#include "runtime/hotplug.hpp"
#include "runtime/inspect.hpp"
#include "runtime/inventory.hpp"
#include "runtime/monitor_client.hpp"
#include "runtime/tool/relay.hpp"

#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>

using namespace lodge;
using namespace lodge::runtime;

namespace {

const char usage_text[] =
    "usage: lodge-runtime [--run-dir DIR] COMMAND NAME [options]\n"
    "  start NAME --rootfs DIR [--init PATH] [--halt-signal SIG] [--env K=V]...\n"
    "        [--memory SIZE] [--memory-swap SIZE] [--pids N] [--cpu-weight N]\n"
    "        [--cpu-quota USEC] [--cpuset CPUS] [--idmap-size N] [--privileged]\n"
    "        [--mount SOURCE:TARGET[:ro]]... [--device c|b:MAJOR:MINOR:PATH[:MODE]]...\n"
    "        [--security JSON]  (keys of the policy to change, over the defaults)\n"
    "  exec NAME [-t] [--env K=V]... [--cwd DIR] [--user UID[:GID]] -- CMD [ARG]...\n"
    "  stop NAME [--timeout SECONDS] [--force]\n"
    "  state NAME | usage NAME | freeze NAME | unfreeze NAME | delete NAME\n"
    "  inspect NAME  (the kernel's view of a running container, as JSON)\n"
    "  console NAME [--log]\n"
    "  device add NAME (--char|--block) --path P --major M --minor N [--uid U] [--gid G] [--mode OCTAL]\n"
    "  device remove NAME PATH\n"
    "  device list NAME        (the device cgroup rules in force, and lodge's v2 program)\n"
    "  mount add NAME SOURCE TARGET [--readonly] [--no-shift]\n"
    "  mount remove NAME TARGET\n"
    "  list\n";

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "lodge-runtime: %s\n%s", msg.c_str(), usage_text);
    std::exit(2);
}

// Options after NAME: "--key value" pairs and flags; "--" ends them.
struct Args {
    std::multimap<std::string, std::string> opts;
    std::vector<std::string> rest;
    bool has(const std::string& k) const { return opts.count(k) > 0; }
    std::string get(const std::string& k, const std::string& def = "") const {
        auto it = opts.find(k);
        return it == opts.end() ? def : it->second;
    }
    std::vector<std::string> all(const std::string& k) const {
        std::vector<std::string> v;
        for (auto [a, b] = opts.equal_range(k); a != b; ++a) v.push_back(a->second);
        return v;
    }
};

Args parse_args(int argc, char** argv, int from, const std::vector<std::string>& flags) {
    Args a;
    for (int i = from; i < argc; ++i) {
        std::string s = argv[i];
        if (s == "--") {
            for (++i; i < argc; ++i) a.rest.push_back(argv[i]);
            break;
        }
        if (s.rfind("-", 0) != 0) usage_error("unexpected argument '" + s + "'");
        if (std::find(flags.begin(), flags.end(), s) != flags.end()) {
            a.opts.emplace(s, "1");
            continue;
        }
        if (i + 1 >= argc) usage_error(s + " needs a value");
        a.opts.emplace(s, argv[++i]);
    }
    return a;
}

int cmd_start(const std::string& run_dir, const std::string& name, const Args& a) {
    ContainerConfig cfg;
    cfg.name = name;
    cfg.rootfs = std::filesystem::absolute(a.get("--rootfs")).lexically_normal().string();
    if (a.get("--rootfs").empty()) usage_error("start needs --rootfs");
    if (cfg.rootfs.size() > 1 && cfg.rootfs.back() == '/') cfg.rootfs.pop_back();
    if (a.has("--init")) cfg.init = {a.get("--init")};
    if (a.has("--halt-signal")) {
        cfg.halt_signal = signal_from_name(a.get("--halt-signal"));
        if (cfg.halt_signal < 0) throw Error(400, "unknown signal '" + a.get("--halt-signal") + "'");
    }
    cfg.env = a.all("--env");
    cfg.privileged = a.has("--privileged");
    if (!cfg.privileged) {
        uint32_t size = a.has("--idmap-size") ? static_cast<uint32_t>(std::stoul(a.get("--idmap-size")))
                                              : default_idmap_size;
        cfg.idmap = root_idmap(size);
    }
    if (a.has("--memory")) cfg.limits.memory_bytes = parse_size(a.get("--memory"));
    if (a.has("--memory-swap")) cfg.limits.memory_swap_bytes = parse_size(a.get("--memory-swap"));
    if (a.has("--pids")) cfg.limits.pids_max = std::stoull(a.get("--pids"));
    if (a.has("--cpu-weight")) cfg.limits.cpu_weight = std::stoull(a.get("--cpu-weight"));
    if (a.has("--cpu-quota")) cfg.limits.cpu_quota_us = std::stoull(a.get("--cpu-quota"));
    if (a.has("--cpuset")) cfg.limits.cpuset_cpus = a.get("--cpuset");
    for (const auto& spec : a.all("--mount")) {
        auto colon = spec.find(':');
        if (colon == std::string::npos) usage_error("--mount needs SOURCE:TARGET[:ro]");
        Mount m{spec.substr(0, colon), spec.substr(colon + 1), false};
        if (m.target.size() > 3 && m.target.compare(m.target.size() - 3, 3, ":ro") == 0) {
            m.target.resize(m.target.size() - 3);
            m.readonly = true;
        }
        m.source = std::filesystem::absolute(m.source).lexically_normal().string();
        cfg.mounts.push_back(m);
    }
    for (const auto& spec : a.all("--device")) {
        DeviceNode d;
        unsigned major = 0, minor = 0, mode = 0660;
        char type = 0;
        char path[4096] = {};
        int n = std::sscanf(spec.c_str(), "%c:%u:%u:%4095[^:]:%o", &type, &major, &minor, path, &mode);
        if (n < 4) usage_error("--device needs c|b:MAJOR:MINOR:PATH[:MODE]");
        d.type = type, d.major = major, d.minor = minor, d.path = path, d.mode = mode;
        cfg.devices.push_back(d);
    }
    if (a.has("--security")) {
        nlohmann::json policy;
        try {
            policy = nlohmann::json::parse(a.get("--security"));
        } catch (const nlohmann::json::exception& e) {
            throw Error(400, std::string("--security is not JSON: ") + e.what());
        }
        from_json(policy, cfg.security);
    }
    launch_container(cfg, run_dir);
    return 0;
}

int cmd_exec(const std::string& run_dir, const std::string& name, const Args& a) {
    ExecRequest req;
    req.argv = a.rest;
    if (req.argv.empty()) usage_error("exec needs a command after --");
    req.pty = a.has("-t");
    req.env = default_exec_env();
    for (const auto& e : a.all("--env")) {
        auto key = e.substr(0, e.find('=') + 1);
        std::erase_if(req.env, [&](const std::string& x) { return x.rfind(key, 0) == 0; });
        req.env.push_back(e);
    }
    if (a.has("--cwd")) req.cwd = a.get("--cwd");
    if (a.has("--user")) {
        std::string u = a.get("--user");
        auto colon = u.find(':');
        req.uid = static_cast<uid_t>(std::stoul(u.substr(0, colon)));
        req.gid = colon == std::string::npos ? req.uid : static_cast<gid_t>(std::stoul(u.substr(colon + 1)));
    }
    if (req.pty) {
        struct winsize ws;
        if (::ioctl(0, TIOCGWINSZ, &ws) == 0) req.rows = ws.ws_row, req.cols = ws.ws_col;
    }
    ExecSession s;
    try {
        s = start_exec(run_dir, name, req);
    } catch (const Error& e) {
        if (e.status() != 404 || e.what() == std::string("container '" + name + "' is not running")) throw;
        std::fprintf(stderr, "lodge-runtime: %s\n", e.what());
        return 127; // as a shell says of a command it can't find
    }
    if (req.pty) tool::relay(s.pty.get(), s.pty.get(), s.pty.get(), false);
    return wait_exec(s);
}

int cmd_console(const std::string& run_dir, const std::string& name, const Args& a) {
    auto client = MonitorClient::connect(run_dir, name);
    if (a.has("--log")) {
        std::string log = client.call_raw("console-log");
        std::fwrite(log.data(), 1, log.size(), stdout);
        return 0;
    }
    client.call("console");
    std::fprintf(stderr, "attached to the console of %s; end with Ctrl-] \r\n", name.c_str());
    tool::relay(client.fd(), client.fd(), -1, true, 0x1d);
    return 0;
}

uint32_t number_arg(const Args& a, const std::string& key, uint32_t def, int base = 10) {
    if (!a.has(key)) return def;
    std::string v = a.get(key);
    char* end = nullptr;
    unsigned long n = std::strtoul(v.c_str(), &end, base);
    if (v.empty() || *end || n > 0xffffffffUL) usage_error(key + " needs a number, not '" + v + "'");
    return static_cast<uint32_t>(n);
}

// device add|remove|list NAME ...
int cmd_device(const std::string& run_dir, int argc, char** argv, int i) {
    if (i + 1 >= argc) usage_error("device needs an action and a container name");
    std::string action = argv[i], name = argv[i + 1];
    i += 2;
    if (action == "add") {
        Args a = parse_args(argc, argv, i, {"--char", "--block"});
        if (a.has("--char") == a.has("--block")) usage_error("device add needs one of --char and --block");
        if (!a.has("--path") || !a.has("--major") || !a.has("--minor"))
            usage_error("device add needs --path, --major and --minor");
        DeviceNode node;
        node.path = a.get("--path");
        node.type = a.has("--block") ? 'b' : 'c';
        node.major = number_arg(a, "--major", 0);
        node.minor = number_arg(a, "--minor", 0);
        node.uid = number_arg(a, "--uid", 0);
        node.gid = number_arg(a, "--gid", 0);
        node.mode = number_arg(a, "--mode", 0660, 8);
        add_device(run_dir, name, node);
        return 0;
    }
    if (action == "remove") {
        if (i + 1 != argc) usage_error("device remove needs NAME and PATH");
        remove_device(run_dir, name, argv[i]);
        return 0;
    }
    if (action == "list") {
        DeviceCgroupState s = read_device_cgroup(run_dir, name);
        nlohmann::json j = {{"expected", s.expected}, {"v2", s.has_v2}};
        if (s.v1) j["v1"] = *s.v1;
        if (s.has_v2) {
            j["v2_program"] = s.v2_expected;
            j["v2_attached"] = s.v2_attached;
            j["v2_intact"] = s.v2_intact;
        }
        std::printf("%s\n", j.dump().c_str());
        return 0;
    }
    usage_error("unknown device action '" + action + "'");
}

// mount add|remove NAME ...
int cmd_mount(const std::string& run_dir, int argc, char** argv, int i) {
    if (i + 1 >= argc) usage_error("mount needs an action and a container name");
    std::string action = argv[i], name = argv[i + 1];
    i += 2;
    std::vector<std::string> pos;
    std::vector<std::string> opts;
    for (; i < argc; ++i) (std::strncmp(argv[i], "--", 2) == 0 ? opts : pos).push_back(argv[i]);
    if (action == "add") {
        if (pos.size() != 2) usage_error("mount add needs NAME SOURCE TARGET");
        Mount m{std::filesystem::absolute(pos[0]).lexically_normal().string(), pos[1], false};
        for (const auto& o : opts) {
            if (o == "--readonly")
                m.readonly = true;
            else if (o == "--no-shift")
                m.shift = false;
            else
                usage_error("unknown option '" + o + "'");
        }
        add_mount(run_dir, name, m);
        return 0;
    }
    if (action == "remove") {
        if (pos.size() != 1 || !opts.empty()) usage_error("mount remove needs NAME TARGET");
        remove_mount(run_dir, name, pos[0]);
        return 0;
    }
    usage_error("unknown mount action '" + action + "'");
}

nlohmann::json state_of(const std::string& run_dir, const std::string& name) {
    return to_json(container_status(run_dir, name));
}

int run(int argc, char** argv) {
    std::string run_dir = default_run_dir();
    int i = 1;
    if (i + 1 < argc && std::strcmp(argv[i], "--run-dir") == 0) {
        run_dir = argv[i + 1];
        i += 2;
    }
    if (i >= argc) usage_error("no command");
    std::string cmd = argv[i++];
    if (cmd == "list") {
        for (const auto& c : list_containers(run_dir)) std::printf("%s\t%s\n", c.name.c_str(), c.status.c_str());
        return 0;
    }
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        std::fputs(usage_text, stdout);
        return 0;
    }
    if (cmd == "device") return cmd_device(run_dir, argc, argv, i);
    if (cmd == "mount") return cmd_mount(run_dir, argc, argv, i);
    if (i >= argc) usage_error(cmd + " needs a container name");
    std::string name = argv[i++];
    if (!valid_container_name(name)) throw Error(400, "invalid container name '" + name + "'");
    if (cmd == "start") return cmd_start(run_dir, name, parse_args(argc, argv, i, {"--privileged"}));
    if (cmd == "exec") return cmd_exec(run_dir, name, parse_args(argc, argv, i, {"-t"}));
    if (cmd == "console") return cmd_console(run_dir, name, parse_args(argc, argv, i, {"--log"}));
    if (cmd == "stop") {
        Args a = parse_args(argc, argv, i, {"--force"});
        int timeout_ms = static_cast<int>(std::stod(a.get("--timeout", "30")) * 1000);
        auto reply = stop_container(run_dir, name, timeout_ms, a.has("--force"));
        std::printf("%s\n", reply.dump().c_str());
        return 0;
    }
    if (cmd == "state") {
        std::printf("%s\n", state_of(run_dir, name).dump().c_str());
        return 0;
    }
    if (cmd == "usage" || cmd == "freeze" || cmd == "unfreeze") {
        if (cmd == "usage") {
            Usage u = container_usage(run_dir, name);
            nlohmann::json j = {{"memory_bytes", u.memory_bytes}, {"memory_peak_bytes", u.memory_peak_bytes},
                                {"cpu_ns", u.cpu_ns}, {"pids", u.pids}, {"oom_kills", u.oom_kills}};
            std::printf("%s\n", j.dump().c_str());
            return 0;
        }
        freeze_container(run_dir, name, cmd == "freeze");
        std::printf("%s\n", state_of(run_dir, name).dump().c_str());
        return 0;
    }
    if (cmd == "inspect") {
        nlohmann::json j = inspect_container(run_dir, name);
        std::printf("%s\n", j.dump().c_str());
        return 0;
    }
    if (cmd == "delete") {
        forget_container(run_dir, name);
        return 0;
    }
    usage_error("unknown command '" + cmd + "'");
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const Error& e) {
        std::fprintf(stderr, "lodge-runtime: %s\n", e.what());
        return e.status() == 404 ? 3 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lodge-runtime: %s\n", e.what());
        return 1;
    }
}
