// The import plan as JSON (operation metadata, image properties) and as text.
#include "images/vm/plan.hpp"

#include <fmt/format.h>

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
    return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

} // namespace

std::string render_plan(const Plan& plan) {
    std::string out;
    out += fmt::format("Disk: {}, virtual size {}, file {}\n", plan.format, human_size(plan.virtual_size),
                       human_size(plan.file_size));
    out += fmt::format("Partition table: {}\n", plan.partition_table.empty() ? "none (filesystem on the whole disk)"
                                                                             : plan.partition_table);
    out += "Volumes:\n";
    for (const auto& v : plan.volumes) {
        out += fmt::format("  {:<18} {:>10}  {:<10} {:<6}", v.name, human_size(v.size), v.kind,
                           v.filesystem.empty() ? "-" : v.filesystem);
        if (!v.uuid.empty()) out += " UUID=" + v.uuid;
        if (!v.label.empty()) out += " LABEL=" + v.label;
        if (!v.partuuid.empty()) out += " PARTUUID=" + v.partuuid;
        if (!v.use.empty()) out += "\n  " + std::string(18, ' ') + " -> " + v.use;
        out += "\n";
    }
    out += fmt::format("Root: {} ({})\n", plan.root.empty() ? "none" : plan.root, plan.root_reason);
    if (!plan.mounts.empty()) {
        out += "Mounts (from the guest's /etc/fstab):\n";
        for (const auto& m : plan.mounts)
            out += fmt::format("  {:<12} <- {}{}{}\n", m.path, m.volume,
                               m.fstab_source.empty() ? "" : " (" + m.fstab_source + ")",
                               m.options.empty() ? "" : " options " + m.options);
    }
    if (!plan.left_out.empty()) {
        out += "Left out:\n";
        for (const auto& l : plan.left_out) out += "  " + l + "\n";
    }
    if (!plan.os.empty())
        out += fmt::format("Guest: {} {} ({}), {}\n", plan.os, plan.os_release, plan.os_version, plan.architecture);
    if (!plan.fixups.empty()) {
        out += "Fixups:\n";
        for (const auto& f : plan.fixups) out += fmt::format("  [{}] {}: {}\n", f.fixup, f.path, f.action);
    }
    for (const auto& w : plan.warnings) out += "Warning: " + w + "\n";
    return out;
}

} // namespace lodge::vm
