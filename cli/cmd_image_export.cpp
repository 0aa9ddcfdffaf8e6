// `lodge image export [<remote>:]<image> [<target>]`: the image's file(s)
// written where `lxc image export` writes them — TARGET (plus TARGET.root
// for a split image's rootfs), or the server's file names inside a
// directory target, or TARGET.<extension> for a unified image.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <ostream>

namespace lodge::cli {

namespace {

struct Part {
    std::string name, filename, data;
};

// The value of `key="..."` (or key=...) in a header like Content-Disposition.
std::string header_param(const std::string& header, const std::string& key) {
    for (size_t pos = 0; (pos = header.find(key + "=", pos)) != std::string::npos; pos += key.size()) {
        if (pos > 0 && header[pos - 1] != ' ' && header[pos - 1] != ';') continue;
        auto start = pos + key.size() + 1;
        if (start < header.size() && header[start] == '"') {
            auto end = header.find('"', start + 1);
            return header.substr(start + 1, end == std::string::npos ? std::string::npos : end - start - 1);
        }
        auto end = header.find(';', start);
        return header.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    return "";
}

// A multipart/form-data body (a split image's metadata and rootfs).
std::vector<Part> multipart_parts(const std::string& content_type, const std::string& body) {
    const auto boundary = "--" + header_param(content_type, "boundary");
    if (boundary == "--") throw Error("The server sent a multipart answer without a boundary");
    std::vector<Part> parts;
    size_t pos = body.find(boundary);
    while (pos != std::string::npos) {
        pos += boundary.size();
        if (body.compare(pos, 2, "--") == 0) break;
        auto headers_end = body.find("\r\n\r\n", pos);
        if (headers_end == std::string::npos) throw Error("Malformed multipart answer from the server");
        const auto headers = body.substr(pos, headers_end - pos);
        auto next = body.find("\r\n" + boundary, headers_end + 4);
        if (next == std::string::npos) throw Error("Malformed multipart answer from the server");
        parts.push_back({header_param(headers, "name"), header_param(headers, "filename"),
                         body.substr(headers_end + 4, next - headers_end - 4)});
        pos = next + 2;
    }
    return parts;
}

bool is_dir(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void write_file(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) throw Error("Cannot write " + path);
}

void rename_file(const std::string& from, const std::string& to) {
    if (std::rename(from.c_str(), to.c_str()) != 0) throw Error("Cannot rename " + from + " to " + to);
}

int run_export(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    auto api = connect_remote(ctx.config, remote);
    // An alias or a fingerprint prefix, as lxc's dereferencing accepts.
    std::string fingerprint = name;
    try {
        fingerprint = api.get("/1.0/images/aliases/" + url_escape(name)).value("target", name);
    } catch (const Error&) {
    }
    fingerprint = api.get("/1.0/images/" + url_escape(fingerprint)).value("fingerprint", fingerprint);
    auto reply = api.raw("GET", "/1.0/images/" + url_escape(fingerprint) + "/export");

    const std::string target = args.positional.size() > 1 ? args.positional[1] : ".";
    std::string meta_path = fingerprint;
    if (args.positional.size() > 1) meta_path = is_dir(target) ? target + "/" + fingerprint : target;
    const auto rootfs_path = meta_path + ".root";
    std::string meta_name, rootfs_name, rootfs_data;
    const auto type = reply.headers.count("content-type") ? reply.headers.at("content-type") : "";
    if (type.rfind("multipart/form-data", 0) == 0) {
        for (auto& p : multipart_parts(type, reply.body)) {
            if (p.name == "metadata") {
                meta_name = p.filename;
                write_file(meta_path, p.data);
            } else if (p.name == "rootfs" || p.name == "rootfs.img") {
                rootfs_name = p.filename;
                rootfs_data = std::move(p.data);
            }
        }
        write_file(rootfs_path, rootfs_data);
    } else {
        auto disposition = reply.headers.count("content-disposition") ? reply.headers.at("content-disposition") : "";
        meta_name = header_param(disposition, "filename");
        write_file(meta_path, reply.body);
    }
    if (is_dir(target)) {
        if (!meta_name.empty()) rename_file(meta_path, target + "/" + meta_name);
        if (!rootfs_data.empty() && !rootfs_name.empty()) rename_file(rootfs_path, target + "/" + rootfs_name);
    } else if (rootfs_data.empty() && args.positional.size() > 1) {
        auto dot = meta_name.find('.');
        if (dot != std::string::npos && dot + 1 < meta_name.size())
            rename_file(meta_path, meta_path + "." + meta_name.substr(dot + 1));
    }
    // lxc's last line (after its progress, which is left out here).
    ctx.out << "Image exported successfully!\n";
    return 0;
}

} // namespace

void add_image_export_commands(std::vector<Command>& t) {
    t.push_back({"image export", {}, "[<remote>:]<image> [<target>]", "Export and download images", 1, 2, {},
                 run_export});
}

} // namespace lodge::cli
