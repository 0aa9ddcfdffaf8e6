// The `filter` query parameter of list endpoints (LXD's api_filtering):
// "status eq Running and config.image.os ne debian", with `and`, `or`,
// `not` and quoted values.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lodge::daemon {

class Filter {
public:
    // Error(400) for a malformed expression. An empty expression matches all.
    explicit Filter(const std::string& expression);
    // object: the recursion-1 JSON of the member. A key names a field
    // ("name", "status") or a map entry below one ("config.image.os").
    bool matches(const nlohmann::json& object) const;
    bool empty() const { return clauses_.empty(); }

private:
    struct Clause {
        std::string join; // "and" / "or" joining it to the previous clause
        bool negate = false;
        std::string key, op, value;
    };
    std::vector<Clause> clauses_;
};

} // namespace lodge::daemon
