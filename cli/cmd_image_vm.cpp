// `lodge image import-vm DISK`: a VM disk uploaded to lodged, which turns it
// into a container image (extension lodge_image_import_vm); with --dry-run
// the plan is printed and nothing changes.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/progress.hpp"
#include "images/vm/plan.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <ostream>

namespace lodge::cli {

namespace {

using json = nlohmann::json;

int run_import_vm(Context& ctx, const Args& args) {
    std::string disk;
    std::string remote = ctx.config.default_remote;
    std::vector<std::string> properties = args.values_of("property");
    for (const auto& a : args.positional) {
        if (a.find('=') != std::string::npos)
            properties.push_back(a);
        else if (!a.empty() && a.back() == ':')
            remote = parse_remote(ctx.config, a).first;
        else if (disk.empty())
            disk = a;
        else
            throw Error("Too many disks: import one VM disk at a time");
    }
    if (disk.empty()) throw Error("Missing VM disk");
    std::string options;
    auto option = [&](const std::string& key, const std::string& value) {
        options += (options.empty() ? "" : "&") + form_escape(key) + "=" + form_escape(value);
    };
    for (const char* flag : {"dry-run", "force", "keep-network", "keep-machine-id"})
        if (args.has(flag)) option(flag, "1");
    for (const auto& alias : args.values_of("alias")) option("alias", alias);
    std::map<std::string, std::string> headers{
        {"Content-Type", "application/octet-stream"},
        {"X-Lodge-VM-Disk", url_escape(std::filesystem::path(disk).filename().string())}};
    if (!options.empty()) headers["X-Lodge-VM-Options"] = options;
    if (args.has("public")) headers["X-LXD-public"] = "true";
    std::string encoded;
    for (const auto& p : properties) {
        auto eq = p.find('=');
        if (eq == std::string::npos || eq == 0) throw Error("Bad property \"" + p + "\": expected key=value");
        encoded += (encoded.empty() ? "" : "&") + form_escape(p.substr(0, eq)) + "=" + form_escape(p.substr(eq + 1));
    }
    if (!encoded.empty()) headers["X-LXD-properties"] = encoded;

    auto api = connect_remote(ctx.config, remote);
    const bool tty = ::isatty(1);
    std::size_t shown = 0;
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    // lodged on this host reads the disk where it is; a remote one gets it
    // uploaded.
    nlohmann::json answer;
    if (!api.http().endpoint().socket_path.empty() && !args.has("upload")) {
        std::error_code ec;
        auto absolute = std::filesystem::absolute(disk, ec);
        if (ec) throw Error("VM disk " + disk + ": " + ec.message());
        headers["X-Lodge-VM-Disk-Path"] = url_escape(absolute.string());
        answer = api.send_raw("POST", "/1.0/images", "", headers);
    } else answer = api.send_file("POST", "/1.0/images", disk, headers, [&](std::uint64_t sent, std::uint64_t total) {
        if (!tty) return;
        auto now = std::chrono::steady_clock::now();
        if (sent != total && now - last < std::chrono::milliseconds(200)) return;
        last = now;
        const double seconds = std::chrono::duration<double>(now - start).count();
        char line[128];
        std::snprintf(line, sizeof line, "Uploading the disk: %d%% (%.2fMB/s)",
                      total ? static_cast<int>(100 * sent / total) : 100, seconds > 0 ? sent / seconds / 1e6 : 0.0);
        ctx.out << "\r" << line << std::flush;
        shown = std::max(shown, std::strlen(line));
    });
    if (shown) ctx.out << "\r" << std::string(shown, ' ') << "\r" << std::flush;
    auto op = wait_with_progress(ctx, api, answer, "Importing the VM disk");
    auto metadata = op.value("metadata", json::object());
    if (!metadata.is_object()) metadata = json::object();
    const auto plan = vm::plan_from_json(metadata.value("plan", json::object()));
    if (args.has("dry-run")) {
        ctx.out << vm::render_plan(plan);
        return 0;
    }
    for (const auto& w : plan.warnings) ctx.err << "Warning: " << w << "\n";
    ctx.out << "Image imported with fingerprint: " << metadata.value("fingerprint", "") << "\n";
    ctx.out << "Root: " << plan.root << " (" << plan.root_reason << "); " << plan.fixups.size()
            << " fixups (lodge image show lists them)\n";
    return 0;
}

} // namespace

void add_image_vm_commands(std::vector<Command>& t) {
    t.push_back({"image import-vm",
                 {},
                 "[<remote>:] <disk> [key=value...]",
                 "Turn a VM disk (raw, qcow2, vmdk, vdi, vhdx) into a container image",
                 1,
                 many,
                 {{"alias", 0, true, "", "New aliases to add to the image", true},
                  {"property", 'p', true, "", "Image property key=value", true},
                  {"public", 0, false, "", "Make image public"},
                  {"dry-run", 0, false, "", "Print the plan (partitions, root, mounts, fixups) and change nothing"},
                  {"keep-network", 0, false, "", "Keep the guest's network configuration as it is"},
                  {"keep-machine-id", 0, false, "", "Keep the guest's machine-id"},
                  {"force", 0, false, "", "Import filesystems their checker finds corrupt"},
                  {"upload", 0, false, "", "Upload the disk even to the local lodged (which otherwise reads it in place)"}},
                 run_import_vm});
}

} // namespace lodge::cli
