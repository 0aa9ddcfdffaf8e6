// Shared bits of the verbs' output: the --format flag every list verb has.
#pragma once

#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/table.hpp"

namespace lodge::cli {

inline Flag format_flag() { return {"format", 'f', true, "table", "Format (csv|json|table|yaml|compact)"}; }

inline std::string checked_format(const Args& args) {
    auto format = args.value("format");
    if (auto problem = check_format(format); !problem.empty()) throw Error(problem);
    return format;
}

} // namespace lodge::cli
