// Reading a simplestreams server: the catalog (index.json, then the
// "image-downloads" products stream) turned into LXD images as LXD's
// shared/simplestreams does, alias resolution, and verified downloads with
// libcurl. Nothing a server publishes is trusted: paths must stay relative,
// sizes and hashes must be well formed, and files must match them.
#include "daemon/images/simplestreams.hpp"

#include "common/sha256.hpp"

#include "common/error.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>

namespace lodge::simplestreams {

namespace {

using nlohmann::json;

// A catalog is a few MiB on the largest public servers.
constexpr std::int64_t max_catalog_bytes = 64 << 20;
// The image store takes files in memory: a published size beyond this is
// refused before anything is downloaded (Debian's rootfs is ~100 MiB).
constexpr std::int64_t max_file_bytes = std::int64_t{4} << 30;


bool is_hex_sha256(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

// A published path is appended to the server URL: it must stay below it.
bool is_safe_path(const std::string& p) {
    if (p.empty() || p.front() == '/' || p.find("://") != std::string::npos) return false;
    if (p.find_first_of("?#\\") != std::string::npos) return false;
    for (char c : p)
        if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return false;
    size_t start = 0;
    while (start <= p.size()) {
        auto slash = p.find('/', start);
        if (slash == std::string::npos) slash = p.size();
        if (p.compare(start, slash - start, "..") == 0 && slash - start == 2) return false;
        start = slash + 1;
    }
    return true;
}

std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "20240101_0000": the creation date LXD 5.0 reads from a version name
// (its first 8 characters); nullopt when it is none.
std::optional<api::Time> version_date(const std::string& name) {
    if (name.size() < 8) return std::nullopt;
    auto digits = [&](size_t at, size_t n) -> int {
        int v = 0;
        for (size_t i = at; i < at + n; ++i) {
            if (name[i] < '0' || name[i] > '9') return -1;
            v = v * 10 + (name[i] - '0');
        }
        return v;
    };
    int y = digits(0, 4), m = digits(4, 2), d = digits(6, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
    std::chrono::sys_days day = std::chrono::year(y) / std::chrono::month(static_cast<unsigned>(m)) /
                                std::chrono::day(static_cast<unsigned>(d));
    return std::chrono::time_point_cast<std::chrono::nanoseconds>(day);
}

std::optional<File> item_file(const json& item) {
    File f;
    f.path = str(item, "path");
    f.sha256 = str(item, "sha256");
    if (item.contains("size") && item["size"].is_number_integer()) f.size = item["size"].get<std::int64_t>();
    if (!is_safe_path(f.path) || !is_hex_sha256(f.sha256) || f.size <= 0) return std::nullopt;
    return f;
}

// The fingerprint the metadata item gives the image with this rootfs.
std::string combined_fingerprint(const json& meta, const std::string& rootfs_type) {
    if (rootfs_type == "squashfs") return str(meta, "combined_squashfs_sha256");
    auto fp = str(meta, "combined_rootxz_sha256");
    return fp.empty() ? str(meta, "combined_sha256") : fp;
}

// The images one product version offers (LXD's Products.ToLXD).
void add_version(const json& product, const std::string& serial, const json& version, std::vector<Image>& out) {
    auto created = version_date(serial);
    if (!created || !version.is_object() || !version.contains("items") || !version["items"].is_object()) return;
    const auto& items = version["items"];
    for (const auto& [_, meta] : items.items()) {
        if (!meta.is_object() || str(meta, "ftype") != "lxd.tar.xz") continue;
        auto meta_file = item_file(meta);
        if (!meta_file) continue;
        for (const auto& [__, root] : items.items()) {
            if (!root.is_object()) continue;
            auto type = str(root, "ftype");
            if (type != "root.tar.xz" && type != "squashfs") continue;
            auto root_file = item_file(root);
            auto fp = combined_fingerprint(meta, type);
            if (!root_file || !is_hex_sha256(fp)) continue;
            Image image;
            image.fingerprint = fp;
            image.product_arch = str(product, "arch");
            image.architecture = lxd_architecture(image.product_arch);
            image.rootfs_type = type;
            image.metadata = *meta_file;
            image.rootfs = *root_file;
            image.created_at = *created;
            // LXD 5.0's wording: "Debian 12 amd64 (20240101_0000)".
            std::string description = str(product, "os") + " " + str(product, "release_title") + " " + image.product_arch;
            if (auto label = str(version, "label"); !label.empty()) description += " (" + label + ")";
            description += " (" + serial + ")";
            image.properties = {{"os", str(product, "os")},         {"release", str(product, "release")},
                                {"version", str(product, "version")}, {"architecture", image.product_arch},
                                {"label", str(version, "label")},   {"serial", serial},
                                {"description", description},       {"variant", str(product, "variant")},
                                {"type", type}};
            if (auto req = product.find("lxd_requirements"); req != product.end() && req->is_object())
                for (const auto& [k, v] : req->items())
                    if (v.is_string()) image.properties["requirements." + k] = v.get<std::string>();
            std::erase_if(image.properties, [](const auto& kv) { return kv.second.empty(); });
            auto aliases = str(product, "aliases");
            for (size_t start = 0; !aliases.empty() && start <= aliases.size();) {
                auto comma = aliases.find(',', start);
                if (comma == std::string::npos) comma = aliases.size();
                auto a = aliases.substr(start, comma - start);
                if (!a.empty()) image.aliases.push_back(a);
                start = comma + 1;
            }
            out.push_back(std::move(image));
        }
    }
}

int type_rank(const std::string& type) {
    const auto& types = supported_rootfs_types();
    auto it = std::find(types.begin(), types.end(), type);
    return it == types.end() ? static_cast<int>(types.size()) : static_cast<int>(it - types.begin());
}

bool supported(const Image& image) { return type_rank(image.rootfs_type) < static_cast<int>(supported_rootfs_types().size()); }

std::once_flag curl_init;

struct Transfer {
    std::string body;
    std::int64_t max_bytes = 0;
    bool too_large = false;
    const ProgressFn* progress = nullptr;
    bool aborted = false;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

size_t on_data(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t bytes = size * n;
    if (static_cast<std::int64_t>(t->body.size() + bytes) > t->max_bytes) {
        t->too_large = true;
        return 0; // aborts the transfer
    }
    t->body.append(data, bytes);
    return bytes;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    if (!t->progress || !*t->progress) return 0;
    Progress p;
    p.done = now;
    p.total = total > 0 ? total : t->max_bytes;
    auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t->started).count();
    if (elapsed > 0.1) p.bytes_per_second = static_cast<std::int64_t>(static_cast<double>(now) / elapsed);
    if (!(*t->progress)(p)) {
        t->aborted = true;
        return 1;
    }
    return 0;
}

std::string join_url(const std::string& server, const std::string& path) {
    return server.back() == '/' ? server + path : server + "/" + path;
}

std::string byte_size(std::int64_t n) {
    if (n < 1000) return std::to_string(n) + "B";
    static const char* units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
    double v = static_cast<double>(n);
    const char* unit = units[0];
    for (const char* u : units) {
        unit = u;
        v /= 1000;
        if (v < 1000) break;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%s", v, unit);
    return buf;
}

} // namespace

// LXD's architecture names for the names Debian and Ubuntu publish.
std::string lxd_architecture(const std::string& name) {
    static const std::map<std::string, std::string> names{
        {"x86_64", "x86_64"},   {"amd64", "x86_64"},   {"i686", "i686"},       {"i386", "i686"},
        {"aarch64", "aarch64"}, {"arm64", "aarch64"},  {"armv7l", "armv7l"},   {"armhf", "armv7l"},
        {"ppc64le", "ppc64le"}, {"ppc64el", "ppc64le"}, {"s390x", "s390x"},    {"riscv64", "riscv64"},
    };
    auto it = names.find(name);
    return it == names.end() ? std::string() : it->second;
}

std::string Image::filename() const { return metadata.path.substr(metadata.path.rfind('/') + 1); }

const std::vector<std::string>& supported_rootfs_types() {
    // squashfs goes first here once ImageStore keeps squashfs rootfs files.
    static const std::vector<std::string> types{"root.tar.xz"};
    return types;
}

std::string host_architecture() {
    struct utsname u {};
    ::uname(&u);
    auto name = lxd_architecture(u.machine);
    return name.empty() ? std::string(u.machine) : name;
}

Catalog::Catalog(std::vector<Image> images) : images_(std::move(images)) {
    std::stable_sort(images_.begin(), images_.end(), [](const Image& a, const Image& b) {
        for (const char* key : {"os", "release", "variant", "serial", "architecture"}) {
            auto pa = a.properties.count(key) ? a.properties.at(key) : "";
            auto pb = b.properties.count(key) ? b.properties.at(key) : "";
            if (pa == pb) continue;
            if (pa.empty() != pb.empty()) return pb.empty(); // unset last
            return std::string(key) == "serial" ? pa > pb : pa < pb;
        }
        return type_rank(a.rootfs_type) < type_rank(b.rootfs_type);
    });
    // LXD's applyAliases: an alias names the first image (in this order)
    // that claims it; only images lodge can store claim any.
    const auto host = host_architecture();
    auto claim = [&](const std::string& name, const Image& image) {
        for (const auto& a : aliases_)
            if (a.name == name) return;
        aliases_.push_back({name, image.fingerprint});
    };
    for (const auto& image : images_) {
        if (!supported(image)) continue;
        for (const auto& a : image.aliases) {
            if (image.architecture == host) claim(a, image);
            claim(a + "/" + image.product_arch, image);
        }
    }
}

const Image* Catalog::by_fingerprint(const std::string& prefix) const {
    if (prefix.empty()) return nullptr;
    const Image* found = nullptr;
    for (const auto& image : images_) {
        if (image.fingerprint.rfind(prefix, 0) != 0) continue;
        if (found && found->fingerprint != image.fingerprint) return nullptr; // ambiguous
        found = &image;
    }
    return found;
}

const Image& Catalog::resolve(const std::string& name) const {
    for (const auto& a : aliases_)
        if (a.name == name) return *by_fingerprint(a.target);
    if (const auto* image = by_fingerprint(name)) return *image;
    throw Error(404, "The image \"" + name + "\" was not found on the server (no such alias or fingerprint for " +
                         host_architecture() + ")");
}

std::vector<std::string> Catalog::aliases_of(const Image& image) const {
    std::vector<std::string> out;
    for (const auto& a : aliases_)
        if (a.target == image.fingerprint) out.push_back(a.name);
    return out;
}

Catalog parse_catalog(const std::string& index_json, const std::function<std::string(const std::string&)>& fetch) {
    json index;
    try {
        index = json::parse(index_json);
    } catch (const json::exception& e) {
        throw Error(502, std::string("The server's streams/v1/index.json is not JSON: ") + e.what());
    }
    if (!index.is_object() || !index.contains("index") || !index["index"].is_object())
        throw Error(502, "The server's streams/v1/index.json has no index: not a simplestreams server");
    std::vector<Image> images;
    for (const auto& [name, entry] : index["index"].items()) {
        if (!entry.is_object() || str(entry, "datatype") != "image-downloads") continue;
        if (!entry.contains("products") || !entry["products"].is_array() || entry["products"].empty()) continue;
        auto path = str(entry, "path");
        if (!is_safe_path(path)) throw Error(502, "The stream \"" + name + "\" has an invalid path \"" + path + "\"");
        json products;
        try {
            products = json::parse(fetch(path));
        } catch (const json::exception& e) {
            throw Error(502, "The server's " + path + " is not JSON: " + e.what());
        }
        if (!products.is_object() || !products.contains("products") || !products["products"].is_object())
            throw Error(502, "The server's " + path + " has no products");
        for (const auto& [key, product] : products["products"].items()) {
            if (!product.is_object() || lxd_architecture(str(product, "arch")).empty()) continue;
            if (!product.contains("versions") || !product["versions"].is_object()) continue;
            for (const auto& [serial, version] : product["versions"].items()) add_version(product, serial, version, images);
        }
    }
    return Catalog(std::move(images));
}

std::string http_get(const std::string& url, std::int64_t max_bytes, const ProgressFn& progress) {
    std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) throw Error(500, "libcurl: cannot create a transfer");
    Transfer t;
    t.max_bytes = max_bytes;
    t.progress = &progress;
    char error[CURL_ERROR_SIZE] = "";
    auto* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    // HTTPS only, redirects included: the catalog is what vouches for the
    // files' hashes, so it must come from the server the CA vouches for.
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    // The tests' CA (and an admin's private one) come this way, as Go's
    // crypto/x509 reads SSL_CERT_FILE for LXD.
    if (const char* ca = std::getenv("SSL_CERT_FILE"); ca && *ca) curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    // A stalled server fails the transfer instead of holding it forever.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "lodge");
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    auto rc = curl_easy_perform(c);
    if (t.aborted) throw Error(400, "Download of " + url + " cancelled");
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED)
        throw Error(502, "Download of " + url + " is larger than the " + std::to_string(max_bytes) + " bytes expected");
    if (rc != CURLE_OK) throw Error(502, "Cannot fetch " + url + ": " + (*error ? error : curl_easy_strerror(rc)));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) throw Error(502, "Cannot fetch " + url + ": HTTP status " + std::to_string(status));
    return std::move(t.body);
}

Catalog fetch_catalog(const std::string& server) {
    if (server.rfind("https://", 0) != 0) throw Error(400, "Only https URLs are supported for simplestreams");
    auto index = http_get(join_url(server, "streams/v1/index.json"), max_catalog_bytes);
    return parse_catalog(index, [&](const std::string& path) { return http_get(join_url(server, path), max_catalog_bytes); });
}

std::string download(const std::string& server, const File& file, const ProgressFn& progress) {
    const auto url = join_url(server, file.path);
    if (file.size > max_file_bytes)
        throw Error(413, "The server publishes " + url + " as " + std::to_string(file.size) +
                             " bytes, more than lodge downloads (" + std::to_string(max_file_bytes) + ")");
    auto data = http_get(url, file.size, progress);
    if (static_cast<std::int64_t>(data.size()) != file.size)
        throw Error(502, "Download of " + url + " is " + std::to_string(data.size()) + " bytes, the server publishes " +
                             std::to_string(file.size));
    auto got = lodge::sha256_hex(data);
    if (got != file.sha256)
        throw Error(502, "Download of " + url + " is corrupt: SHA-256 " + got + ", the server publishes " + file.sha256);
    return data;
}


std::string progress_text(const Progress& p) {
    std::string out;
    const int percent = p.total > 0 ? static_cast<int>(p.done * 100 / p.total) : 0;
    bool any = true;
    if (percent > 0)
        out = std::to_string(percent) + "%";
    else if (p.done > 0)
        out = byte_size(p.done);
    else
        any = false;
    if (p.bytes_per_second > 0)
        out += any ? " (" + byte_size(p.bytes_per_second) + "/s)" : byte_size(p.bytes_per_second) + "/s";
    return out;
}

} // namespace lodge::simplestreams
