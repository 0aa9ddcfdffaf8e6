// Parsing and evaluating list filters, left to right as LXD does (no
// precedence between and and or).
#include "daemon/api/filter.hpp"

#include "common/error.hpp"

#include <optional>
#include <vector>

namespace lodge::daemon {

namespace {

std::vector<std::string> tokens(const std::string& s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] == ' ') {
            ++i;
            continue;
        }
        std::string tok;
        if (s[i] == '"' || s[i] == '\'') {
            const char q = s[i++];
            const auto end = s.find(q, i);
            if (end == std::string::npos) throw Error(400, "Invalid filter: unterminated quote");
            tok = s.substr(i, end - i);
            i = end + 1;
        } else {
            const auto end = s.find(' ', i);
            tok = s.substr(i, end == std::string::npos ? std::string::npos : end - i);
            i = end == std::string::npos ? s.size() : end;
        }
        out.push_back(tok);
    }
    return out;
}

// The value a key names, as text; nullopt when absent.
std::optional<std::string> lookup(const nlohmann::json& object, const std::string& key) {
    const nlohmann::json* at = &object;
    std::string rest = key;
    while (!rest.empty()) {
        if (!at->is_object()) return std::nullopt;
        // Map keys may contain dots ("config.image.os"): try the whole rest first.
        if (auto it = at->find(rest); it != at->end()) {
            at = &*it;
            break;
        }
        const auto dot = rest.find('.');
        auto it = at->find(rest.substr(0, dot));
        if (it == at->end()) return std::nullopt;
        at = &*it;
        rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
    }
    if (at->is_string()) return at->get<std::string>();
    if (at->is_null()) return std::string();
    return at->dump();
}

} // namespace

Filter::Filter(const std::string& expression) {
    const auto t = tokens(expression);
    size_t i = 0;
    while (i < t.size()) {
        Clause c;
        if (!clauses_.empty()) {
            if (t[i] != "and" && t[i] != "or") throw Error(400, "Invalid filter: expected and/or before \"" + t[i] + "\"");
            c.join = t[i++];
        }
        if (i < t.size() && t[i] == "not") {
            c.negate = true;
            ++i;
        }
        if (i + 3 > t.size()) throw Error(400, "Invalid filter: incomplete clause in \"" + expression + "\"");
        c.key = t[i];
        c.op = t[i + 1];
        c.value = t[i + 2];
        if (c.op != "eq" && c.op != "ne") throw Error(400, "Invalid filter: unknown operator \"" + c.op + "\" (use eq or ne)");
        i += 3;
        clauses_.push_back(std::move(c));
    }
}

bool Filter::matches(const nlohmann::json& object) const {
    bool result = true;
    for (size_t n = 0; n < clauses_.size(); ++n) {
        const auto& c = clauses_[n];
        const auto v = lookup(object, c.key);
        bool m = v && *v == c.value;
        if (c.op == "ne") m = !m;
        if (c.negate) m = !m;
        if (n == 0)
            result = m;
        else if (c.join == "and")
            result = result && m;
        else
            result = result || m;
    }
    return result;
}

} // namespace lodge::daemon
