// `lodge export [<remote>:]<instance> [<target>]` and `lodge import
// [<remote>:] <file> [<name>]`: instance backups, done the way `lxc
// export` (create a backup, wait, download it, delete it on the server)
// and `lxc import` (upload the tarball, wait) do them.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <ostream>
#include <sstream>

namespace lodge::cli {

namespace {

using nlohmann::json;

// Deletes the server's copy however the export ends, as lxc's defer does.
struct DeleteBackup {
    ApiClient& api;
    std::string path;
    ~DeleteBackup() {
        if (path.empty()) return;
        try {
            api.wait(api.query("DELETE", path));
        } catch (const std::exception&) {
        }
    }
};

int run_export(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    auto api = connect_remote(ctx.config, remote);
    const auto instance = "/1.0/instances/" + url_escape(name);
    // Like lxc: the server keeps the backup a day at most should the
    // deletion below not happen.
    const auto expires = std::chrono::system_clock::now() + std::chrono::hours(24);
    const auto t = std::chrono::system_clock::to_time_t(expires);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    const bool instance_only = args.has("instance-only");
    json body{{"name", ""},
              {"expires_at", stamp},
              {"instance_only", instance_only},
              {"container_only", instance_only},
              {"optimized_storage", args.has("optimized-storage")},
              {"compression_algorithm", args.value("compression")}};
    auto op = api.wait(api.query("POST", instance + "/backups", body));
    std::string backup;
    if (op.contains("resources") && op["resources"].contains("backups") && !op["resources"]["backups"].empty())
        backup = op["resources"]["backups"][0].get<std::string>();
    if (backup.rfind("/1.0/backups/", 0) == 0) backup = backup.substr(13);
    if (backup.empty()) throw Error("The server did not name the backup it made");
    const auto backup_path = instance + "/backups/" + url_escape(backup);
    DeleteBackup cleanup{api, backup_path};
    const std::string target = args.positional.size() > 1 ? args.positional[1] : "backup.tar.gz";
    auto reply = api.raw("GET", backup_path + "/export");
    if (target == "-") {
        ctx.out << reply.body;
        return 0;
    }
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out.write(reply.body.data(), static_cast<std::streamsize>(reply.body.size()));
    out.close();
    if (!out) {
        std::remove(target.c_str());
        throw Error("Failed to write " + target);
    }
    ctx.out << "Backup exported successfully!\n";
    return 0;
}

int run_import(Context& ctx, const Args& args) {
    const auto& pos = args.positional;
    size_t at = 0;
    std::string remote;
    if (pos.size() > 1 && !pos[0].empty() && pos[0].back() == ':') {
        remote = parse_remote(ctx.config, pos[0]).first;
        at = 1;
    } else {
        remote = parse_remote(ctx.config, "").first;
    }
    if (pos.size() <= at) throw Error("Missing backup file");
    const auto& file = pos[at];
    std::string data;
    if (file == "-") {
        std::ostringstream in;
        in << std::cin.rdbuf();
        data = in.str();
    } else {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw Error("open " + file + ": no such file or directory");
        data.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::map<std::string, std::string> headers{{"Content-Type", "application/octet-stream"}};
    if (pos.size() > at + 1) headers["X-LXD-name"] = pos[at + 1];
    if (!args.value("storage").empty()) headers["X-LXD-pool"] = args.value("storage");
    auto api = connect_remote(ctx.config, remote);
    api.wait(api.send_raw("POST", "/1.0/instances", data, headers));
    return 0;
}

} // namespace

void add_backup_commands(std::vector<Command>& t) {
    t.push_back({"export",
                 {},
                 "[<remote>:]<instance> [target] [--instance-only] [--optimized-storage]",
                 "Export instance backups",
                 1,
                 2,
                 {{"instance-only", 0, false, "", "Whether or not to only backup the instance (without snapshots)"},
                  {"optimized-storage", 0, false, "",
                   "Use storage driver optimized format (can only be restored on a similar pool)"},
                  {"compression", 0, true, "", "Compression algorithm to use (none for uncompressed)"}},
                 run_export});
    t.push_back({"import",
                 {},
                 "[<remote>:] <backup file> [<instance name>]",
                 "Import instance backups",
                 1,
                 3,
                 {{"storage", 's', true, "", "Storage pool name"}},
                 run_import});
}

} // namespace lodge::cli
