// Command-line parsing: verbs and groups resolved from the table, flags
// anywhere after the verb (as cobra allows), "--" ending flags, and errors
// that name the closest valid spelling.
#include "cli/dispatch.hpp"

#include "cli/error.hpp"

#include <algorithm>
#include <ostream>
#include <set>

namespace lodge::cli {

namespace {

std::vector<std::string> words(const std::string& path) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < path.size()) {
        size_t sp = path.find(' ', pos);
        out.push_back(path.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos));
        if (sp == std::string::npos) break;
        pos = sp + 1;
    }
    return out;
}

const Flag help_flag{"help", 'h', false, "", "Print help"};

bool is_group(const std::vector<Command>& table, const std::string& word) {
    return std::any_of(table.begin(), table.end(), [&](const Command& c) { return c.path.rfind(word + " ", 0) == 0; });
}

// The commands directly under a prefix ("" for the top level): their
// words at that level, aliases included.
std::map<std::string, std::string> names_under(const std::vector<Command>& table, const std::string& prefix) {
    std::map<std::string, std::string> names; // spelling → canonical word
    for (const auto& c : table) {
        auto w = words(c.path);
        if (prefix.empty()) {
            names[w[0]] = w[0];
            if (w.size() == 1)
                for (const auto& a : c.aliases) names[a] = w[0];
        } else {
            // Nested groups ("image alias list"): the word after the prefix's words.
            auto pw = words(prefix);
            if (w.size() <= pw.size() || !std::equal(pw.begin(), pw.end(), w.begin())) continue;
            names[w[pw.size()]] = w[pw.size()];
            if (w.size() == pw.size() + 1)
                for (const auto& a : c.aliases) names[a] = w[pw.size()];
        }
    }
    return names;
}

const Command* find_command(const std::vector<Command>& table, const std::string& path) {
    for (const auto& c : table)
        if (c.path == path) return &c;
    return nullptr;
}

[[noreturn]] void unknown_command(const std::string& shown, const std::string& word,
                                  const std::map<std::string, std::string>& names, const std::string& prefix) {
    std::vector<std::string> candidates;
    for (const auto& [spelling, _] : names) candidates.push_back(spelling);
    auto best = suggest(word, candidates);
    std::string msg = "unknown command '" + shown + "'";
    if (!best.empty()) msg += "; did you mean '" + (prefix.empty() ? "" : prefix + " ") + names.at(best) + "'?";
    else msg += " (see 'lodge " + (prefix.empty() ? std::string("--help") : prefix + " --help") + "')";
    throw Error(msg);
}

const Flag* find_flag(const std::vector<Flag>& flags, const std::string& name, char short_name) {
    for (const auto& f : flags)
        if ((!name.empty() && f.name == name) || (short_name && f.short_name == short_name)) return &f;
    if (name == "help" || short_name == 'h') return &help_flag;
    return nullptr;
}

[[noreturn]] void unknown_flag(const Command& cmd, const std::string& given) {
    std::vector<std::string> candidates{"--help"};
    for (const auto& f : cmd.flags) candidates.push_back("--" + f.name);
    auto best = suggest(given, candidates);
    std::string msg = "unknown flag '" + given + "' for 'lodge " + cmd.path + "'";
    if (!best.empty()) msg += "; did you mean '" + best + "'?";
    throw Error(msg);
}

} // namespace

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

std::string suggest(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    size_t best_distance = many;
    for (const auto& c : candidates) {
        size_t d = edit_distance(word, c);
        // A prefix ("li" for "list") counts as close however short it is.
        if (word.size() >= 2 && c.rfind(word, 0) == 0) d = std::min<size_t>(d, 1);
        if (d <= 2 && d < word.size() && d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

namespace {

// Finds the verb (and sub-verb of a group) at argv[i]; leaves i after it.
// Returns false when argv only asks for help (p.help and p.group set).
bool resolve_command(const std::vector<Command>& table, const std::vector<std::string>& argv, size_t& i, Parsed& p) {
    // Before the verb only help is accepted (and --version, which is the
    // "version" verb).
    for (; i < argv.size() && !argv[i].empty() && argv[i][0] == '-'; ++i) {
        if (argv[i] == "-h" || argv[i] == "--help") {
            p.help = true;
        } else if (argv[i] == "--version") {
            p.command = find_command(table, "version");
            i = argv.size();
            return true;
        } else if (argv[i] == "--") {
            ++i;
            break;
        } else {
            throw Error("unknown flag '" + argv[i] + "' (see 'lodge --help')");
        }
    }
    if (i == argv.size() || argv[i] == "help") {
        p.help = true;
        // "lodge help remote" = "lodge remote --help"
        if (i + 1 < argv.size() && is_group(table, argv[i + 1])) p.group = argv[i + 1];
        return false;
    }
    auto top = names_under(table, "");
    auto it = top.find(argv[i]);
    if (it == top.end()) unknown_command(argv[i], argv[i], top, "");
    std::string path = it->second;
    ++i;
    while (is_group(table, path) && !find_command(table, path)) {
        // The sub-verb is the next word; only help may come before it.
        for (; i < argv.size() && !argv[i].empty() && argv[i][0] == '-'; ++i) {
            if (argv[i] != "-h" && argv[i] != "--help")
                throw Error("unknown flag '" + argv[i] + "' for 'lodge " + path + "' (see 'lodge " + path + " --help')");
            p.help = true;
        }
        if (i == argv.size()) {
            p.help = true;
            p.group = path;
            return false;
        }
        auto subs = names_under(table, path);
        auto sub = subs.find(argv[i]);
        if (sub == subs.end()) unknown_command(path + " " + argv[i], argv[i], subs, path);
        path += " " + sub->second;
        ++i;
    }
    p.command = find_command(table, path);
    return true;
}

// Parses the flag at argv[i] ("--name", "--name=value", "-n value",
// "-nvalue"), taking its value from argv[i+1] when needed.
void parse_flag(const Command& cmd, const std::vector<std::string>& argv, size_t& i, Parsed& p) {
    const std::string& a = argv[i];
    std::string value;
    bool has_value = false;
    const Flag* flag = nullptr;
    if (a[1] == '-') {
        auto eq = a.find('=');
        std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        if (eq != std::string::npos) {
            value = a.substr(eq + 1);
            has_value = true;
        }
        flag = find_flag(cmd.flags, name, 0);
        if (!flag) unknown_flag(cmd, "--" + name);
    } else {
        flag = find_flag(cmd.flags, "", a[1]);
        if (!flag) unknown_flag(cmd, a.substr(0, 2));
        if (a.size() > 2) {
            value = a.substr(a[2] == '=' ? 3 : 2); // "-cns46" and "-c=ns46"
            has_value = true;
        }
    }
    if (flag == &help_flag) {
        p.help = true;
        return;
    }
    if (flag->takes_value && !has_value) {
        if (i + 1 == argv.size()) throw Error("flag '--" + flag->name + "' needs a value");
        value = argv[++i];
    } else if (!flag->takes_value) {
        if (has_value && value != "true" && value != "false") throw Error("flag '--" + flag->name + "' takes no value");
        if (!has_value) value = "true";
    }
    // A repeatable flag keeps every value, one per line.
    if (flag->repeatable && p.args.given.count(flag->name)) value = p.args.values[flag->name] + "\n" + value;
    p.args.values[flag->name] = value;
    p.args.all[flag->name].push_back(value);
    p.args.given[flag->name] = true;
}

void check_arity(const Command& cmd, size_t n) {
    if (n >= cmd.min_args && n <= cmd.max_args) return;
    std::string want = cmd.min_args == cmd.max_args ? std::to_string(cmd.min_args)
                       : cmd.max_args == many      ? "at least " + std::to_string(cmd.min_args)
                                                   : std::to_string(cmd.min_args) + " to " + std::to_string(cmd.max_args);
    throw Error("Invalid number of arguments: 'lodge " + cmd.path + "' takes " + want + ", got " + std::to_string(n) +
                " (usage: lodge " + cmd.path + (cmd.usage.empty() ? "" : " " + cmd.usage) + ")");
}

} // namespace

Parsed parse_command_line(const std::vector<Command>& table, const std::vector<std::string>& argv) {
    Parsed p;
    size_t i = 0;
    if (!resolve_command(table, argv, i, p)) return p;
    const Command& cmd = *p.command;
    for (const auto& f : cmd.flags) p.args.values[f.name] = f.default_value;
    bool flags_done = false; // after "--" everything is an argument
    for (; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (flags_done || a.size() < 2 || a[0] != '-') p.args.positional.push_back(a);
        else if (a == "--") flags_done = true;
        else parse_flag(cmd, argv, i, p);
    }
    if (!p.help) check_arity(cmd, p.args.positional.size());
    return p;
}

std::string usage_text(const std::vector<Command>& table, const std::string& group) {
    std::string out = group.empty() ? "Usage: lodge [command] [flags]\n\nlodge manages system containers through lodged.\n\nCommands:\n"
                                    : "Usage: lodge " + group + " [command] [flags]\n\nCommands:\n";
    std::set<std::string> shown;
    std::vector<std::pair<std::string, std::string>> lines; // name, summary
    for (const auto& c : table) {
        auto w = words(c.path);
        auto gw = group.empty() ? std::vector<std::string>{} : words(group);
        if (w.size() <= gw.size() || !std::equal(gw.begin(), gw.end(), w.begin())) continue;
        std::string name = w[gw.size()];
        if (!shown.insert(name).second) continue;
        std::string summary = c.summary;
        if (w.size() > gw.size() + 1) { // a group under this one
            static const std::map<std::string, std::string> groups{{"config", "Manage server configuration"},
                                                                   {"config device", "Manage devices"},
                                                                   {"profile device", "Manage devices"},
                                                                   {"file", "Manage files in instances"},
                                                                   {"network", "Manage and attach instances to networks"},
                                                                   {"profile", "Manage profiles"},
                                                                   {"remote", "Manage the list of remote servers"},
                                                                   {"storage", "Manage storage pools"},
                                                                   {"storage volume", "Manage storage volumes"},
                                                                   {"image", "Manage images"},
                                                                   {"image alias", "Manage image aliases"}};
            auto it = groups.find(group.empty() ? name : group + " " + name);
            summary = it != groups.end() ? it->second : "Manage " + name;
        }
        lines.emplace_back(name, summary);
    }
    // The summaries line up even after a long name ("attach-profile").
    size_t width = 14;
    for (const auto& [name, _] : lines) width = std::max(width, name.size() + 2);
    for (const auto& [name, summary] : lines) out += "  " + name + std::string(width - name.size(), ' ') + summary + "\n";
    out += "\nUse \"lodge " + (group.empty() ? std::string("[command]") : group + " [command]") +
           " --help\" for more about a command.\n";
    return out;
}

// lxc's getConfig: "key value", or any number of "key=value".
std::map<std::string, std::string> config_args(const std::vector<std::string>& args) {
    if (args.size() == 2 && args[0].find('=') == std::string::npos) return {{args[0], args[1]}};
    std::map<std::string, std::string> out;
    for (const auto& a : args) {
        const auto eq = a.find('=');
        if (eq == std::string::npos) throw Error("Invalid key=value configuration: " + a);
        out[a.substr(0, eq)] = a.substr(eq + 1);
    }
    return out;
}

std::string command_help(const Command& c) {
    std::string out = "Usage: lodge " + c.path + (c.usage.empty() ? "" : " " + c.usage) + "\n\n" + c.summary + "\n";
    if (!c.aliases.empty()) {
        out += "\nAliases:";
        for (const auto& a : c.aliases) out += " " + a;
        out += "\n";
    }
    out += "\nFlags:\n";
    std::vector<Flag> flags = c.flags;
    flags.push_back(help_flag);
    for (const auto& f : flags) {
        std::string left = f.short_name ? std::string("  -") + f.short_name + ", --" + f.name : "      --" + f.name;
        if (f.takes_value) left += " <value>";
        out += left + std::string(left.size() < 28 ? 28 - left.size() : 1, ' ') + f.help;
        if (!f.default_value.empty()) out += " (default \"" + f.default_value + "\")";
        out += "\n";
    }
    return out;
}

int run_cli(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
    return run_cli_with(command_table(), argv, out, err);
}

int run_cli_with(const std::vector<Command>& table, const std::vector<std::string>& argv, std::ostream& out,
                 std::ostream& err) {
    try {
        Parsed p = parse_command_line(table, argv);
        if (p.help) {
            out << (p.command ? command_help(*p.command) : usage_text(table, p.group));
            return 0;
        }
        Context ctx{out, err, "", {}};
        // Every verb may need the remotes: `remote` verbs edit them, the
        // others pick theirs. The file is read once, here.
        ctx.config_path = config_path();
        ctx.config = load_config(ctx.config_path);
        return p.command->run(ctx, p.args);
    } catch (const Error& e) {
        out.flush();
        err << "Error: " << e.what() << "\n";
        return e.exit_code();
    } catch (const std::exception& e) {
        // A malformed answer (a JSON field of the wrong type) or a bug:
        // still one line, never an abort.
        out.flush();
        err << "Error: " << e.what() << "\n";
        return 1;
    }
}

} // namespace lodge::cli
