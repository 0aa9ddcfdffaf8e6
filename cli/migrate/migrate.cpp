// lodge-migrate, what `lodge migrate [--source DIR] [<remote>:]<name>` runs: a running machine (or a
// root tree mounted somewhere) streamed to a lodge server as a backup
// tarball that becomes an instance, fixed up there as a VM disk import is.
// Pseudo and network filesystems are not copied, only their mount points.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/progress.hpp"
#include "common/file.hpp"
#include "common/path.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <iostream>
#include <ostream>
#include <set>
#include <sstream>

namespace lodge::cli {

namespace {

// What a machine has mounted that is not its data.
bool is_pseudo_or_network(const std::string& type) {
    static const std::set<std::string> types = {
        "proc",    "sysfs",      "devtmpfs",  "devpts",    "tmpfs",      "cgroup",  "cgroup2",   "securityfs",
        "debugfs", "tracefs",    "mqueue",    "hugetlbfs", "pstore",     "bpf",     "fusectl",   "configfs",
        "autofs",  "binfmt_misc", "efivarfs", "nsfs",      "rpc_pipefs", "nfsd",    "nfs",       "nfs4",
        "cifs",    "smb3",       "glusterfs", "ceph",      "fuse.sshfs", "9p",      "virtiofs",  "fuse.lxcfs",
        "ramfs",   "overlay",    "squashfs",  "fuse"};
    return types.count(type) > 0;
}


// Paths under `source` (relative, "proc", "run/user/0") whose contents are
// not copied: the kernel's and the network's filesystems, and what a
// container gets fresh (/proc /sys /dev /run /tmp).
std::set<std::string> skipped_contents(const std::string& source) {
    std::set<std::string> out{"proc", "sys", "dev", "run", "tmp"};
    std::istringstream in(read_file("/proc/self/mountinfo"));
    const std::string prefix = source == "/" ? "/" : source + "/";
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string id, parent, devno, root, point, opts, field;
        f >> id >> parent >> devno >> root >> point >> opts;
        while (f >> field && field != "-") {
        }
        std::string type;
        f >> type;
        point = unescape_octal(point);
        if (point.rfind(prefix, 0) != 0 || point.size() == prefix.size()) continue;
        if (is_pseudo_or_network(type)) out.insert(point.substr(prefix.size()));
    }
    return out;
}

std::string index_yaml(const std::string& name, const std::string& description) {
    YAML::Node index;
    index["name"] = name;
    index["backend"] = "dir";
    index["pool"] = "";
    index["snapshots"] = YAML::Node(YAML::NodeType::Sequence);
    index["optimized"] = false;
    index["type"] = "container";
    YAML::Node c;
    c["name"] = name;
    c["description"] = description;
    c["config"] = YAML::Node(YAML::NodeType::Map);
    c["devices"] = YAML::Node(YAML::NodeType::Map);
    c["profiles"].push_back("default");
    c["ephemeral"] = false;
    index["config"]["container"] = c;
    YAML::Emitter out;
    out << index;
    return std::string(out.c_str()) + "\n";
}

struct Stream {
    const UnixHttpClient::ChunkSink* send = nullptr;
    std::uint64_t bytes = 0;
    bool refused = false;
};

la_ssize_t write_to_server(archive*, void* data, const void* buffer, size_t length) {
    auto* s = static_cast<Stream*>(data);
    if (!(*s->send)(std::string_view(static_cast<const char*>(buffer), length))) {
        s->refused = true;
        return -1;
    }
    s->bytes += length;
    return static_cast<la_ssize_t>(length);
}

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

void check_archive(archive* a, int rc, const std::string& what) {
    if (rc < ARCHIVE_WARN)
        throw Error(what + ": " + (archive_error_string(a) ? archive_error_string(a) : "failed"));
}

// A file's data from the walk into the tarball. A file read_disk found
// holes in carries its sparse map, and pax then takes the data regions one
// after the other; otherwise gaps between blocks are zeroes to write.
void copy_data(archive* disk, archive* w, archive_entry* entry, const std::string& name) {
    const bool sparse = archive_entry_sparse_count(entry) > 0;
    const std::string zeroes(64 * 1024, '\0');
    la_int64_t position = 0;
    const void* buf;
    size_t size;
    la_int64_t offset;
    for (;;) {
        int rc = archive_read_data_block(disk, &buf, &size, &offset);
        if (rc == ARCHIVE_EOF) break;
        check_archive(disk, rc, "reading " + name);
        while (!sparse && position < offset) {
            auto n = std::min<la_int64_t>(offset - position, static_cast<la_int64_t>(zeroes.size()));
            if (archive_write_data(w, zeroes.data(), static_cast<size_t>(n)) < 0) check_archive(w, ARCHIVE_FATAL, "writing " + name);
            position += n;
        }
        if (size > 0 && archive_write_data(w, buf, size) < 0) check_archive(w, ARCHIVE_FATAL, "writing " + name);
        position = offset + static_cast<la_int64_t>(size);
    }
}

// The tarball: backup/index.yaml, then the tree under
// backup/container/rootfs/, streamed to the server as it is read.
void write_tarball(const std::string& source, const std::string& index, Stream& stream,
                   const std::function<void(std::uint64_t files)>& progress) {
    ArchivePtr w(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(w.get());
    archive_write_add_filter_none(w.get());
    archive_write_set_bytes_per_block(w.get(), 1 << 20);
    check_archive(w.get(), archive_write_open2(w.get(), &stream, nullptr, write_to_server, nullptr, nullptr),
                  "starting the stream");
    {
        std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
        archive_entry_set_pathname(e.get(), "backup/index.yaml");
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0600);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(index.size()));
        check_archive(w.get(), archive_write_header(w.get(), e.get()), "writing index.yaml");
        archive_write_data(w.get(), index.data(), index.size());
    }
    const auto skipped = skipped_contents(source);
    ArchivePtr disk(archive_read_disk_new(), archive_read_free);
    archive_read_disk_set_symlink_physical(disk.get());
    archive_read_disk_set_standard_lookup(disk.get());
    check_archive(disk.get(), archive_read_disk_open(disk.get(), source.c_str()), "reading " + source);
    archive_entry_linkresolver* links = archive_entry_linkresolver_new();
    archive_entry_linkresolver_set_strategy(links, archive_format(w.get()));
    std::uint64_t files = 0;
    const std::string prefix = source == "/" ? "/" : source + "/";
    for (;;) {
        archive_entry* entry = archive_entry_new();
        int rc = archive_read_next_header2(disk.get(), entry);
        if (rc == ARCHIVE_EOF) {
            archive_entry_free(entry);
            break;
        }
        if (rc < ARCHIVE_WARN) {
            std::string why = archive_error_string(disk.get()) ? archive_error_string(disk.get()) : "failed";
            archive_entry_free(entry);
            archive_entry_linkresolver_free(links);
            throw Error("reading " + source + ": " + why);
        }
        const std::string path = archive_entry_sourcepath(entry);
        std::string relative = path == source ? "" : path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : path;
        if (!skipped.count(relative) && archive_read_disk_can_descend(disk.get())) archive_read_disk_descend(disk.get());
        if (archive_entry_filetype(entry) == AE_IFSOCK) { // tar cannot hold sockets; programs remake them
            archive_entry_free(entry);
            continue;
        }
        archive_entry_set_pathname(entry, ("backup/container/rootfs/" + relative).c_str());
        archive_entry* sparse = nullptr;
        archive_entry_linkify(links, &entry, &sparse);
        if (entry) {
            check_archive(w.get(), archive_write_header(w.get(), entry), "writing " + relative);
            if (stream.refused) break;
            if (archive_entry_size(entry) > 0 && archive_entry_filetype(entry) == AE_IFREG)
                copy_data(disk.get(), w.get(), entry, relative);
            archive_entry_free(entry);
        }
        if (stream.refused) break;
        if (++files % 512 == 0 && progress) progress(files);
    }
    // Hardlinked files held back by the resolver until their last link.
    archive_entry* entry = nullptr;
    archive_entry* sparse = nullptr;
    for (;;) {
        archive_entry_linkify(links, &entry, &sparse);
        if (!entry) break;
        archive_write_header(w.get(), entry);
        archive_entry_free(entry);
        entry = nullptr;
    }
    archive_entry_linkresolver_free(links);
    if (!stream.refused) archive_write_close(w.get());
    if (progress) progress(files);
}

} // namespace

int run_migrate(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional.at(0));
    if (name.empty()) throw Error("Missing instance name: lodge migrate [--source DIR] [<remote>:]<name>");
    std::string source = args.value("source");
    while (source.size() > 1 && source.back() == '/') source.pop_back();
    if (source.empty() || source[0] != '/') throw Error("--source must be an absolute path");
    if (::access((source + "/etc").c_str(), F_OK) != 0)
        throw Error(source + " does not look like a root filesystem: it has no /etc");
    char host[256] = "";
    ::gethostname(host, sizeof host - 1);
    std::map<std::string, std::string> headers{{"Content-Type", "application/octet-stream"},
                                               {"X-LXD-name", name}};
    std::string options = "fixups";
    if (args.has("keep-network")) options += ",keep-network";
    if (args.has("keep-machine-id")) options += ",keep-machine-id";
    headers["X-Lodge-Migrate"] = options;
    if (!args.value("storage").empty()) headers["X-LXD-pool"] = args.value("storage");
    const auto index = index_yaml(name, std::string("migrated from ") + host + ":" + source);

    auto api = connect_remote(ctx.config, remote);
    const bool tty = ::isatty(1);
    const auto start = std::chrono::steady_clock::now();
    Stream stream;
    std::size_t shown = 0;
    auto answer = api.send_chunked("POST", "/1.0/instances", headers, [&](const UnixHttpClient::ChunkSink& send) {
        stream.send = &send;
        write_tarball(source, index, stream, [&](std::uint64_t files) {
            if (!tty) return;
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            char line[160];
            std::snprintf(line, sizeof line, "Sending the root filesystem: %llu files, %.1fMB (%.2fMB/s)",
                          static_cast<unsigned long long>(files), stream.bytes / 1e6,
                          seconds > 0 ? stream.bytes / seconds / 1e6 : 0.0);
            ctx.out << "\r" << line << std::flush;
            shown = std::max(shown, std::strlen(line));
        });
    });
    if (shown) ctx.out << "\r" << std::string(shown, ' ') << "\r" << std::flush;
    wait_with_progress(ctx, api, answer, "Creating " + name);
    ctx.out << "Instance " << name << " created from " << source << "; start it with: lodge start "
            << (remote == ctx.config.default_remote ? "" : remote + ":") << name << "\n";
    return 0;
}

} // namespace lodge::cli

// lodge-migrate: `lodge migrate` runs it (it alone links libarchive, so
// every other lodge command starts without it).
int main(int argc, char** argv) {
    std::vector<std::string> args{"migrate"};
    args.insert(args.end(), argv + 1, argv + argc);
    std::vector<lodge::cli::Command> table{lodge::cli::migrate_command(lodge::cli::run_migrate)};
    return lodge::cli::run_cli_with(table, args, std::cout, std::cerr);
}
