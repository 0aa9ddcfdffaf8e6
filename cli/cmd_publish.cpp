// `lodge publish INSTANCE[/SNAPSHOT] [REMOTE:] --alias A [key=value...]`:
// an instance made into an image, as `lxc publish` does it (a running
// instance is stopped first with --force and started again after).
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"

#include <ostream>
#include <sstream>

namespace lodge::cli {

namespace {

using nlohmann::json;

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

// Starts the instance again when publishing had to stop it (lxc's defer).
struct Restart {
    ApiClient* api = nullptr;
    std::string path;
    ~Restart() {
        if (!api) return;
        try {
            api->wait(api->query("PUT", path + "/state", {{"action", "start"}, {"timeout", -1}, {"force", true}}));
        } catch (const std::exception&) {
        }
    }
};

int run_publish(Context& ctx, const Args& args) {
    const auto& pos = args.positional;
    auto [instance_remote, name] = parse_remote(ctx.config, pos[0]);
    size_t first_property = 1;
    std::string image_remote = ctx.config.default_remote;
    if (pos.size() >= 2 && pos[1].find('=') == std::string::npos) {
        first_property = 2;
        auto [remote, image_name] = parse_remote(ctx.config, pos[1]);
        if (!image_name.empty()) throw Error("There is no \"image name\".  Did you want an alias?");
        image_remote = remote;
    }
    if (name.empty()) throw Error("Instance name is mandatory");
    if (instance_remote != image_remote)
        throw Error("Publishing to another remote is not supported; publish on " + instance_remote +
                    ": and copy the image");
    auto api = connect_remote(ctx.config, instance_remote);
    const bool snapshot = name.find('/') != std::string::npos;
    const auto path = "/1.0/instances/" + url_escape(name);
    Restart restart;
    if (!snapshot) {
        auto inst = api.get(path);
        const int code = inst.value("status_code", 0);
        if (code != 0 && code != 102) {
            if (!args.has("force"))
                throw Error("The instance is currently running. Use --force to have it stopped and restarted");
            api.wait(api.query("PUT", path + "/state", {{"action", "stop"}, {"timeout", -1}, {"force", true}}));
            restart = {&api, path};
        }
    }
    json properties = nullptr;
    for (size_t i = first_property; i < pos.size(); ++i) {
        auto eq = pos[i].find('=');
        if (eq == std::string::npos) throw Error("Bad key=value pair: [" + pos[i] + "]");
        properties[pos[i].substr(0, eq)] = pos[i].substr(eq + 1);
    }
    const auto aliases = lines_of(args.value("alias"));
    auto existing = api.get("/1.0/images/aliases?recursion=1");
    std::string taken;
    for (const auto& a : existing.is_array() ? existing : json::array())
        for (const auto& n : aliases)
            if (a.value("name", "") == n) taken += (taken.empty() ? "" : ", ") + n;
    if (!taken.empty() && !args.has("reuse")) throw Error("Aliases already exists: " + taken);

    json req = {{"source", {{"type", snapshot ? "snapshot" : "instance"}, {"name", name}}},
                {"compression_algorithm", args.value("compression")},
                {"properties", properties},
                {"public", args.has("public")}};
    if (args.has("expire")) req["expires_at"] = args.value("expire");
    auto op = api.wait(api.query("POST", "/1.0/images", req));
    const auto fingerprint = op.value("metadata", json::object()).value("fingerprint", "");
    // lxc's ensureImageAliases: the names move to the new image.
    for (const auto& n : aliases) {
        for (const auto& a : existing.is_array() ? existing : json::array())
            if (a.value("name", "") == n) api.query("DELETE", "/1.0/images/aliases/" + url_escape(n));
        api.query("POST", "/1.0/images/aliases", {{"description", ""}, {"name", n}, {"target", fingerprint}});
    }
    ctx.out << "Instance published with fingerprint: " << fingerprint << "\n";
    return 0;
}

} // namespace

void add_publish_commands(std::vector<Command>& t) {
    t.push_back({"publish",
                 {},
                 "[<remote>:]<instance>[/<snapshot>] [<remote>:] [flags] [key=value...]",
                 "Publish instances as images",
                 1,
                 many,
                 {{"alias", 0, true, "", "New alias to define at target", true},
                  {"public", 0, false, "", "Make the image public"},
                  {"force", 'f', false, "", "Stop the instance if currently running"},
                  {"compression", 0, true, "", "Compression algorithm to use (none for uncompressed)"},
                  {"expire", 0, true, "", "Image expiration date (format: rfc3339)"},
                  {"reuse", 0, false, "", "If the image alias already exists, delete and create a new one"}},
                 run_publish});
}

} // namespace lodge::cli
