// lodge: the command-line client of lodged. Everything but main lives in
// the lodge_cli library (cli/dispatch.hpp is the entry).
#include "cli/dispatch.hpp"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    return lodge::cli::run_cli(args, std::cout, std::cerr);
}
