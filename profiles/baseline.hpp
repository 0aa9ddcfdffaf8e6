// Security baselines: profiles marked lodge.baseline=true whose security
// and limits settings an instance may tighten but not weaken. Weakening is
// allowed (an admin sometimes must) but never silent: lodge audit reports
// every setting of an instance's expanded config that is weaker than a
// baseline it carries, and where the weaker value comes from.
#pragma once

#include "api/instance.hpp"
#include "api/profile.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lodge::profiles {

// One deviation lodge audit reports.
struct Finding {
    std::string kind;     // "config": weaker than a baseline; "kernel": the running container differs
    std::string check;    // the config key, or the kernel fact ("uid_map", "capabilities.bounding", "memory.max")
    std::string expected;
    std::string actual;
    std::string source;   // config: "instance" or "profile NAME"; kernel: where it was read
    std::string message;
};

void to_json(nlohmann::json& j, const Finding& f);

bool is_baseline(const api::Profile& profile);

// The settings of `expanded` weaker than those of each baseline among
// `profiles` (the instance's profiles, in order); `local` is the
// instance's own config, to name the source of each weaker value.
std::vector<Finding> baseline_drift(const api::ConfigMap& expanded, const api::DeviceMap& expanded_devices,
                                    const api::ConfigMap& local, const std::vector<api::Profile>& profiles);

} // namespace lodge::profiles
