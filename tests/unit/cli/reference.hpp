// LXD 5.0.2's recorded responses (../shared/reference beside the
// repository), as the CLI's unit tests read them.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace lodge::cli::test {

inline nlohmann::json reference_metadata(const std::string& name) {
    std::string path = std::string(LODGE_SOURCE_DIR) + "/../shared/reference/lxd-5.0.2/" + name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("missing reference file " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str()).at("metadata");
}

} // namespace lodge::cli::test
