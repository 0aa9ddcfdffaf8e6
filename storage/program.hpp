// Running a helper program (mkfs.btrfs) with a fixed argv, no shell.
#pragma once

#include <string>
#include <vector>

namespace lodge::storage {

// Runs argv[0] (looked up in the system's sbin and bin directories) with a
// minimal environment; Error(500) with its output when it fails.
void run_program(const std::vector<std::string>& argv);

} // namespace lodge::storage
