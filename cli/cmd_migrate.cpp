// `lodge migrate`: its usage and flags, shared with lodge-migrate, which
// does the work; lodge itself hands over to it (libarchive stays out of
// every other command's start-up).
#include "cli/dispatch.hpp"
#include "cli/error.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace lodge::cli {

namespace {

// lodge-migrate beside this lodge, with the command line as given.
int exec_migrate(Context& ctx, const Args& args) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw Error("finding lodge-migrate: " + ec.message());
    const std::string program = (self.parent_path() / "lodge-migrate").string();
    std::vector<std::string> argv{program};
    for (const auto& flag : migrate_command(nullptr).flags)
        if (args.has(flag.name))
            argv.push_back(flag.takes_value ? "--" + flag.name + "=" + args.value(flag.name) : "--" + flag.name);
    argv.insert(argv.end(), args.positional.begin(), args.positional.end());
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    ctx.out.flush();
    ::execv(program.c_str(), c.data());
    throw Error("running " + program + ": " + std::strerror(errno));
}

} // namespace

Command migrate_command(std::function<int(Context&, const Args&)> run) {
    return {"migrate",
            {},
            "[<remote>:]<name>",
            "Copy this machine (or a root tree) into a new instance on a lodge server",
            1,
            1,
            {{"source", 0, true, "/", "The root filesystem to copy (default: this machine's /)"},
             {"storage", 's', true, "", "Storage pool of the new instance"},
             {"keep-network", 0, false, "", "Keep the machine's network configuration as it is"},
             {"keep-machine-id", 0, false, "", "Keep the machine's machine-id"}},
            std::move(run)};
}

void add_migrate_commands(std::vector<Command>& t) { t.push_back(migrate_command(exec_migrate)); }

} // namespace lodge::cli
