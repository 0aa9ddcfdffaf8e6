// Server config keys. Only keys whose behaviour lodged implements (or
// stores for a feature that reads them) are accepted; LXD's others are
// refused by name rather than silently stored and ignored.
#include "daemon/server_config.hpp"

#include "common/error.hpp"
#include "daemon/https_address.hpp"
#include "storage/size.hpp"

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

void check_size(const std::string& v) {
    try {
        storage::parse_size(v);
    } catch (const Error& e) {
        throw std::invalid_argument(e.what());
    }
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
        profiles::expiry_after(api::now(), v);
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
        // lodge's own: the largest virtual size `lodge image import-vm` takes
        // ("2TiB" when unset).
        {"lodge.images.vm_max_virtual_size", check_size},
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

std::vector<std::string> known_server_config_keys() {
    std::vector<std::string> out;
    for (const auto& [k, c] : keys()) out.push_back(k);
    out.push_back("user.*");
    return out;
}

} // namespace lodge::daemon
