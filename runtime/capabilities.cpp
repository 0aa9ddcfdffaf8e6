// The capability side of the security policy: names checked against libcap,
// and dropped from the bounding set so nothing the container execs can
// regain them.
#include "runtime/security.hpp"

#include "common/error.hpp"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>

namespace lodge::runtime {

namespace {

// Names as the policy writes them: lower case, no "cap_" prefix. libcap would
// also take numbers and upper case; refusing them keeps policies comparable
// (profiles are merged and audited by name).
cap_value_t resolve_cap(const std::string& name) {
    bool plain = !name.empty() && name[0] >= 'a' && name[0] <= 'z';
    for (char c : name) plain = plain && ((c >= 'a' && c <= 'z') || c == '_');
    cap_value_t value = 0;
    if (plain && name.rfind("cap_", 0) != 0 && cap_from_name(("cap_" + name).c_str(), &value) == 0) return value;
    throw Error(400, "security policy: unknown capability '" + name +
                         "' in caps_drop (use lower-case names without the cap_ prefix, e.g. 'sys_module')");
}

} // namespace

namespace detail {
void validate_cap_names(const std::vector<std::string>& names) {
    for (const auto& name : names) resolve_cap(name);
}
} // namespace detail

std::vector<int> cap_numbers(const SecurityPolicy& policy) {
    std::vector<int> out;
    for (const auto& name : policy.caps_drop) out.push_back(static_cast<int>(resolve_cap(name)));
    return out;
}

void drop_bounding_caps(const SecurityPolicy& policy) {
    // Resolve every name before dropping any, so bad policy changes nothing.
    std::vector<cap_value_t> values;
    values.reserve(policy.caps_drop.size());
    for (const auto& name : policy.caps_drop) values.push_back(resolve_cap(name));

    for (std::size_t i = 0; i < values.size(); ++i) {
        // Dropping needs CAP_SETPCAP even when there is nothing to drop; a
        // capability already out of the set (or one this kernel predates,
        // so never in it) is skipped so that dropping is idempotent.
        if (cap_get_bound(values[i]) != 1) continue;
        if (::prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(values[i]), 0, 0, 0) < 0)
            throw_errno("dropping capability '" + policy.caps_drop[i] + "' from the bounding set");
    }
}

} // namespace lodge::runtime
