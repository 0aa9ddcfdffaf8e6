// Tabular output in the formats of `lxc` (lxc/utils/table.go): a boxed
// table, a compact table, CSV, or the raw objects as JSON or YAML.
#pragma once

#include "cli/yaml_output.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lodge::cli {

using Row = std::vector<std::string>;

// The formats every list verb accepts; "" when `format` is one of them,
// else the error message.
std::string check_format(const std::string& format);

// Renders rows (already sorted) under the headers. `raw` is what json and
// yaml print: the objects the rows were made from.
std::string render_table(const std::string& format, const Row& headers, const std::vector<Row>& rows,
                         const nlohmann::json& raw, const KeyOrder& order = {});

// The pieces, for the unit tests.
std::string render_boxed(const Row& headers, const std::vector<Row>& rows);
std::string render_compact(const Row& headers, const std::vector<Row>& rows);
std::string render_csv(const std::vector<Row>& rows);

// Terminal columns a UTF-8 string takes (one per code point: lodge prints
// no wide characters of its own).
size_t display_width(const std::string& s);

// lxc's sort of table rows (lxc/utils/sort.go ByName): by the first
// column, with runs of digits compared as numbers ("c2" before "c10").
void sort_by_name(std::vector<Row>& rows);

} // namespace lodge::cli
