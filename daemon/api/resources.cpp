// GET /1.0/resources: the host's cpus, memory and system identity in
// LXD's shapes (shared/api/resource.go), read from /proc and /sys.
#include "common/file.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"

#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <map>
#include <set>
#include <sstream>

namespace lodge::daemon {

namespace {

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

nlohmann::json cpu_resources() {
    // /proc/cpuinfo: one block per logical cpu.
    std::istringstream in(read_file_if_exists("/proc/cpuinfo"));
    std::string line, vendor, model;
    std::map<int, std::map<int, std::vector<int>>> sockets; // socket -> core -> threads
    int cpu = -1, socket = 0, core = 0;
    auto flush = [&] {
        if (cpu >= 0) sockets[socket][core].push_back(cpu);
    };
    while (std::getline(in, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto key = trimmed(line.substr(0, colon));
        while (!key.empty() && (key.back() == '\t' || key.back() == ' ')) key.pop_back();
        const auto value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
        if (key == "processor") {
            flush();
            cpu = std::stoi(value);
            socket = core = 0;
        } else if (key == "physical id") {
            socket = std::stoi(value);
        } else if (key == "core id") {
            core = std::stoi(value);
        } else if (key == "vendor_id") {
            vendor = value;
        } else if (key == "model name") {
            model = value;
        }
    }
    flush();
    nlohmann::json out_sockets = nlohmann::json::array();
    int total = 0;
    for (const auto& [s, cores] : sockets) {
        nlohmann::json cs = nlohmann::json::array();
        for (const auto& [c, threads] : cores) {
            nlohmann::json ts = nlohmann::json::array();
            for (int t : threads) {
                ts.push_back({{"id", t}, {"numa_node", 0}, {"thread", static_cast<int>(ts.size())},
                              {"online", true}, {"isolated", false}});
                ++total;
            }
            cs.push_back({{"core", c}, {"die", 0}, {"threads", ts}, {"frequency", 0}});
        }
        out_sockets.push_back({{"name", model}, {"vendor", vendor}, {"socket", s}, {"cores", cs}, {"cache", nullptr},
                               {"frequency", 0}, {"frequency_minimum", 0}, {"frequency_turbo", 0}});
    }
    struct utsname u {};
    ::uname(&u);
    return {{"architecture", u.machine}, {"sockets", out_sockets}, {"total", total}};
}

nlohmann::json memory_resources() {
    std::istringstream in(read_file_if_exists("/proc/meminfo"));
    std::map<std::string, std::uint64_t> kb;
    std::string key;
    std::uint64_t value = 0;
    std::string unit;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream l(line);
        if (l >> key >> value) kb[key.substr(0, key.size() - 1)] = value * 1024;
    }
    const auto total = kb["MemTotal"];
    return {{"nodes", nullptr}, {"hugepages_total", kb["HugePages_Total"]}, {"hugepages_used", 0},
            {"hugepages_size", kb["Hugepagesize"]}, {"used", total - kb["MemAvailable"]}, {"total", total}};
}

nlohmann::json system_resources() {
    auto dmi = [](const std::string& f) { return trimmed(read_file_if_exists("/sys/class/dmi/id/" + f)); };
    return {{"uuid", dmi("product_uuid")},
            {"vendor", dmi("sys_vendor")},
            {"product", dmi("product_name")},
            {"family", dmi("product_family")},
            {"version", dmi("product_version")},
            {"sku", dmi("product_sku")},
            {"serial", dmi("product_serial")},
            {"type", "physical"},
            {"firmware", nullptr},
            {"chassis", nullptr},
            {"motherboard", nullptr}};
}

api::Response resources(Daemon&) {
    return api::sync_response({{"cpu", cpu_resources()},
                               {"memory", memory_resources()},
                               {"gpu", {{"cards", nullptr}, {"total", 0}}},
                               {"network", {{"cards", nullptr}, {"total", 0}}},
                               {"storage", {{"disks", nullptr}, {"total", 0}}},
                               {"usb", {{"devices", nullptr}, {"total", 0}}},
                               {"pci", {{"devices", nullptr}, {"total", 0}}},
                               {"system", system_resources()}});
}

} // namespace

void add_resources_routes(Router& router, Daemon& daemon) {
    router.add("GET", "/1.0/resources", [&daemon](Request&) -> Reply { return resources(daemon); });
}

} // namespace lodge::daemon
