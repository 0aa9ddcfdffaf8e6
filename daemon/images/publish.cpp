// Packing an instance directory into a unified image tarball with
// libarchive (see publish.hpp): metadata.yaml (rewritten with the new
// properties), then rootfs/ and templates/ read from disk inside a chroot.
#include "daemon/images/publish.hpp"

#include "common/sha256.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/path.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <thread>

namespace lodge::daemon {

namespace {

constexpr std::size_t max_metadata_bytes = 1 << 20;

const char* const names[] = {"gzip", "bzip2", "xz", "zstd", "none", nullptr};


// The written bytes, hashed as they go to the file.
struct Sink {
    int fd = -1;
    Sha256 sha;

    static la_ssize_t write(archive* a, void* self, const void* buf, size_t n) {
        auto* s = static_cast<Sink*>(self);
        for (size_t done = 0; done < n;) {
            auto w = ::write(s->fd, static_cast<const char*>(buf) + done, n - done);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                archive_set_error(a, errno, "writing the image: %s", std::strerror(errno));
                return -1;
            }
            done += static_cast<size_t>(w);
        }
        s->sha.update(buf, n);
        return static_cast<la_ssize_t>(n);
    }
    std::string hex() { return sha.hex(); }
};

// metadata.yaml of the image: the instance's own (from its image) with the
// new properties and expiry, or a new one when it has none.
std::string image_metadata(int dir_fd, const PackOptions& options) {
    UniqueFd fd(::openat(dir_fd, "metadata.yaml", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    YAML::Node doc;
    if (fd) {
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) throw_errno("stat metadata.yaml");
        if (!S_ISREG(st.st_mode)) throw Error(400, "The instance's metadata.yaml is not a regular file");
        if (static_cast<std::size_t>(st.st_size) > max_metadata_bytes)
            throw Error(400, "The instance's metadata.yaml is too large (more than 1 MiB)");
        UniqueFd file(::open(fd_path(fd.get()).c_str(), O_RDONLY | O_CLOEXEC));
        if (!file) throw_errno("open metadata.yaml");
        std::string text(max_metadata_bytes + 1, '\0');
        auto n = ::read(file.get(), text.data(), text.size());
        if (n < 0) throw_errno("read metadata.yaml");
        if (static_cast<std::size_t>(n) > max_metadata_bytes)
            throw Error(400, "The instance's metadata.yaml is too large (more than 1 MiB)");
        text.resize(static_cast<size_t>(n));
        try {
            doc = YAML::Load(text);
        } catch (const YAML::Exception& e) {
            throw Error(400, std::string("The instance's metadata.yaml is invalid: ") + e.what());
        }
        if (!doc.IsMap()) throw Error(400, "The instance's metadata.yaml is not a mapping");
    } else if (errno != ENOENT) {
        throw_errno("open metadata.yaml");
    } else {
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(api::now().time_since_epoch()).count();
        doc["architecture"] = options.architecture;
        doc["creation_date"] = static_cast<long long>(now);
    }
    if (options.properties) {
        YAML::Node props(YAML::NodeType::Map);
        for (const auto& [k, v] : *options.properties) props[k] = v;
        doc["properties"] = props;
    }
    if (options.expires_at != api::Time{})
        doc["expiry_date"] = static_cast<long long>(
            std::chrono::duration_cast<std::chrono::seconds>(options.expires_at.time_since_epoch()).count());
    YAML::Emitter out;
    out << doc;
    return std::string(out.c_str()) + "\n";
}

void check(archive* a, int rc, const std::string& what) {
    if (rc < ARCHIVE_WARN) throw Error(500, "Packing " + what + ": " + (archive_error_string(a) ? archive_error_string(a) : "failed"));
}

void write_metadata(archive* w, const std::string& text) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), "metadata.yaml");
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(text.size()));
    archive_entry_set_mtime(e.get(), std::chrono::duration_cast<std::chrono::seconds>(api::now().time_since_epoch()).count(), 0);
    check(w, archive_write_header(w, e.get()), "metadata.yaml");
    if (archive_write_data(w, text.data(), text.size()) < 0) check(w, ARCHIVE_FATAL, "metadata.yaml");
}

// Adds the tree `top` ("rootfs", "templates") of the current root to w.
void write_tree(archive* w, archive_entry_linkresolver* links, const char* top) {
    std::unique_ptr<archive, decltype(&archive_read_free)> disk(archive_read_disk_new(), archive_read_free);
    archive_read_disk_set_symlink_physical(disk.get());
    archive_read_disk_set_behavior(disk.get(), ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
    if (archive_read_disk_open(disk.get(), top) != ARCHIVE_OK)
        throw Error(500, std::string("Packing ") + top + ": " + archive_error_string(disk.get()));
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(), archive_entry_free);
    for (;;) {
        archive_entry_clear(entry.get());
        int rc = archive_read_next_header2(disk.get(), entry.get());
        if (rc == ARCHIVE_EOF) break;
        const std::string name = archive_entry_pathname(entry.get()) ? archive_entry_pathname(entry.get()) : top;
        if (rc < ARCHIVE_WARN) throw Error(500, "Packing '" + name + "': " + archive_error_string(disk.get()));
        archive_read_disk_descend(disk.get());
        if (archive_entry_filetype(entry.get()) == AE_IFSOCK) continue;
        archive_entry* e = entry.get();
        archive_entry* spare = nullptr;
        archive_entry_linkify(links, &e, &spare); // tar: later links become hard links without data
        check(w, archive_write_header(w, e), "'" + name + "'");
        if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 && !archive_entry_hardlink(e)) {
            const void* buf;
            size_t size;
            la_int64_t offset;
            int d;
            la_int64_t written = 0;
            static const std::string zeros(1 << 16, '\0');
            auto put = [&](const void* data, size_t n) {
                if (archive_write_data(w, data, n) < 0) check(w, ARCHIVE_FATAL, "'" + name + "'");
                written += static_cast<la_int64_t>(n);
            };
            // Holes of sparse files come as jumps in the offset: written as zeros.
            while ((d = archive_read_data_block(disk.get(), &buf, &size, &offset)) == ARCHIVE_OK) {
                while (written < offset) put(zeros.data(), static_cast<size_t>(std::min<la_int64_t>(offset - written, zeros.size())));
                put(buf, size);
            }
            while (d == ARCHIVE_EOF && written < archive_entry_size(e))
                put(zeros.data(), static_cast<size_t>(std::min<la_int64_t>(archive_entry_size(e) - written, zeros.size())));
            if (d != ARCHIVE_EOF) throw Error(500, "Packing '" + name + "': " + archive_error_string(disk.get()));
        }
        check(w, archive_write_finish_entry(w), "'" + name + "'");
    }
}

// Runs in its own thread: chroot applies to this thread only (CLONE_FS).
void pack_chrooted(int dir_fd, bool templates, const std::string& metadata, const std::string& compression,
                   Sink& sink) {
    if (::unshare(CLONE_FS) != 0) throw_errno("unshare(CLONE_FS)");
    if (::fchdir(dir_fd) != 0) throw_errno("fchdir to the instance directory");
    if (::chroot(".") != 0) throw_errno("chroot to the instance directory");
    std::unique_ptr<archive, decltype(&archive_write_free)> w(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(w.get());
    // In-process compression only (ARCHIVE_WARN would mean an external program).
    if (add_compression_filter(w.get(), compression) != ARCHIVE_OK)
        throw Error(500, "Compression " + compression + " is not available in-process");
    archive_write_set_bytes_in_last_block(w.get(), 1);
    if (archive_write_open(w.get(), &sink, nullptr, &Sink::write, nullptr) != ARCHIVE_OK)
        throw Error(500, std::string("Packing the image: ") + archive_error_string(w.get()));
    std::unique_ptr<archive_entry_linkresolver, decltype(&archive_entry_linkresolver_free)> links(
        archive_entry_linkresolver_new(), archive_entry_linkresolver_free);
    archive_entry_linkresolver_set_strategy(links.get(), archive_format(w.get()));
    write_metadata(w.get(), metadata);
    write_tree(w.get(), links.get(), "rootfs");
    if (templates) write_tree(w.get(), links.get(), "templates");
    if (archive_write_close(w.get()) != ARCHIVE_OK)
        throw Error(500, std::string("Packing the image: ") + archive_error_string(w.get()));
}

} // namespace

const char* const* compression_names() { return names; }

void check_compression(const std::string& name) {
    if (name.empty()) return;
    std::string list;
    for (const char* const* n = names; *n; ++n) {
        if (name == *n) return;
        list += (list.empty() ? "" : ", ") + std::string(*n);
    }
    throw Error(400, "Unsupported compression algorithm '" + name + "' (use one of: " + list + ")");
}

int add_compression_filter(archive* a, const std::string& name) {
    if (name.empty() || name == "gzip") return archive_write_add_filter_gzip(a);
    if (name == "bzip2") return archive_write_add_filter_bzip2(a);
    if (name == "xz") return archive_write_add_filter_xz(a);
    if (name == "zstd") return archive_write_add_filter_zstd(a);
    return archive_write_add_filter_none(a);
}

std::string pack_instance(const std::string& source_dir, const PackOptions& options, int out_fd) {
    check_compression(options.compression);
    UniqueFd dir(::open(source_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_errno("open " + source_dir);
    auto is_dir = [&](const char* name) {
        struct stat st {};
        if (::fstatat(dir.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) return false;
            throw_errno(std::string("stat ") + name);
        }
        if (!S_ISDIR(st.st_mode)) throw Error(400, std::string("The instance's ") + name + " is not a directory");
        return true;
    };
    if (!is_dir("rootfs")) throw Error(400, "The instance has no rootfs");
    const bool templates = is_dir("templates");
    const auto metadata = image_metadata(dir.get(), options);
    Sink sink;
    sink.fd = out_fd;
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            pack_chrooted(dir.get(), templates, metadata, options.compression, sink);
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure) std::rethrow_exception(failure);
    return sink.hex();
}

} // namespace lodge::daemon
