// `lodge image list/import/info/delete` and `lodge image alias
// create/delete/list`: the image store (/1.0/images), printed as lxc 5.0.2
// prints it.
#include "api/time.hpp"
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "cli/simplestreams_remote.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <ctime>
#include <unistd.h>

namespace lodge::cli {

namespace {

using nlohmann::json;

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string megabytes(const json& image) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2fMB", static_cast<double>(image.value("size", std::int64_t{0})) / 1024.0 / 1024.0);
    return buf;
}

// Go's time.Time.UTC().Format(layout) for the two layouts lxc uses here.
std::string format_utc(const std::string& rfc3339, bool list_layout) {
    api::Time t{};
    if (!api::parse_time(rfc3339, t)) return rfc3339;
    auto secs = static_cast<std::time_t>(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    if (!list_layout) {
        std::strftime(buf, sizeof buf, "%Y/%m/%d %H:%M UTC", &tm);
        return buf;
    }
    // "Jan 2, 2006 at 3:04pm (MST)"
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int hour = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
    std::snprintf(buf, sizeof buf, "%s %d, %d at %d:%02d%s (UTC)", months[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900,
                  hour, tm.tm_min, tm.tm_hour < 12 ? "am" : "pm");
    return buf;
}

// shared.TimeIsSet: neither Go's zero time nor at or before the epoch.
bool time_is_set(const std::string& rfc3339) {
    api::Time t{};
    return api::parse_time(rfc3339, t) && t.time_since_epoch().count() > 0;
}

const KeyOrder& image_key_order() {
    static const KeyOrder order{
        {"[]",
         {"auto_update", "properties", "public", "expires_at", "profiles", "aliases", "architecture", "cached",
          "filename", "fingerprint", "size", "update_source", "type", "created_at", "last_used_at", "uploaded_at"}},
        {"[].aliases[]", {"name", "description"}},
    };
    return order;
}

const KeyOrder& alias_key_order() {
    static const KeyOrder order{{"[]", {"description", "target", "name", "type"}}};
    return order;
}

// Go's encoding/json writes struct fields in declaration order; nlohmann
// sorts them. Objects named in `order` get Go's order (maps stay sorted).
nlohmann::ordered_json go_order(const json& v, const KeyOrder& order, const std::string& path = "") {
    if (v.is_array()) {
        auto out = nlohmann::ordered_json::array();
        for (const auto& e : v) out.push_back(go_order(e, order, path + "[]"));
        return out;
    }
    if (!v.is_object()) return nlohmann::ordered_json(v);
    auto out = nlohmann::ordered_json::object();
    auto it = order.find(path);
    if (it != order.end())
        for (const auto& key : it->second)
            if (v.contains(key)) out[key] = go_order(v[key], order, path + (path.empty() ? "" : ".") + key);
    for (const auto& [key, value] : v.items())
        if (!out.contains(key)) out[key] = go_order(value, order, path + (path.empty() ? "" : ".") + key);
    return out;
}

// The rendering of a list verb: json in Go's field order; yaml with the
// image timestamps bare, as yaml.v2 writes a time.Time (a string that looks
// like one would be quoted).
std::string render_images(const std::string& format, const Row& headers, const std::vector<Row>& rows,
                          const json& raw, const KeyOrder& order) {
    if (format == "json") return go_order(raw, order).dump() + "\n";
    auto out = render_table(format, headers, rows, raw, order);
    if (format != "yaml") return out;
    std::string fixed;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        for (const char* key : {"expires_at", "created_at", "last_used_at", "uploaded_at"}) {
            auto prefix = std::string("  ") + key + ": \"";
            if (line.rfind(prefix, 0) == 0 && line.size() > prefix.size() && line.back() == '"')
                line = std::string("  ") + key + ": " + line.substr(prefix.size(), line.size() - prefix.size() - 1);
        }
        fixed += line + "\n";
    }
    return fixed;
}

// The remote of the first argument ("remote:" or "remote:filter"), the
// filters left.
std::pair<std::string, std::vector<std::string>> remote_and_filters(Context& ctx, const Args& args) {
    std::string remote = ctx.config.default_remote;
    std::vector<std::string> filters = args.positional;
    if (!filters.empty() && filters[0].find(':') != std::string::npos && filters[0].find('=') == std::string::npos) {
        auto [r, name] = parse_remote(ctx.config, filters[0]);
        remote = r;
        filters.erase(filters.begin());
        if (!name.empty()) filters.insert(filters.begin(), name);
    }
    return {remote, filters};
}

// lxc's imageShouldShow: every filter must match; key=value compares a
// property, anything else is a substring of an alias or the fingerprint.
bool image_matches(const json& image, const std::vector<std::string>& filters) {
    for (const auto& f : filters) {
        bool found = false;
        if (auto eq = f.find('='); eq != std::string::npos) {
            auto props = image.value("properties", json::object());
            auto key = f.substr(0, eq);
            found = props.is_object() && props.contains(key) && props[key] == f.substr(eq + 1);
        } else {
            for (const auto& a : image.value("aliases", json::array()))
                if (a.value("name", "").find(f) != std::string::npos) found = true;
            if (image.value("fingerprint", "").find(f) != std::string::npos) found = true;
        }
        if (!found) return false;
    }
    return true;
}

// lxc shows the shortest alias, and how many more there are.
std::string alias_column(const json& image) {
    std::string shortest;
    auto aliases = image.value("aliases", json::array());
    for (const auto& a : aliases) {
        auto name = a.value("name", "");
        if (shortest.empty() || (!name.empty() && name.size() < shortest.size())) shortest = name;
    }
    if (aliases.size() > 1) shortest += " (" + std::to_string(aliases.size() - 1) + " more)";
    return shortest;
}

int run_list(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    auto [remote, filters] = remote_and_filters(ctx, args);
    const auto& r = ctx.config.remotes.at(remote);
    auto images = r.protocol == "simplestreams" ? simplestreams_images(r)
                                                : connect_remote(ctx.config, remote).get("/1.0/images?recursion=1");
    json shown = json::array();
    std::vector<Row> rows;
    for (const auto& image : images.is_array() ? images : json::array()) {
        if (!image_matches(image, filters)) continue;
        shown.push_back(image);
        auto props = image.value("properties", json::object());
        auto type = image.value("type", "");
        rows.push_back({alias_column(image), image.value("fingerprint", "").substr(0, 12),
                        image.value("public", false) ? "yes" : "no",
                        props.is_object() ? props.value("description", "") : "", image.value("architecture", ""),
                        type.empty() ? "CONTAINER" : upper(type), megabytes(image),
                        format_utc(image.value("uploaded_at", ""), true)});
    }
    // lxc sorts by every column naturally; the first decides but for
    // images without aliases, which the fingerprint then orders.
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a[1] < b[1]; });
    sort_by_name(rows);
    ctx.out << render_images(format,
                            {"ALIAS", "FINGERPRINT", "PUBLIC", "DESCRIPTION", "ARCHITECTURE", "TYPE", "SIZE",
                             "UPLOAD DATE"},
                            rows, shown, image_key_order());
    return 0;
}

// An alias' target, or the name itself (a fingerprint or prefix), as
// lxc's dereferenceAlias does.
std::string dereference(ApiClient& api, const std::string& name) {
    try {
        return api.get("/1.0/images/aliases/" + url_escape(name)).value("target", name);
    } catch (const Error&) {
        return name;
    }
}

// The image object an argument names, from an LXD server or from a
// simplestreams server's catalog.
json named_image(Context& ctx, const std::string& arg) {
    auto [remote, name] = parse_remote(ctx.config, arg);
    const auto& r = ctx.config.remotes.at(remote);
    if (r.protocol == "simplestreams") return simplestreams_image(r, name);
    auto api = connect_remote(ctx.config, remote);
    return api.get("/1.0/images/" + url_escape(dereference(api, name)));
}

int run_info(Context& ctx, const Args& args) {
    auto image = named_image(ctx, args.positional[0]);
    std::ostringstream out;
    auto type = image.value("type", "");
    out << "Fingerprint: " << image.value("fingerprint", "") << "\n"
        << "Size: " << megabytes(image) << "\n"
        << "Architecture: " << image.value("architecture", "") << "\n"
        << "Type: " << (type.empty() ? "container" : type) << "\n"
        << "Public: " << (image.value("public", false) ? "yes" : "no") << "\n"
        << "Timestamps:\n";
    if (time_is_set(image.value("created_at", "")))
        out << "    Created: " << format_utc(image.value("created_at", ""), false) << "\n";
    out << "    Uploaded: " << format_utc(image.value("uploaded_at", ""), false) << "\n";
    if (time_is_set(image.value("expires_at", "")))
        out << "    Expires: " << format_utc(image.value("expires_at", ""), false) << "\n";
    else
        out << "    Expires: never\n";
    if (time_is_set(image.value("last_used_at", "")))
        out << "    Last used: " << format_utc(image.value("last_used_at", ""), false) << "\n";
    else
        out << "    Last used: never\n";
    out << "Properties:\n";
    // lxc walks a Go map (any order); sorted here.
    auto props = image.value("properties", json::object());
    for (const auto& [k, v] : props.is_object() ? props.items() : json::object().items())
        out << "    " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    out << "Aliases:\n";
    for (const auto& a : image.value("aliases", json::array())) {
        auto desc = a.value("description", "");
        out << "    - " << a.value("name", "") << (desc.empty() ? "" : " (" + desc + ")") << "\n";
    }
    out << "Cached: " << (image.value("cached", false) ? "yes" : "no") << "\n"
        << "Auto update: " << (image.value("auto_update", false) ? "enabled" : "disabled") << "\n";
    auto profiles = image.value("profiles", json::array());
    if (profiles.empty()) {
        out << "Profiles: []\n";
    } else {
        out << "Profiles:\n";
        for (const auto& p : profiles) out << "    - " << p.get<std::string>() << "\n";
    }
    ctx.out << out.str();
    return 0;
}

// lxc image show: the image's writable part (api.ImagePut) as YAML.
int run_show(Context& ctx, const Args& args) {
    auto image = named_image(ctx, args.positional[0]);
    json put = json::object();
    for (const char* key : {"auto_update", "properties", "public", "expires_at", "profiles"})
        put[key] = image.contains(key) ? image[key] : json(nullptr);
    // yaml.v2 writes a nil slice as [] (a simplestreams image has none).
    if (put["profiles"].is_null()) put["profiles"] = json::array();
    KeyOrder order{{"", {"auto_update", "properties", "public", "expires_at", "profiles"}}};
    auto yaml = to_yaml(put, order);
    // yaml.v2 writes a time.Time bare.
    const std::string quoted = "expires_at: \"";
    if (auto at = yaml.find("\n" + quoted); at != std::string::npos) {
        auto end = yaml.find("\"\n", at + 1 + quoted.size());
        if (end != std::string::npos) {
            yaml.erase(end, 1);
            yaml.erase(at + 1 + quoted.size() - 1, 1);
        }
    }
    ctx.out << yaml;
    return 0;
}

std::string read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("open " + path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}


// lxc's ensureImageAliases: aliases of these names move to the image.
void point_aliases(ApiClient& api, const std::vector<std::string>& names, const std::string& fingerprint) {
    if (names.empty()) return;
    auto existing = api.get("/1.0/images/aliases?recursion=1");
    for (const auto& name : names) {
        for (const auto& a : existing.is_array() ? existing : json::array())
            if (a.value("name", "") == name) api.query("DELETE", "/1.0/images/aliases/" + url_escape(name));
        api.query("POST", "/1.0/images/aliases", {{"description", ""}, {"name", name}, {"target", fingerprint}});
    }
}

// The repeatable --alias flag arrives as one value per occurrence joined
// by '\n' (see dispatch); empty when not given.
std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

int run_import(Context& ctx, const Args& args) {
    std::string file, rootfs_file;
    std::string remote = ctx.config.default_remote;
    std::vector<std::string> properties;
    for (const auto& a : args.positional) {
        if (a.find('=') != std::string::npos)
            properties.push_back(a);
        else if (!a.empty() && a.back() == ':')
            remote = parse_remote(ctx.config, a).first;
        else if (file.empty())
            file = a;
        else if (rootfs_file.empty())
            rootfs_file = a;
        else
            throw Error("Too many image files: give one unified tarball, or a metadata and a rootfs tarball");
    }
    if (file.empty()) throw Error("Missing image file");
    auto data = read_whole_file(file);
    std::map<std::string, std::string> headers{{"Content-Type", "application/octet-stream"},
                                               {"X-LXD-filename", std::filesystem::path(file).filename().string()}};
    if (!rootfs_file.empty()) {
        // A split image goes as multipart: metadata, then rootfs (as lxc sends it).
        const std::string boundary = "lodge-image-" + std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr));
        auto part = [&](const std::string& name, const std::string& path, const std::string& content) {
            return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" +
                   std::filesystem::path(path).filename().string() +
                   "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + "\r\n";
        };
        data = part("metadata", file, data) + part("rootfs", rootfs_file, read_whole_file(rootfs_file)) + "--" +
               boundary + "--\r\n";
        headers["Content-Type"] = "multipart/form-data; boundary=" + boundary;
    }
    if (args.has("public")) headers["X-LXD-public"] = "true";
    if (!properties.empty()) {
        std::map<std::string, std::string> sorted;
        for (const auto& p : properties) sorted[p.substr(0, p.find('='))] = p.substr(p.find('=') + 1);
        std::string encoded;
        for (const auto& [k, v] : sorted) encoded += (encoded.empty() ? "" : "&") + form_escape(k) + "=" + form_escape(v);
        headers["X-LXD-properties"] = encoded;
    }
    auto api = connect_remote(ctx.config, remote);
    auto op = api.wait(api.send_raw("POST", "/1.0/images", data, headers));
    auto fingerprint = op.value("metadata", json::object()).value("fingerprint", "");
    ctx.out << "Image imported with fingerprint: " << fingerprint << "\n";
    point_aliases(api, split_lines(args.value("alias")), fingerprint);
    return 0;
}

// lxc image copy from a simplestreams remote: lodge resolves the alias in
// the server's catalog, then the target server pulls by fingerprint.
int run_copy(Context& ctx, const Args& args) {
    auto [source_remote, name] = parse_remote(ctx.config, args.positional[0]);
    auto target = args.positional[1];
    if (target.find(':') == std::string::npos) target += ":";
    auto [target_remote, rest] = parse_remote(ctx.config, target);
    if (!rest.empty()) throw Error("The target must be a remote (\"" + target_remote + ":\"), not an image name");
    const auto& source = ctx.config.remotes.at(source_remote);
    if (source.protocol != "simplestreams")
        throw Error("Copying images from \"" + source_remote +
                    "\" is not supported: lodge copies from simplestreams servers (export and import the image instead)");
    if (name.empty()) throw Error("Missing the image to copy (" + source_remote + ":ALIAS)");
    const auto image = simplestreams_image(source, name);
    const auto fingerprint = image.value("fingerprint", "");
    json pull = {{"type", "image"},       {"mode", "pull"},
                 {"server", source.addr}, {"protocol", "simplestreams"},
                 {"fingerprint", fingerprint}};
    // The alias it was asked by is what an auto-update follows.
    if (fingerprint.rfind(name, 0) != 0) pull["alias"] = name;
    json body = {{"source", pull}, {"auto_update", args.has("auto-update")}, {"public", args.has("public")}};
    auto api = connect_remote(ctx.config, target_remote);
    wait_with_progress(ctx, api, api.query("POST", "/1.0/images", body), "Copying the image");
    auto aliases = split_lines(args.value("alias"));
    if (args.has("copy-aliases"))
        for (const auto& a : image["aliases"]) aliases.push_back(a.value("name", ""));
    point_aliases(api, aliases, fingerprint);
    ctx.out << "Image copied successfully!\n";
    return 0;
}

int run_delete(Context& ctx, const Args& args) {
    for (const auto& arg : args.positional) {
        auto [remote, name] = parse_remote(ctx.config, arg);
        auto api = connect_remote(ctx.config, remote);
        auto fp = dereference(api, name);
        api.wait(api.query("DELETE", "/1.0/images/" + url_escape(fp)));
    }
    return 0;
}

int run_alias_create(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    auto api = connect_remote(ctx.config, remote);
    api.query("POST", "/1.0/images/aliases",
              {{"description", args.value("description")}, {"name", name}, {"target", args.positional[1]}});
    return 0;
}

int run_alias_delete(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    connect_remote(ctx.config, remote).query("DELETE", "/1.0/images/aliases/" + url_escape(name));
    return 0;
}

int run_alias_list(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    auto [remote, filters] = remote_and_filters(ctx, args);
    auto aliases = connect_remote(ctx.config, remote).get("/1.0/images/aliases?recursion=1");
    json shown = json::array();
    std::vector<Row> rows;
    for (const auto& a : aliases.is_array() ? aliases : json::array()) {
        // lxc's aliasShouldShow: any filter in the name or the target.
        bool show = filters.empty();
        for (const auto& f : filters)
            if (a.value("name", "").find(f) != std::string::npos || a.value("target", "").find(f) != std::string::npos)
                show = true;
        if (!show) continue;
        shown.push_back(a);
        auto type = a.value("type", "");
        rows.push_back({a.value("name", ""), a.value("target", "").substr(0, 12),
                        type.empty() ? "CONTAINER" : upper(type), a.value("description", "")});
    }
    sort_by_name(rows);
    ctx.out << render_images(format, {"ALIAS", "FINGERPRINT", "TYPE", "DESCRIPTION"}, rows, shown, alias_key_order());
    return 0;
}

} // namespace

void add_image_commands(std::vector<Command>& t) {
    t.push_back({"image list", {"ls"}, "[<remote>:] [<filter>...]", "List images", 0, many, {format_flag()}, run_list});
    t.push_back({"image import",
                 {},
                 "<tarball>|<metadata tarball> [<rootfs tarball>] [<remote>:] [key=value...]",
                 "Import images into the image store",
                 1,
                 many,
                 {{"alias", 0, true, "", "New aliases to add to the image", true},
                  {"public", 0, false, "", "Make image public"}},
                 run_import});
    t.push_back({"image copy",
                 {"cp"},
                 "[<remote>:]<image> <remote>:",
                 "Copy images between servers",
                 2,
                 2,
                 {{"alias", 0, true, "", "New aliases to add to the image", true},
                  {"auto-update", 0, false, "", "Keep the image up to date after initial copy"},
                  {"copy-aliases", 0, false, "", "Copy aliases from source"},
                  {"public", 0, false, "", "Make image public"}},
                 run_copy});
    t.push_back({"image info", {}, "[<remote>:]<image>", "Show useful information about images", 1, 1, {}, run_info});
    t.push_back({"image show", {}, "[<remote>:]<image>", "Show image properties", 1, 1, {}, run_show});
    t.push_back({"image delete", {"rm"}, "[<remote>:]<image> [[<remote>:]<image>...]", "Delete images", 1, many, {},
                 run_delete});
    t.push_back({"image alias create", {}, "[<remote>:]<alias> <fingerprint>", "Create aliases for existing images", 2, 2,
                 {{"description", 0, true, "", "Image alias description"}}, run_alias_create});
    t.push_back({"image alias delete", {"rm"}, "[<remote>:]<alias>", "Delete image aliases", 1, 1, {}, run_alias_delete});
    t.push_back({"image alias list", {"ls"}, "[<remote>:] [<filters>...]", "List image aliases", 0, many, {format_flag()},
                 run_alias_list});
}

} // namespace lodge::cli
