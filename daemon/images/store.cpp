// The image store: unified image tarballs kept by fingerprint, checked when
// they arrive and unpacked into instance directories. Nothing in a tarball
// is trusted: entry names are checked on arrival and again on unpacking,
// and unpacking happens chrooted in the instance directory besides.
#include "daemon/images/store.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/sha256.hpp"
#include "daemon/db/images.hpp"
#include "daemon/images/entries.hpp"
#include "daemon/images/simplestreams.hpp"
#include "daemon/images/squashfs.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <exception>
#include <functional>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace lodge::daemon {

namespace {

constexpr std::size_t max_metadata_bytes = 1 << 20;

// SHA-256 of the pieces one after the other (a split image's fingerprint
// covers its metadata file, then its rootfs file).
std::string sha256_hex(std::initializer_list<const std::string*> pieces) {
    Sha256 sha;
    for (const auto* piece : pieces) sha.update(*piece);
    return sha.hex();
}

bool is_fingerprint(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

struct ArchiveReader {
    // raw: the decompressed stream as one entry, instead of tar entries.
    explicit ArchiveReader(bool raw = false) : a(archive_read_new()) {
        if (!a) throw Error(500, "libarchive: out of memory");
        archive_read_support_filter_all(a);
        if (raw)
            archive_read_support_format_raw(a);
        else
            archive_read_support_format_tar(a);
    }
    ~ArchiveReader() { archive_read_free(a); }
    ArchiveReader(const ArchiveReader&) = delete;
    ArchiveReader& operator=(const ArchiveReader&) = delete;
    std::string error() const {
        const char* e = archive_error_string(a);
        return e ? e : "unknown error";
    }
    struct archive* a;
};

api::Time from_unix(std::int64_t seconds) {
    return api::Time(std::chrono::seconds(seconds));
}

std::string normalise_architecture(const std::string& arch) {
    auto name = simplestreams::lxd_architecture(arch);
    if (name.empty()) throw Error(400, "Unknown architecture '" + arch + "' in metadata.yaml");
    return name;
}

void parse_metadata(const std::string& text, StoredImage& out) {
    YAML::Node doc;
    try {
        doc = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw Error(400, std::string("Invalid metadata.yaml: ") + e.what());
    }
    if (!doc.IsMap()) throw Error(400, "Invalid metadata.yaml: not a mapping");
    try {
        if (!doc["architecture"] || !doc["architecture"].IsScalar())
            throw Error(400, "Invalid metadata.yaml: no architecture");
        out.architecture = normalise_architecture(doc["architecture"].as<std::string>());
        if (doc["creation_date"]) out.created_at = from_unix(doc["creation_date"].as<std::int64_t>());
        if (doc["expiry_date"] && doc["expiry_date"].as<std::int64_t>() > 0)
            out.expires_at = from_unix(doc["expiry_date"].as<std::int64_t>());
        if (auto props = doc["properties"]; props && !props.IsNull()) {
            if (!props.IsMap()) throw Error(400, "Invalid metadata.yaml: properties is not a mapping");
            for (const auto& kv : props) out.properties[kv.first.as<std::string>()] = kv.second.as<std::string>();
        }
    } catch (const YAML::Exception& e) {
        throw Error(400, std::string("Invalid metadata.yaml: ") + e.what());
    }
}

// Reads every header of the image: all names must be allowed, metadata.yaml
// and rootfs/ must be there. Fills out from metadata.yaml.
void inspect(ArchiveReader& r, StoredImage& out, Part part, Budget& budget) {
    std::optional<std::string> metadata;
    bool rootfs = false;
    SymlinkGuard symlinks;
    archive_entry* entry = nullptr;
    int rc;
    while ((rc = archive_read_next_header(r.a, &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
        const auto target = checked_target(entry, part);
        symlinks.check(target);
        symlinks.note(target, entry);
        if (const char* link = archive_entry_hardlink(entry)) {
            auto link_target = entry_target(link, part);
            if (!link_target || (!target.empty() && link_target->empty()))
                throw Error(400, std::string("Image tarball hard link '") + link + "' leaves the image");
            symlinks.check(*link_target, "hard link target");
        }
        if (target.rfind("rootfs", 0) == 0) rootfs = true;
        if (!target.empty() && archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry))
            budget.take(archive_entry_size(entry), target);
        if (target == "metadata.yaml" && archive_entry_filetype(entry) == AE_IFREG) {
            if (archive_entry_size(entry) > static_cast<la_int64_t>(max_metadata_bytes))
                throw Error(400, "Image entry 'metadata.yaml' is too large (more than " +
                                     std::to_string(max_metadata_bytes) + " bytes)");
            std::string text(static_cast<size_t>(archive_entry_size(entry)), '\0');
            auto n = archive_read_data(r.a, text.data(), text.size());
            if (n < 0 || static_cast<size_t>(n) != text.size())
                throw Error(400, "Image metadata.yaml unreadable: " + r.error());
            metadata = std::move(text);
        }
    }
    if (rc != ARCHIVE_EOF) throw Error(400, "Image tarball unreadable: " + r.error());
    if (part == Part::Rootfs) return;
    if (!metadata) throw Error(400, "Image has no metadata.yaml (a unified image holds metadata.yaml and rootfs/)");
    if (!rootfs && part == Part::Unified) throw Error(400, "Image has no rootfs/ (a unified image holds metadata.yaml and rootfs/)");
    parse_metadata(*metadata, out);
}

void inspect(const std::string& data, StoredImage& out, Part part, Budget& budget) {
    ArchiveReader r;
    if (archive_read_open_memory(r.a, data.data(), data.size()) != ARCHIVE_OK)
        throw Error(400, "Image is not a tarball: " + r.error());
    inspect(r, out, part, budget);
}

void inspect_file(const std::string& path, StoredImage& out, Part part, Budget& budget) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    ArchiveReader r;
    if (archive_read_open_fd(r.a, fd.get(), 1 << 17) != ARCHIVE_OK)
        throw Error(400, "Image is not a tarball: " + r.error());
    inspect(r, out, part, budget);
}

// A temporary file in dir that becomes `path` on commit() and is removed
// otherwise: a crash never leaves a partial file under the final name.
class PendingFile {
public:
    PendingFile(const std::string& dir, std::string path) : path_(std::move(path)), tmp_(dir + "/.upload-XXXXXX") {
        fd_.reset(::mkostemp(tmp_.data(), O_CLOEXEC));
        if (!fd_) throw_errno("create " + tmp_);
    }
    ~PendingFile() {
        if (fd_) ::unlink(tmp_.c_str());
    }
    void write(const char* data, size_t size) {
        while (size > 0) {
            auto n = ::write(fd_.get(), data, size);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_errno("write " + tmp_);
            data += n;
            size -= static_cast<size_t>(n);
        }
    }
    int fd() const { return fd_.get(); }
    const std::string& tmp_path() const { return tmp_; }
    void set_path(std::string path) { path_ = std::move(path); }
    void commit() {
        if (::fchmod(fd_.get(), 0600) != 0 || ::rename(tmp_.c_str(), path_.c_str()) != 0)
            throw_errno("store " + path_);
        fd_.reset();
    }

private:
    std::string path_;
    std::string tmp_;
    UniqueFd fd_;
};

// Keeps the tar inside a compressed image beside it as path (nothing for
// an uncompressed image): unpacking a busybox image from it takes a third
// of the time, a Debian one from xz a fraction.
// r: opened with raw = true.
void store_decompressed(ArchiveReader& r, const std::string& dir, const std::string& path, std::int64_t limit) {
    archive_entry* entry = nullptr;
    if (archive_read_next_header(r.a, &entry) != ARCHIVE_OK) throw Error(400, "Image unreadable: " + r.error());
    if (archive_filter_code(r.a, 0) == ARCHIVE_FILTER_NONE) return;
    PendingFile out(dir, path);
    std::vector<char> buf(1 << 17);
    la_ssize_t n;
    // Bounded as well: data after the tar's end would escape the entry count.
    std::int64_t total = 0;
    while ((n = archive_read_data(r.a, buf.data(), buf.size())) > 0) {
        total += n;
        if (total > limit + (64 << 20))
            throw Error(400, "Image decompresses to more than " + std::to_string(limit) + " bytes (the image size limit)");
        out.write(buf.data(), static_cast<size_t>(n));
    }
    if (n < 0) throw Error(400, "Image unreadable: " + r.error());
    out.commit();
}

void store_decompressed(const std::string& data, const std::string& dir, const std::string& path, std::int64_t limit) {
    ArchiveReader r(true);
    if (archive_read_open_memory(r.a, data.data(), data.size()) != ARCHIVE_OK)
        throw Error(400, "Image unreadable: " + r.error());
    store_decompressed(r, dir, path, limit);
}

// SHA-256 of a file, read from its start.
std::string sha256_file(int fd) {
    Sha256 sha;
    std::vector<char> buf(1 << 17);
    for (off_t off = 0;;) {
        auto n = ::pread(fd, buf.data(), buf.size(), off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read the image");
        if (n == 0) break;
        sha.update(buf.data(), static_cast<size_t>(n));
        off += n;
    }
    return sha.hex();
}

// The extraction itself, in a thread of its own whose root and working
// directory are the instance directory (unshare(CLONE_FS) keeps chdir and
// chroot to this thread): even a libarchive bug cannot write outside it.
void extract_part(int image_fd, Part part);

void extract(const std::vector<std::pair<int, Part>>& parts, int instance_fd) {
    if (::unshare(CLONE_FS) != 0) throw_errno("unshare(CLONE_FS)");
    if (::fchdir(instance_fd) != 0) throw_errno("fchdir to the instance directory");
    if (::chroot(".") != 0) throw_errno("chroot to the instance directory");
    ::umask(0);
    for (const auto& [fd, part] : parts) extract_part(fd, part);
}

void extract_part(int image_fd, Part part) {
    ArchiveReader r;
    if (archive_read_open_fd(r.a, image_fd, 1 << 17) != ARCHIVE_OK) throw Error(500, "Image unreadable: " + r.error());
    std::unique_ptr<archive, decltype(&archive_write_free)> w(archive_write_disk_new(), archive_write_free);
    // Numeric ids as in the tarball (no name lookup: container ids).
    archive_write_disk_set_options(w.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
                                                ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
    std::set<std::string> files; // regular files so far: the only allowed hard link targets
    SymlinkGuard symlinks;
    archive_entry* entry = nullptr;
    int rc;
    while ((rc = archive_read_next_header(r.a, &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
        const auto target = checked_target(entry, part);
        if (target.empty()) continue;
        symlinks.check(target);
        symlinks.note(target, entry);
        if (is_device(entry) && !archive_entry_hardlink(entry) && !allowed_device(entry)) continue;
        archive_entry_set_pathname(entry, target.c_str());
        if (const char* link = archive_entry_hardlink(entry)) {
            auto link_target = entry_target(link, part);
            if (!link_target || !files.count(*link_target))
                throw Error(400, std::string("Image tarball hard link '") + link + "' names no file of the image");
            archive_entry_set_hardlink(entry, link_target->c_str());
        } else if (archive_entry_filetype(entry) == AE_IFREG) {
            files.insert(target);
        }
        if (archive_write_header(w.get(), entry) < ARCHIVE_WARN)
            throw Error(500, "Unpacking '" + target + "': " + archive_error_string(w.get()));
        if (archive_entry_size(entry) > 0) {
            const void* buf;
            size_t size;
            la_int64_t offset;
            int d;
            while ((d = archive_read_data_block(r.a, &buf, &size, &offset)) == ARCHIVE_OK)
                if (archive_write_data_block(w.get(), buf, size, offset) < ARCHIVE_WARN)
                    throw Error(500, "Unpacking '" + target + "': " + archive_error_string(w.get()));
            if (d != ARCHIVE_EOF) throw Error(500, "Image unreadable at '" + target + "': " + r.error());
        }
        if (archive_write_finish_entry(w.get()) < ARCHIVE_WARN)
            throw Error(500, "Unpacking '" + target + "': " + archive_error_string(w.get()));
    }
    if (rc != ARCHIVE_EOF) throw Error(500, "Image unreadable: " + r.error());
    // Directory modes and times are set here, after their contents.
    if (archive_write_close(w.get()) != ARCHIVE_OK)
        throw Error(500, std::string("Unpacking the image: ") + archive_error_string(w.get()));
}

} // namespace

ImageSource resolve_image(db::Database& db, const std::string& name) {
    std::optional<std::string> fingerprint;
    if (auto alias = db::get_alias(db, name))
        fingerprint = alias->target;
    else
        fingerprint = db::match_fingerprint(db, name);
    if (!fingerprint) throw Error(404, "Image not found");
    auto image = db::get_image(db, *fingerprint);
    if (!image) throw Error(404, "Image not found");
    return ImageSource{image->fingerprint, image->architecture, image->properties};
}

ImageStore::ImageStore(std::string dir) : dir_(std::move(dir)) {
    if (make_dirs(dir_, 0700)) ::chmod(dir_.c_str(), 0700);
}

std::vector<std::string> ImageStore::remove_leftovers(const std::set<std::string>& known) {
    std::vector<std::string> removed;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
        const auto name = entry.path().filename().string();
        const auto fingerprint = name.substr(0, name.find('.'));
        const bool temporary = name.rfind(".upload-", 0) == 0;
        if (!temporary && (!is_fingerprint(fingerprint) || known.count(fingerprint))) continue;
        std::error_code rm;
        std::filesystem::remove_all(entry.path(), rm);
        if (!rm) removed.push_back(entry.path().string());
    }
    return removed;
}

std::string ImageStore::image_path(const std::string& fingerprint) const {
    if (!is_fingerprint(fingerprint)) throw Error(404, "Image not found: " + fingerprint);
    return dir_ + "/" + fingerprint;
}

bool ImageStore::contains(const std::string& fingerprint) const {
    return is_fingerprint(fingerprint) && ::access(image_path(fingerprint).c_str(), F_OK) == 0;
}

std::string ImageStore::file(const std::string& fingerprint) const {
    if (!contains(fingerprint)) throw Error(404, "Image not found: " + fingerprint);
    return read_file(image_path(fingerprint));
}

StoredImage ImageStore::add(const std::string& data, const std::string& expected_fingerprint) {
    return store({&data}, expected_fingerprint);
}

StoredImage ImageStore::add_written(const std::function<std::string(int fd)>& write) {
    PendingFile file(dir_, "");
    const auto fingerprint = write(file.fd());
    StoredImage image;
    // Checked as an upload is: the writer's digest, every entry, the metadata.
    image.fingerprint = sha256_file(file.fd());
    if (image.fingerprint != fingerprint)
        throw Error(500, "The image written has fingerprint " + image.fingerprint + ", not " + fingerprint);
    struct stat st {};
    if (::fstat(file.fd(), &st) != 0) throw_errno("stat " + file.tmp_path());
    image.size = st.st_size;
    Budget budget{max_unpacked_bytes()};
    inspect_file(file.tmp_path(), image, Part::Unified, budget);
    const auto path = image_path(image.fingerprint);
    if (contains(image.fingerprint)) throw Error(409, "Image with same fingerprint already exists");
    try {
        ArchiveReader r(true);
        UniqueFd fd(::open(file.tmp_path().c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd || archive_read_open_fd(r.a, fd.get(), 1 << 17) != ARCHIVE_OK)
            throw Error(500, "Image unreadable: " + r.error());
        store_decompressed(r, dir_, path + ".tar", budget.limit);
        file.set_path(path);
        file.commit();
    } catch (...) {
        ::unlink((path + ".tar").c_str());
        throw;
    }
    return image;
}

StoredImage ImageStore::add_split(const std::string& metadata, const std::string& rootfs,
                                  const std::string& expected_fingerprint) {
    return store({&metadata, &rootfs}, expected_fingerprint);
}

StoredImage ImageStore::store(std::vector<const std::string*> files, const std::string& expected_fingerprint) {
    const bool split = files.size() == 2;
    StoredImage image;
    image.fingerprint = split ? sha256_hex({files[0], files[1]}) : sha256_hex({files[0]});
    for (const auto* f : files) image.size += static_cast<std::int64_t>(f->size());
    if (!expected_fingerprint.empty() && expected_fingerprint != image.fingerprint)
        throw Error(400, "Fingerprints don't match, got " + image.fingerprint + " expected " + expected_fingerprint);
    Budget budget{max_unpacked_bytes()};
    inspect(*files[0], image, split ? Part::Metadata : Part::Unified, budget);
    const bool squashfs = split && is_squashfs(*files[1]);
    if (split && !squashfs) inspect(*files[1], image, Part::Rootfs, budget);
    const auto path = image_path(image.fingerprint);
    if (contains(image.fingerprint)) throw Error(409, "Image with same fingerprint already exists");
    // The main file last: it is what marks the image as present.
    std::vector<std::string> names{path + ".tar"};
    if (split) names = {path + ".rootfs.tar", path + ".rootfs", path + ".tar"};
    try {
        if (split) {
            PendingFile rootfs(dir_, path + ".rootfs");
            rootfs.write(files[1]->data(), files[1]->size());
            if (squashfs) {
                // The tar form is what unpacking reads; it is checked like
                // any uploaded tarball before it counts.
                PendingFile tar(dir_, path + ".rootfs.tar");
                squashfs_to_tar(rootfs.fd(), tar.fd(), budget.limit + budget.limit / 4 + (64 << 20));
                tar.commit();
                inspect_file(path + ".rootfs.tar", image, Part::Rootfs, budget);
            }
            rootfs.commit();
            if (!squashfs) {
                store_decompressed(*files[1], dir_, path + ".rootfs.tar", budget.limit);
            }
        }
        store_decompressed(*files[0], dir_, path + ".tar", budget.limit);
        PendingFile file(dir_, path);
        file.write(files[0]->data(), files[0]->size());
        file.commit();
    } catch (...) {
        for (const auto& n : names) ::unlink(n.c_str());
        throw;
    }
    return image;
}

std::int64_t ImageStore::max_unpacked_bytes() const {
    if (max_unpacked_bytes_ > 0) return max_unpacked_bytes_;
    // By default what the store's filesystem has free: an image that
    // unpacks to more could not be used here anyway.
    struct statvfs fs {};
    if (::statvfs(dir_.c_str(), &fs) != 0) throw_errno("statvfs " + dir_);
    return static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize);
}

bool ImageStore::is_split(const std::string& fingerprint) const {
    return ::access((image_path(fingerprint) + ".rootfs").c_str(), F_OK) == 0;
}

std::string ImageStore::rootfs_file(const std::string& fingerprint) const {
    if (!is_split(fingerprint)) throw Error(404, "Image " + fingerprint + " has no separate rootfs");
    return read_file(image_path(fingerprint) + ".rootfs");
}

void ImageStore::remove(const std::string& fingerprint) {
    auto path = image_path(fingerprint);
    for (const auto& p : {path + ".tar", path + ".rootfs.tar", path + ".rootfs", path})
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw_errno("remove " + p);
}

namespace {

// The decompressed copy when there is one, else the file itself.
UniqueFd open_part(const std::string& path) {
    UniqueFd fd(::open((path + ".tar").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return fd;
}

} // namespace

void ImageStore::unpack(const std::string& fingerprint, const std::string& instance_dir) const {
    const auto path = image_path(fingerprint);
    UniqueFd image = open_part(path);
    if (!image) {
        if (errno == ENOENT) throw Error(404, "Image not found: " + fingerprint);
        throw_errno("open " + path);
    }
    std::vector<std::pair<int, Part>> parts{{image.get(), Part::Unified}};
    UniqueFd rootfs = open_part(path + ".rootfs");
    if (rootfs) parts = {{image.get(), Part::Metadata}, {rootfs.get(), Part::Rootfs}};
    UniqueFd instance(::open(instance_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!instance) throw_errno("open " + instance_dir);
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            extract(parts, instance.get());
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure) {
        // Leave the directory empty again, as it was given.
        std::error_code ignored;
        for (const char* name : {"rootfs", "templates", "metadata.yaml"})
            std::filesystem::remove_all(std::filesystem::path(instance_dir) / name, ignored);
        std::rethrow_exception(failure);
    }
}

} // namespace lodge::daemon
