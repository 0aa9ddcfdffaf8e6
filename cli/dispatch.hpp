// lodge's command line: a table of verbs ("list", "remote rename") with
// their flags, parsed the way lxc (cobra) does, with "did you mean" hints
// for mistyped verbs and flags.
#pragma once

#include "cli/remotes.hpp"

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace lodge::cli {

struct Flag {
    std::string name;       // long name, without "--"
    char short_name = 0;    // 0 when none
    bool takes_value = false;
    std::string default_value;
    std::string help;
    bool repeatable = false; // values of every occurrence, joined by '\n'
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> values; // every flag of the command, defaults filled in
    std::map<std::string, bool> given;         // flags present on the command line
    std::map<std::string, std::vector<std::string>> all; // every value of a repeated flag (-p a -p b)

    bool has(const std::string& flag) const { return given.count(flag) > 0; }
    const std::string& value(const std::string& flag) const { return values.at(flag); }
    std::vector<std::string> values_of(const std::string& flag) const {
        auto it = all.find(flag);
        return it == all.end() ? std::vector<std::string>{} : it->second;
    }
};

struct Context {
    std::ostream& out;
    std::ostream& err;
    std::string config_path;
    ClientConfig config;
};

inline constexpr size_t many = std::numeric_limits<size_t>::max();

struct Command {
    std::string path;                 // "remote rename"
    std::vector<std::string> aliases; // other spellings of the last word ("mv")
    std::string usage;                // the arguments: "<remote> <new-name>"
    std::string summary;
    size_t min_args = 0;
    size_t max_args = 0;
    std::vector<Flag> flags;
    std::function<int(Context&, const Args&)> run;
};

// Every verb, registered by the cmd_*.cpp files.
const std::vector<Command>& command_table();
void add_remote_commands(std::vector<Command>& table);
void add_server_commands(std::vector<Command>& table);
void add_profile_commands(std::vector<Command>& table);
void add_device_commands(std::vector<Command>& table); // config device ..., profile device ...
void add_audit_commands(std::vector<Command>& table); // lodge audit
void add_storage_commands(std::vector<Command>& table);        // pools
void add_storage_volume_commands(std::vector<Command>& table); // storage volume ...
void add_network_commands(std::vector<Command>& table);
void add_exec_commands(std::vector<Command>& table); // exec, console
void add_file_commands(std::vector<Command>& table); // file push, pull, delete
void add_list_commands(std::vector<Command>& table);
void add_instance_commands(std::vector<Command>& table);
void add_operation_commands(std::vector<Command>& table);
void add_monitor_commands(std::vector<Command>& table);
void add_trust_commands(std::vector<Command>& table);
void add_image_commands(std::vector<Command>& table);
void add_image_vm_commands(std::vector<Command>& table);
void add_migrate_commands(std::vector<Command>& table);
void add_snapshot_commands(std::vector<Command>& table); // snapshot, restore, copy
void add_publish_commands(std::vector<Command>& table);
void add_image_export_commands(std::vector<Command>& table);
void add_backup_commands(std::vector<Command>& table); // export, import

// lxc's getConfig: "key value", or any number of "key=value"; Error for a
// pair without "=".
std::map<std::string, std::string> config_args(const std::vector<std::string>& args);

// Runs a command line (argv without the program name); returns the exit
// status. Errors go to err as "Error: <message>".
int run_cli(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);
// The same over another table of verbs (lodge-migrate's).
int run_cli_with(const std::vector<Command>& table, const std::vector<std::string>& argv, std::ostream& out,
                 std::ostream& err);

// `lodge migrate` as a verb, run by `run` (lodge hands over to lodge-migrate,
// which does the work: cli/migrate/migrate.cpp).
Command migrate_command(std::function<int(Context&, const Args&)> run);
int run_migrate(Context& ctx, const Args& args);

// Parses argv into the command it names and its arguments; throws Error
// (exit status 1) for an unknown verb or flag. Returns nullptr when argv
// only asks for help, which has been written to out.
struct Parsed {
    const Command* command = nullptr;
    Args args;
    bool help = false;
    std::string group; // "remote" when help is asked for a group
};
Parsed parse_command_line(const std::vector<Command>& table, const std::vector<std::string>& argv);

// Optimal string alignment distance: Levenshtein plus transposition of
// neighbours, so "lsit" is one edit from "list".
size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to word, or "" when none is close enough (at most
// two edits, fewer than the word's length; or word is a prefix).
std::string suggest(const std::string& word, const std::vector<std::string>& candidates);

// Help texts.
std::string usage_text(const std::vector<Command>& table, const std::string& group);
std::string command_help(const Command& command);

} // namespace lodge::cli
