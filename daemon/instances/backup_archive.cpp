// Writing and reading backup tarballs with libarchive (see
// backup_archive.hpp). Reading trusts nothing: the names, types, links and
// sizes of entries are checked with the image store's rules on both
// passes, and the second pass writes only inside a chroot.
#include "daemon/instances/backup_archive.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "daemon/images/entries.hpp"
#include "daemon/images/publish.hpp"
#include "daemon/instances/instances.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <thread>

namespace lodge::daemon {

namespace {

constexpr std::int64_t max_index_bytes = 1 << 20;

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;
using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

// Runs f in a thread of its own whose root is dir_fd (unshare(CLONE_FS)
// keeps the chroot to that thread).
template <typename F>
void chrooted(int dir_fd, F&& f) {
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            if (::unshare(CLONE_FS) != 0) throw_errno("unshare(CLONE_FS)");
            if (::fchdir(dir_fd) != 0) throw_errno("fchdir to the volume");
            if (::chroot(".") != 0) throw_errno("chroot to the volume");
            f();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure) std::rethrow_exception(failure);
}

// ---- writing ----

la_ssize_t write_fd(archive* a, void* self, const void* buf, size_t n) {
    const int fd = *static_cast<int*>(self);
    for (size_t done = 0; done < n;) {
        auto w = ::write(fd, static_cast<const char*>(buf) + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            archive_set_error(a, errno, "writing the backup: %s", std::strerror(errno));
            return -1;
        }
        done += static_cast<size_t>(w);
    }
    return static_cast<la_ssize_t>(n);
}

void check(archive* a, int rc, const std::string& what) {
    if (rc < ARCHIVE_WARN)
        throw Error(500, "Writing the backup at " + what + ": " +
                             (archive_error_string(a) ? archive_error_string(a) : "failed"));
}


void write_plain(archive* w, const std::string& name, const std::string& data, unsigned mode, bool dir) {
    EntryPtr e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e.get(), mode);
    archive_entry_set_size(e.get(), dir ? 0 : static_cast<la_int64_t>(data.size()));
    archive_entry_set_mtime(e.get(), ::time(nullptr), 0);
    check(w, archive_write_header(w, e.get()), name);
    if (!dir && archive_write_data(w, data.data(), data.size()) < 0) check(w, ARCHIVE_FATAL, name);
}

// Adds the tree `top` of the current (chrooted) root under prefix.
void write_tree(archive* w, archive_entry_linkresolver* links, const char* top, const std::string& prefix) {
    ArchivePtr disk(archive_read_disk_new(), archive_read_free);
    archive_read_disk_set_symlink_physical(disk.get());
    archive_read_disk_set_behavior(disk.get(), ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
    if (archive_read_disk_open(disk.get(), top) != ARCHIVE_OK)
        throw Error(500, std::string("Backing up ") + top + ": " + archive_error_string(disk.get()));
    EntryPtr entry(archive_entry_new(), archive_entry_free);
    static const std::string zeros(1 << 16, '\0');
    for (;;) {
        archive_entry_clear(entry.get());
        int rc = archive_read_next_header2(disk.get(), entry.get());
        if (rc == ARCHIVE_EOF) break;
        const std::string name = archive_entry_pathname(entry.get()) ? archive_entry_pathname(entry.get()) : top;
        if (rc < ARCHIVE_WARN) throw Error(500, "Backing up '" + name + "': " + archive_error_string(disk.get()));
        archive_read_disk_descend(disk.get());
        if (archive_entry_filetype(entry.get()) == AE_IFSOCK) continue;
        const auto full = prefix + "/" + name;
        archive_entry_set_pathname(entry.get(), full.c_str());
        archive_entry* e = entry.get();
        archive_entry* spare = nullptr;
        archive_entry_linkify(links, &e, &spare);
        check(w, archive_write_header(w, e), "'" + full + "'");
        if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 && !archive_entry_hardlink(e)) {
            const void* buf;
            size_t size;
            la_int64_t offset, written = 0;
            int d;
            auto put = [&](const void* data, size_t n) {
                if (archive_write_data(w, data, n) < 0) check(w, ARCHIVE_FATAL, "'" + full + "'");
                written += static_cast<la_int64_t>(n);
            };
            // Holes of sparse files come as jumps in the offset: written as zeros.
            while ((d = archive_read_data_block(disk.get(), &buf, &size, &offset)) == ARCHIVE_OK) {
                while (written < offset)
                    put(zeros.data(), static_cast<size_t>(std::min<la_int64_t>(offset - written, zeros.size())));
                put(buf, size);
            }
            while (d == ARCHIVE_EOF && written < archive_entry_size(e))
                put(zeros.data(),
                    static_cast<size_t>(std::min<la_int64_t>(archive_entry_size(e) - written, zeros.size())));
            if (d != ARCHIVE_EOF) throw Error(500, "Backing up '" + full + "': " + archive_error_string(disk.get()));
        }
        check(w, archive_write_finish_entry(w), "'" + full + "'");
    }
}

// Which of a volume's parts exist: rootfs/ and templates/ must be
// directories and metadata.yaml a file, never symlinks to elsewhere.
std::vector<const char*> volume_parts(int dir_fd, const std::string& dir) {
    std::vector<const char*> parts;
    for (const char* name : {"metadata.yaml", "rootfs", "templates"}) {
        struct stat st {};
        if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            throw_errno(std::string("stat ") + dir + "/" + name);
        }
        const bool file = std::string(name) == "metadata.yaml";
        if (file ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode))
            throw Error(500, dir + "/" + name + " is not a " + (file ? "file" : "directory"));
        parts.push_back(name);
    }
    if (std::find_if(parts.begin(), parts.end(), [](const char* p) { return std::string(p) == "rootfs"; }) ==
        parts.end())
        throw Error(500, "The volume " + dir + " has no rootfs");
    return parts;
}

// ---- reading ----

struct Reader {
    Reader() : a(archive_read_new(), archive_read_free) {
        // Only what libarchive decompresses itself: no external programs.
        for (auto add : {archive_read_support_filter_gzip, archive_read_support_filter_bzip2,
                         archive_read_support_filter_xz, archive_read_support_filter_zstd,
                         archive_read_support_filter_lzma})
            add(a.get());
        archive_read_support_format_tar(a.get());
    }
    std::string error() const {
        const char* e = archive_error_string(a.get());
        return e ? e : "unknown error";
    }
    ArchivePtr a;
};

void open_reader(Reader& r, int fd) {
    if (::lseek(fd, 0, SEEK_SET) != 0) throw_errno("seek the backup");
    if (archive_read_open_fd(r.a.get(), fd, 1 << 17) != ARCHIVE_OK)
        throw Error(400, "The backup is not a tarball: " + r.error());
}

// "a/./b/" -> "a/b"; nullopt for absolute names and "..".
std::optional<std::string> clean(const std::string& raw) {
    if (!raw.empty() && raw.front() == '/') return std::nullopt;
    std::string out;
    size_t start = 0;
    while (start <= raw.size()) {
        auto slash = raw.find('/', start);
        if (slash == std::string::npos) slash = raw.size();
        const auto part = raw.substr(start, slash - start);
        start = slash + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") return std::nullopt;
        out += (out.empty() ? "" : "/") + part;
    }
    return out;
}

// Where an entry belongs: the volume ("container", "snapshots/<snap>",
// "" for none) and its path inside the volume ("" for ignored entries).
struct Target {
    std::string name;   // the cleaned entry name
    std::string volume;
    std::string rel;
    bool index = false;
    bool optimized = false;
    bool structural = false; // backup/, backup/container, backup/snapshots, backup/snapshots/<snap>
};

Target classify(const std::string& raw) {
    auto name = clean(raw);
    if (!name) throw Error(400, "Backup entry '" + raw + "' leaves the backup");
    Target t;
    t.name = *name;
    const auto& n = t.name;
    if (n == "backup" || n == "backup/container" || n == "backup/snapshots") {
        t.structural = true;
        return t;
    }
    if (n == "backup/index.yaml") {
        t.index = true;
        return t;
    }
    if (n == "backup/container.bin" || (n.rfind("backup/snapshots/", 0) == 0 && n.size() > 4 &&
                                        n.compare(n.size() - 4, 4, ".bin") == 0 &&
                                        n.find('/', 17) == std::string::npos)) {
        t.optimized = true;
        return t;
    }
    std::string rest;
    if (n.rfind("backup/container/", 0) == 0) {
        t.volume = "container";
        rest = n.substr(17);
    } else if (n.rfind("backup/snapshots/", 0) == 0) {
        auto snap_end = n.find('/', 17);
        const auto snap = n.substr(17, snap_end == std::string::npos ? std::string::npos : snap_end - 17);
        try {
            check_snapshot_name(snap);
        } catch (const Error&) {
            throw Error(400, "Backup entry '" + raw + "' names an invalid snapshot \"" + snap + "\"");
        }
        t.volume = "snapshots/" + snap;
        if (snap_end == std::string::npos) {
            t.structural = true;
            return t;
        }
        rest = n.substr(snap_end + 1);
    } else {
        return t; // not part of a backup: left out
    }
    auto rel = unified_target(rest);
    if (!rel) throw Error(400, "Backup entry '" + raw + "' leaves the backup");
    t.rel = *rel;
    return t;
}

// The checks both passes make of one entry; returns its target.
Target checked(archive_entry* entry, SymlinkGuard& symlinks) {
    const char* raw = archive_entry_pathname(entry);
    auto t = classify(raw ? raw : "");
    symlinks.check(t.name, "entry");
    symlinks.note(t.name, entry);
    if (t.structural && (archive_entry_filetype(entry) != AE_IFDIR || archive_entry_hardlink(entry)))
        throw Error(400, "Backup entry '" + t.name + "' must be a directory");
    if (t.index && (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry)))
        throw Error(400, "Backup entry 'backup/index.yaml' must be a file");
    if (!t.rel.empty()) {
        try {
            check_outside_rootfs(t.rel, entry);
        } catch (const Error&) {
            throw Error(400, "Backup entry '" + t.name + "' must be a " +
                                 (t.rel == "rootfs" ? "directory" : "file or a directory"));
        }
    }
    if (const char* link = archive_entry_hardlink(entry)) {
        auto lt = classify(link);
        if (t.rel.empty() || lt.volume != t.volume || lt.rel.empty())
            throw Error(400, std::string("Backup hard link '") + link + "' leaves its volume");
        symlinks.check(lt.name, "hard link target");
    }
    return t;
}

void take(Budget& budget, archive_entry* entry, const Target& t) {
    if (!t.rel.empty() && archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry)) {
        try {
            budget.take(archive_entry_size(entry), t.name);
        } catch (const Error&) {
            throw Error(400, "Backup entry '" + t.name + "' makes the backup unpack to more than " +
                                 std::to_string(budget.limit) + " bytes");
        }
    }
}

void extract(int tarball_fd, std::int64_t limit) {
    ::umask(0);
    Reader r;
    open_reader(r, tarball_fd);
    ArchivePtr w(archive_write_disk_new(), archive_write_free);
    archive_write_disk_set_options(w.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
                                                ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
    for (const char* d : {"container", "snapshots"})
        if (::mkdir(d, 0711) != 0 && errno != EEXIST) throw_errno(std::string("create ") + d);
    SymlinkGuard symlinks;
    Budget budget{limit};
    std::set<std::string> files; // regular files so far: the only allowed hard link targets
    archive_entry* entry = nullptr;
    int rc;
    while ((rc = archive_read_next_header(r.a.get(), &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
        const auto t = checked(entry, symlinks);
        take(budget, entry, t);
        if (t.structural && !t.volume.empty()) {
            if (::mkdir(t.volume.c_str(), 0711) != 0 && errno != EEXIST) throw_errno("create " + t.volume);
            continue;
        }
        if (t.rel.empty()) continue;
        if (is_device(entry) && !archive_entry_hardlink(entry) && !allowed_device(entry)) continue;
        const auto path = t.volume + "/" + t.rel;
        archive_entry_set_pathname(entry, path.c_str());
        if (const char* link = archive_entry_hardlink(entry)) {
            const auto lt = classify(link);
            const auto link_path = lt.volume + "/" + lt.rel;
            if (!files.count(link_path))
                throw Error(400, std::string("Backup hard link '") + link + "' names no file of the backup");
            archive_entry_set_hardlink(entry, link_path.c_str());
        } else if (archive_entry_filetype(entry) == AE_IFREG) {
            files.insert(path);
        }
        if (archive_write_header(w.get(), entry) < ARCHIVE_WARN)
            throw Error(500, "Unpacking '" + t.name + "': " + archive_error_string(w.get()));
        if (archive_entry_size(entry) > 0) {
            const void* buf;
            size_t size;
            la_int64_t offset;
            int d;
            while ((d = archive_read_data_block(r.a.get(), &buf, &size, &offset)) == ARCHIVE_OK)
                if (archive_write_data_block(w.get(), buf, size, offset) < ARCHIVE_WARN)
                    throw Error(500, "Unpacking '" + t.name + "': " + archive_error_string(w.get()));
            if (d != ARCHIVE_EOF) throw Error(400, "The backup is unreadable at '" + t.name + "': " + r.error());
        }
        if (archive_write_finish_entry(w.get()) < ARCHIVE_WARN)
            throw Error(500, "Unpacking '" + t.name + "': " + archive_error_string(w.get()));
    }
    if (rc != ARCHIVE_EOF) throw Error(400, "The backup is unreadable: " + r.error());
    if (archive_write_close(w.get()) != ARCHIVE_OK)
        throw Error(500, std::string("Unpacking the backup: ") + archive_error_string(w.get()));
}

} // namespace

void pack_backup(const std::string& index_yaml, const std::vector<BackupSource>& sources,
                 const std::string& compression, int out_fd) {
    check_compression(compression);
    ArchivePtr w(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(w.get());
    // ARCHIVE_WARN would mean an external program: in-process only.
    if (add_compression_filter(w.get(), compression) != ARCHIVE_OK)
        throw Error(500, "Compression " + compression + " is not available in-process");
    archive_write_set_bytes_in_last_block(w.get(), 1);
    int fd = out_fd;
    if (archive_write_open(w.get(), &fd, nullptr, &write_fd, nullptr) != ARCHIVE_OK)
        throw Error(500, std::string("Writing the backup: ") + archive_error_string(w.get()));
    write_plain(w.get(), "backup", "", 0700, true);
    write_plain(w.get(), "backup/index.yaml", index_yaml, 0644, false);
    bool snapshots_dir = false;
    for (const auto& source : sources) {
        UniqueFd dir(::open(source.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) throw_errno("open " + source.dir);
        const auto parts = volume_parts(dir.get(), source.dir);
        if (!snapshots_dir && source.prefix.rfind("backup/snapshots/", 0) == 0) {
            write_plain(w.get(), "backup/snapshots", "", 0700, true);
            snapshots_dir = true;
        }
        write_plain(w.get(), source.prefix, "", 0711, true);
        // Hard links within one volume only: each volume is restored on its own.
        std::unique_ptr<archive_entry_linkresolver, decltype(&archive_entry_linkresolver_free)> links(
            archive_entry_linkresolver_new(), archive_entry_linkresolver_free);
        archive_entry_linkresolver_set_strategy(links.get(), archive_format(w.get()));
        chrooted(dir.get(), [&] {
            for (const char* part : parts) write_tree(w.get(), links.get(), part, source.prefix);
        });
    }
    if (archive_write_close(w.get()) != ARCHIVE_OK)
        throw Error(500, std::string("Writing the backup: ") + archive_error_string(w.get()));
}

BackupContents inspect_backup(int tarball_fd, std::int64_t limit) {
    Reader r;
    open_reader(r, tarball_fd);
    BackupContents out;
    bool have_index = false;
    SymlinkGuard symlinks;
    Budget budget{limit};
    std::set<std::string> snapshots;
    archive_entry* entry = nullptr;
    int rc;
    while ((rc = archive_read_next_header(r.a.get(), &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
        const auto t = checked(entry, symlinks);
        take(budget, entry, t);
        if (t.optimized) out.optimized = true;
        if (t.volume == "container") out.container = true;
        if (t.volume.rfind("snapshots/", 0) == 0) snapshots.insert(t.volume.substr(10));
        if (t.index) {
            if (have_index) throw Error(400, "The backup has more than one backup/index.yaml");
            if (archive_entry_size(entry) > max_index_bytes)
                throw Error(400, "Backup entry 'backup/index.yaml' is too large (more than 1 MiB)");
            out.index_yaml.assign(static_cast<size_t>(archive_entry_size(entry)), '\0');
            auto n = archive_read_data(r.a.get(), out.index_yaml.data(), out.index_yaml.size());
            if (n < 0 || static_cast<size_t>(n) != out.index_yaml.size())
                throw Error(400, "The backup's index.yaml is unreadable: " + r.error());
            have_index = true;
        }
    }
    if (rc != ARCHIVE_EOF) throw Error(400, "The backup is unreadable: " + r.error());
    if (!have_index) throw Error(400, "Backup is missing index.yaml");
    out.snapshots.assign(snapshots.begin(), snapshots.end());
    return out;
}

void unpack_backup(int tarball_fd, const std::string& target_dir, std::int64_t limit) {
    UniqueFd dir(::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_errno("open " + target_dir);
    chrooted(dir.get(), [&] { extract(tarball_fd, limit); });
}

} // namespace lodge::daemon
