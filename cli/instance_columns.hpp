// The columns of `lodge list` (`-c`), computed from LXD's InstanceFull JSON
// (GET /1.0/instances?recursion=2) as lxc/list.go does.
#pragma once

#include "cli/table.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace lodge::cli {

struct Column {
    std::string name;
    std::function<std::string(const nlohmann::json&)> data;
    bool needs_state = false; // the value comes from recursion=2
};

inline constexpr const char* default_list_columns = "ns46tSL";

// Parses a -c value: shorthand characters ("ns46tS"), comma-separated
// entries, and config or device keys ("user.role", "config:user.role:ROLE:8",
// "devices:root.pool"). L (location) only exists on clusters: lodge is
// never clustered, so L is dropped from the default and refused otherwise.
// Throws Error on anything it does not know.
std::vector<Column> parse_columns(const std::string& spec);

// Instances whose name starts with a filter word and whose config matches
// every key=value filter (lxc's client-side filtering, the common cases).
bool instance_matches(const nlohmann::json& inst, const std::vector<std::string>& filters);

// The table rows for instances, in lxc's order (by name, naturally).
std::vector<Row> instance_rows(const nlohmann::json& instances, const std::vector<Column>& columns);

// Go struct order of InstanceFull, for --format yaml.
const KeyOrder& instance_key_order();

} // namespace lodge::cli
