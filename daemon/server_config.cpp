// Server config keys. Only keys whose behaviour lodged implements (or
// stores for a feature that reads them) are accepted; LXD's others are
// refused by name rather than silently stored and ignored.
#include "daemon/server_config.hpp"

#include "common/error.hpp"
#include "daemon/https_address.hpp"

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <regex>

namespace lodge::daemon {

namespace {

using Check = std::function<void(const std::string& value)>;

void check_uint(const std::string& v) {
    errno = 0;
    char* end = nullptr;
    auto n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < 0 || v.front() == '+' || v.front() == ' ')
        throw std::invalid_argument("must be a whole number of 0 or more");
}

void check_bool(const std::string& v) {
    static const char* accepted[] = {"true", "false", "1", "0", "yes", "no", "on", "off"};
    for (auto a : accepted)
        if (v == a) return;
    throw std::invalid_argument("must be true or false");
}

void check_https_address(const std::string& v) {
    try {
        parse_https_address(v);
    } catch (const Error& e) {
        throw std::invalid_argument(e.what());
    }
}

void check_expiry(const std::string& v) {
    try {
        expiry_after(api::now(), v);
    } catch (const Error& e) {
        throw std::invalid_argument(e.what());
    }
}

// LXD's meaning for each key; lodged's image, HTTPS and trust code read them.
const std::map<std::string, Check>& keys() {
    static const std::map<std::string, Check> k{
        {"core.https_address", check_https_address},   // HTTPS listener (host:port)
        {"core.remote_token_expiry", check_expiry},    // trust tokens expire after this ("" never)
        {"images.auto_update_cached", check_bool},   // refresh cached images automatically
        {"images.auto_update_interval", check_uint}, // hours between image refreshes, 0 = never
        {"images.remote_cache_expiry", check_uint},  // days before an unused cached image goes
    };
    return k;
}

bool is_user_key(const std::string& key) { return key.rfind("user.", 0) == 0 && key.size() > 5; }

std::string value_string(const std::string& key, const nlohmann::json& v) {
    if (v.is_null()) return "";
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_number()) return v.dump();
    throw Error(400, "Invalid config: value of \"" + key + "\" must be a string, number or boolean");
}

} // namespace

void validate_server_config_key(const std::string& key, const std::string& value) {
    if (is_user_key(key)) return;
    auto it = keys().find(key);
    if (it == keys().end()) throw Error(400, "Invalid config: Unknown configuration key: " + key);
    if (value.empty()) return;
    try {
        it->second(value);
    } catch (const std::invalid_argument& e) {
        throw Error(400, "Invalid config: Invalid value for \"" + key + "\" (\"" + value + "\"): " + e.what());
    }
}

ConfigMap apply_server_config(const ConfigMap& current, const nlohmann::json& request_config, bool replace) {
    if (!request_config.is_null() && !request_config.is_object())
        throw Error(400, "Invalid config: \"config\" must be an object of keys and values");
    ConfigMap out = replace ? ConfigMap{} : current;
    if (request_config.is_null()) return out;
    for (const auto& [key, raw] : request_config.items()) {
        auto value = value_string(key, raw);
        validate_server_config_key(key, value);
        if (value.empty())
            out.erase(key);
        else
            out[key] = value;
    }
    return out;
}

std::optional<api::Time> expiry_after(api::Time from, const std::string& expression) {
    auto first = expression.find_first_not_of(' ');
    if (first == std::string::npos) return std::nullopt;
    static const std::regex field(R"(^(\d{1,9})(S|M|H|d|w|m|y)$)");
    std::map<char, long> amount;
    std::size_t pos = first;
    const auto end = expression.find_last_not_of(' ') + 1;
    while (pos < end) {
        auto space = expression.find(' ', pos);
        if (space == std::string::npos || space > end) space = end;
        std::smatch m;
        const std::string part = expression.substr(pos, space - pos);
        if (!std::regex_match(part, m, field) || amount.count(m[2].str()[0]))
            throw Error(400, "Invalid expiry expression \"" + expression + "\": use e.g. \"30M\", \"1H\" or \"2d 12H\"");
        amount[m[2].str()[0]] = std::stol(m[1].str());
        pos = space + 1;
    }
    // Calendar units as Go's AddDate counts them, then the clock ones.
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(from.time_since_epoch());
    auto frac = from.time_since_epoch() - secs;
    std::time_t t = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    tm.tm_year += static_cast<int>(amount['y']);
    tm.tm_mon += static_cast<int>(amount['m']);
    tm.tm_mday += static_cast<int>(amount['d'] + 7 * amount['w']);
    std::time_t moved = ::timegm(&tm) + amount['H'] * 3600 + amount['M'] * 60 + amount['S'];
    return api::Time(std::chrono::seconds(moved)) + frac;
}

std::vector<std::string> known_server_config_keys() {
    std::vector<std::string> out;
    for (const auto& [k, c] : keys()) out.push_back(k);
    out.push_back("user.*");
    return out;
}

} // namespace lodge::daemon
