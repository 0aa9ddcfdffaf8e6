// Running a helper program on untrusted data. Placeholder until the
// Landlock-confined version lands.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lodge::vm {

struct Confinement {
    std::vector<std::string> read;
    std::vector<std::string> write;
};

struct RunResult {
    int exit_status = 0;
    std::string output; // stdout and stderr
};

RunResult run_confined(const std::vector<std::string>& argv, const Confinement& confinement,
                       const std::function<void(std::string_view line)>& on_line = {});

} // namespace lodge::vm
