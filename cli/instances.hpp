// Instance views shared by verbs in several files (`info NAME`, `config
// show NAME`).
#pragma once

#include "cli/dispatch.hpp"

#include <string>

namespace lodge::cli {

// `lodge info [<remote>:]<instance>` as `lxc info` prints it.
int show_instance_info(Context& ctx, const std::string& arg, bool show_log);

// `lodge config show [<remote>:]<instance> [--expanded]` as YAML.
int show_instance_config(Context& ctx, const std::string& arg, bool expanded);

} // namespace lodge::cli
