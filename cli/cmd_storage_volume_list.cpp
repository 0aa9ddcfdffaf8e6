// `lodge storage volume list`: a pool's volumes with lxc 5.0.2's columns,
// sort order and formats (lxc/storage_volume.go cmdStorageVolumeList).
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/output.hpp"
#include "cli/storage_volume_output.hpp"

#include <algorithm>
#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

constexpr const char* default_columns = "etndcuL";

struct Column {
    std::string header;
    bool needs_state = false; // the volume's /state, asked per volume
    std::string (*data)(const json& vol, const json& state);
};

std::string str(const json& v, const char* key) {
    auto it = v.find(key);
    return it != v.end() && it->is_string() ? it->get<std::string>() : "";
}

Column column_for(char c, bool all_projects) {
    switch (c) {
    case 't':
        return {"TYPE", false, [](const json& v, const json&) {
                    auto type = str(v, "type");
                    return str(v, "name").find('/') != std::string::npos ? type + " (snapshot)" : type;
                }};
    case 'n': return {"NAME", false, [](const json& v, const json&) { return str(v, "name"); }};
    case 'd': return {"DESCRIPTION", false, [](const json& v, const json&) { return str(v, "description"); }};
    case 'c':
        return {"CONTENT-TYPE", false, [](const json& v, const json&) {
                    auto t = str(v, "content_type");
                    return t.empty() ? std::string("filesystem") : t;
                }};
    case 'u':
        return {"USED BY", false, [](const json& v, const json&) {
                    auto it = v.find("used_by");
                    return std::to_string(it != v.end() && it->is_array() ? it->size() : 0);
                }};
    case 'U':
        return {"USAGE", true, [](const json&, const json& s) {
                    auto usage = s.is_object() ? s.value("usage", json()) : json();
                    return usage.is_object() ? iec_bytes(usage.value("used", 0.0)) : std::string();
                }};
    case 'e':
        if (all_projects) return {"PROJECT", false, [](const json& v, const json&) { return str(v, "project"); }};
        break;
    }
    return {};
}

// lxc's parseColumns on a server that is not clustered: L is dropped from
// the default and refused when asked for, e only with --all-projects.
std::vector<Column> parse_columns(std::string spec, bool all_projects) {
    if (spec != default_columns && spec.find('L') != std::string::npos)
        throw Error("Can't specify column L when not clustered");
    std::erase(spec, 'L');
    if (!all_projects) std::erase(spec, 'e');
    std::vector<Column> columns;
    size_t start = 0;
    while (true) {
        const auto comma = spec.find(',', start);
        const auto entry = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (entry.empty())
            throw Error("Empty column entry (redundant, leading or trailing command) in '" + spec + "'");
        for (char c : entry) {
            auto col = column_for(c, all_projects);
            if (!col.data)
                throw Error(std::string("Unknown column shorthand char '") + c + "' in '" + entry + "'");
            columns.push_back(col);
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return columns;
}

// lxc's ByNameAndType: by the first column's first word (the type), then
// the second column, whatever the columns are.
void sort_by_name_and_type(std::vector<Row>& rows) {
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        const auto ta = a[0].substr(0, a[0].find(' ')), tb = b[0].substr(0, b[0].find(' '));
        if (ta != tb) return natural_less(a[0], b[0]);
        if (a[1].empty()) return false;
        if (b[1].empty()) return true;
        return natural_less(a[1], b[1]);
    });
}

// lxc sends filters as one expression; lodged lists everything, so they are
// applied here too (key=value on the volume's fields and config, or a name).
bool matches(const json& vol, const std::vector<std::string>& filters) {
    for (const auto& f : filters) {
        const auto eq = f.find('=');
        if (eq == std::string::npos) {
            if (str(vol, "name") != f) return false;
            continue;
        }
        const auto key = f.substr(0, eq), value = f.substr(eq + 1);
        std::string have = str(vol, key.c_str());
        if (key.rfind("config.", 0) == 0) have = str(vol.value("config", json::object()), key.substr(7).c_str());
        if (have != value) return false;
    }
    return true;
}

// lxc refuses what the server has no extension for, before asking.
void require_extension(ApiClient& api, const std::string& name) {
    auto extensions = api.get("/1.0").value("api_extensions", json::array());
    if (std::find(extensions.begin(), extensions.end(), name) == extensions.end())
        throw Error("The server is missing the required \"" + name + "\" API extension");
}

int run_list(Context& ctx, const Args& args) {
    const auto format = checked_format(args);
    const bool all_projects = args.has("all-projects");
    auto [remote, pool] = parse_remote(ctx.config, args.positional[0]);
    if (pool.empty()) throw Error("Missing pool name");
    auto api = connect_remote(ctx.config, remote);
    if (all_projects) require_extension(api, "storage_volumes_all_projects");
    const std::string base = "/1.0/storage-pools/" + url_escape(pool) + "/volumes";
    auto volumes = api.get(base + "?recursion=1" + (all_projects ? "&all-projects=true" : ""));
    if (!volumes.is_array()) volumes = json::array();
    const std::vector<std::string> filters(args.positional.begin() + 1, args.positional.end());
    json shown = json::array();
    for (const auto& v : volumes)
        if (matches(v, filters)) shown.push_back(v);

    const auto columns = parse_columns(args.value("columns"), all_projects);
    if (std::any_of(columns.begin(), columns.end(), [](const Column& c) { return c.needs_state; }) &&
        std::any_of(shown.begin(), shown.end(), [](const json& v) {
            return str(v, "name").find('/') == std::string::npos && str(v, "type") != "image";
        }))
        require_extension(api, "storage_volume_state");
    std::vector<Row> rows;
    for (const auto& v : shown) {
        Row row;
        json state;
        for (const auto& c : columns) {
            if (c.needs_state && state.is_null() && str(v, "name").find('/') == std::string::npos &&
                str(v, "type") != "image")
                state = api.get(base + "/" + url_escape(str(v, "type")) + "/" + url_escape(str(v, "name")) + "/state");
            row.push_back(c.data(v, state));
        }
        rows.push_back(std::move(row));
    }
    if (columns.size() >= 2) sort_by_name_and_type(rows);
    Row headers;
    for (const auto& c : columns) headers.push_back(c.header);
    if (format == "json") ctx.out << volume_json(shown, storage_volume_key_order());
    else if (format == "yaml") ctx.out << volume_yaml(shown, storage_volume_key_order());
    else ctx.out << render_table(format, headers, rows, shown);
    return 0;
}

} // namespace

void add_storage_volume_list_command(std::vector<Command>& t) {
    t.push_back({"storage volume list",
                 {"ls"},
                 "[<remote>:]<pool> [<filter>...]",
                 "List storage volumes",
                 1,
                 many,
                 {{"columns", 'c', true, default_columns, "Columns"},
                  {"all-projects", 0, false, "", "All projects"},
                  format_flag()},
                 run_list});
}

} // namespace lodge::cli
