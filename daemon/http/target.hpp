// Splitting a request target into a decoded path and query parameters.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lodge::daemon {

// Decodes %XX escapes (and '+' as space when form is true); nullopt for a
// malformed escape.
std::optional<std::string> percent_decode(std::string_view in, bool form = false);

// "key=value&key2=value2" (a query, or a header such as X-LXD-properties)
// as pairs in order, a key may repeat; nullopt for a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view text);

struct Target {
    std::string path;
    std::map<std::string, std::string> query;
};

// nullopt when the target is not an absolute path or is badly escaped.
std::optional<Target> parse_target(std::string_view target);

} // namespace lodge::daemon
