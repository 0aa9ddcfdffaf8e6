// The import plan as JSON (operation metadata, image properties) and as text.
#include "images/vm/plan.hpp"

#include <cstdio>

namespace lodge::vm {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PlanVolume, name, offset, size, kind, filesystem, uuid, label,
                                                partuuid, use)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PlanMount, path, volume, fstab_source, options)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PlanFixup, fixup, path, action)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Plan, format, virtual_size, file_size, partition_table, volumes,
                                                root, root_reason, mounts, left_out, fixups, os, os_release,
                                                os_version, architecture, warnings)

nlohmann::json to_json(const Plan& plan) {
    nlohmann::json j = plan;
    return j;
}

Plan plan_from_json(const nlohmann::json& j) { return j.get<Plan>(); }

namespace {

std::string human_size(std::uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char out[32];
    if (u == 0)
        std::snprintf(out, sizeof out, "%llu B", static_cast<unsigned long long>(bytes));
    else
        std::snprintf(out, sizeof out, "%.1f %s", v, units[u]);
    return out;
}

std::string padded(const std::string& s, std::size_t width, bool right = false) {
    if (s.size() >= width) return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

} // namespace

// Plain string building: the CLI prints plans and should not load a
// formatting library for it.
std::string render_plan(const Plan& plan) {
    std::string out;
    out += "Disk: " + plan.format + ", virtual size " + human_size(plan.virtual_size) + ", file " +
           human_size(plan.file_size) + "\n";
    out += "Partition table: " +
           (plan.partition_table.empty() ? std::string("none (filesystem on the whole disk)") : plan.partition_table) +
           "\n";
    out += "Volumes:\n";
    for (const auto& v : plan.volumes) {
        out += "  " + padded(v.name, 18) + " " + padded(human_size(v.size), 10, true) + "  " + padded(v.kind, 10) +
               " " + padded(v.filesystem.empty() ? "-" : v.filesystem, 6);
        if (!v.uuid.empty()) out += " UUID=" + v.uuid;
        if (!v.label.empty()) out += " LABEL=" + v.label;
        if (!v.partuuid.empty()) out += " PARTUUID=" + v.partuuid;
        if (!v.use.empty()) out += "\n  " + std::string(18, ' ') + " -> " + v.use;
        out += "\n";
    }
    out += "Root: " + (plan.root.empty() ? std::string("none") : plan.root) + " (" + plan.root_reason + ")\n";
    if (!plan.mounts.empty()) {
        out += "Mounts (from the guest's /etc/fstab):\n";
        for (const auto& m : plan.mounts)
            out += "  " + padded(m.path, 12) + " <- " + m.volume +
                   (m.fstab_source.empty() ? "" : " (" + m.fstab_source + ")") +
                   (m.options.empty() ? "" : " options " + m.options) + "\n";
    }
    if (!plan.left_out.empty()) {
        out += "Left out:\n";
        for (const auto& l : plan.left_out) out += "  " + l + "\n";
    }
    if (!plan.os.empty())
        out += "Guest: " + plan.os + " " + plan.os_release + " (" + plan.os_version + "), " + plan.architecture + "\n";
    if (!plan.fixups.empty()) {
        out += "Fixups:\n";
        for (const auto& f : plan.fixups) out += "  [" + f.fixup + "] " + f.path + ": " + f.action + "\n";
    }
    for (const auto& w : plan.warnings) out += "Warning: " + w + "\n";
    return out;
}

} // namespace lodge::vm
