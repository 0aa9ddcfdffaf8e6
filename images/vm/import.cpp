// The import of a VM disk, phase by phase (see import.hpp).
#include "images/vm/import.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "images/vm/convert.hpp"
#include "images/vm/filesystems.hpp"
#include "images/vm/fixups.hpp"
#include "images/vm/format.hpp"
#include "images/vm/guest_fstab.hpp"
#include "images/vm/lvm.hpp"
#include "images/vm/partitions.hpp"
#include "storage/copy.hpp"
#include "storage/tree.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <thread>

namespace lodge::vm {

namespace {

// GPT type GUIDs of root partitions (the Discoverable Partitions
// Specification): a guest that marks its root is believed first.
bool is_root_partition_type(const std::string& type) {
    static const char* const types[] = {
        "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", // x86-64
        "44479540-f297-41b2-9af7-d131d5f0458a", // x86
        "b921b045-1df0-41c3-af44-4c6f280d3fae", // arm64
        "69dad710-2ce4-4e3c-b16c-21a1d49abed3", // arm
    };
    std::string t = type;
    std::transform(t.begin(), t.end(), t.begin(), ::tolower);
    return std::find(std::begin(types), std::end(types), t) != std::end(types);
}

std::string role_kind(PartitionRole role) {
    switch (role) {
    case PartitionRole::linux: return "linux";
    case PartitionRole::efi_system: return "efi";
    case PartitionRole::bios_boot: return "bios-boot";
    case PartitionRole::swap: return "swap";
    case PartitionRole::lvm: return "lvm-pv";
    case PartitionRole::extended: return "extended";
    case PartitionRole::other: return "other";
    }
    return "other";
}

// One partition, logical volume or whole disk.
struct Volume {
    PlanVolume plan;
    VolumeIdentity id;
    std::string type_guid;
    std::optional<LogicalVolume> lv; // for a logical volume
    std::unique_ptr<GuestFilesystem> fs; // once checked
};

// A subvolume path from the guest's fstab goes into mount options: only
// plain path characters.
std::string checked_subvolume(const std::string& subvol) {
    for (char c : subvol)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '@' || c == '_' || c == '-' ||
              c == '.' || c == '+'))
            throw Error(400, fmt::format("btrfs subvolume \"{}\" in the guest's fstab has characters the import "
                                         "does not pass on",
                                         subvol));
    return subvol;
}

// A mount point from the guest's fstab: absolute, no "." or ".." steps.
bool clean_mount_point(const std::string& path) {
    if (path.empty() || path[0] != '/') return false;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        auto part = path.substr(start, slash - start);
        if (part == "." || part == ".." || (part.empty() && slash != path.size())) return false;
        start = slash + 1;
    }
    return true;
}

// A small file of the guest's, read inside its root; "" when it cannot be.
std::string try_read_in_root(int root_fd, const std::string& path) {
    int fd = try_open_in_root(root_fd, path, O_RDONLY);
    if (fd < 0) return {};
    UniqueFd owned(fd);
    struct stat st{};
    if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) return {};
    return read_to_eof(fd);
}

int depth(const std::string& path) {
    return path == "/" ? 0 : static_cast<int>(std::count(path.begin(), path.end(), '/'));
}

bool exists_in(int root_fd, const std::string& path, bool follow) {
    int fd = try_open_in_root(root_fd, path, O_PATH | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

// What makes a filesystem a Linux root: its own fstab and an init (or a
// separate /usr in that fstab, where the init lives).
bool looks_like_root(int root_fd, std::string& why) {
    if (!exists_in(root_fd, "etc/fstab", false)) return false;
    for (const char* init : {"sbin/init", "lib/systemd/systemd", "usr/lib/systemd/systemd", "usr/sbin/init"})
        if (exists_in(root_fd, init, true)) {
            why = fmt::format("holds /etc/fstab and /{}", init);
            return true;
        }
    auto fstab = try_read_in_root(root_fd, "etc/fstab");
    for (const auto& e : parse_fstab(fstab))
        if (e.target == "/usr") {
            why = "holds /etc/fstab, and its fstab mounts /usr (where init is)";
            return true;
        }
    return false;
}

class Importer {
public:
    Importer(const std::string& disk, const std::string& work_dir, const std::string& target_rootfs,
             const ImportOptions& options, const ImportProgress& progress)
        : disk_(disk), work_(work_dir), target_(target_rootfs), options_(options), progress_(progress) {}

    Plan run() {
        step("checking", 0);
        read_disk();
        read_volumes();
        find_root();
        assemble();
        step("fixing", 0);
        fix();
        step("fixing", 100);
        unmount_all();
        for (const auto& v : volumes_) plan_.volumes.push_back(v.plan);
        return plan_;
    }

    ~Importer() { unmount_all(); }

private:
    void step(const std::string& phase, int percent) {
        if (progress_) progress_(phase, percent);
    }

    void read_disk() {
        UniqueFd fd(::open(disk_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!fd) throw_errno("opening the disk " + disk_);
        struct stat st{};
        check(::fstat(fd.get(), &st), "reading " + disk_);
        if (!S_ISREG(st.st_mode)) throw Error(400, "The disk must be a regular file");
        auto info = probe_disk(fd.get(), options_.max_virtual_size);
        plan_.format = format_name(info.format);
        plan_.virtual_size = info.virtual_size;
        plan_.file_size = info.file_size;
        raw_ = disk_;
        if (info.format != DiskFormat::raw) {
            raw_ = work_ + "/disk.raw";
            step("converting", 0);
            convert_to_raw(disk_, info, raw_, [&](double p) { step("converting", static_cast<int>(p)); });
            step("converting", 100);
        }
        raw_fd_ = UniqueFd(::open(raw_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!raw_fd_) throw_errno("opening " + raw_);
        check(::fstat(raw_fd_.get(), &st), "reading " + raw_);
        raw_size_ = static_cast<std::uint64_t>(st.st_size);
    }

    void probe(Volume& v, std::uint64_t offset, std::uint64_t size) {
        if (auto fs = probe_filesystem(raw_fd_.get(), offset, size)) {
            v.plan.filesystem = fs->type;
            v.plan.uuid = fs->uuid;
            v.plan.label = fs->label;
            v.id.uuid = fs->uuid;
            v.id.label = fs->label;
        }
    }

    void read_volumes() {
        step("reading", 0);
        auto table = read_partitions(raw_fd_.get(), raw_size_);
        plan_.partition_table = table.type;
        std::vector<PvCandidate> pvs;
        if (table.type.empty()) {
            Volume v;
            v.plan.name = "disk";
            v.plan.size = raw_size_;
            v.plan.kind = "disk";
            probe(v, 0, raw_size_);
            volumes_.push_back(std::move(v));
        }
        for (const auto& p : table.partitions) {
            Volume v;
            v.plan.name = fmt::format("partition {}", p.number);
            v.plan.offset = p.offset;
            v.plan.size = p.size;
            v.plan.kind = role_kind(p.role);
            v.plan.partuuid = p.uuid;
            v.id.partuuid = p.uuid;
            v.id.partlabel = p.name;
            v.id.partition = p.number;
            v.type_guid = p.type;
            if (p.role != PartitionRole::extended && p.role != PartitionRole::bios_boot) probe(v, p.offset, p.size);
            if (v.plan.filesystem == "LVM2_member") pvs.push_back({p.offset, p.size});
            volumes_.push_back(std::move(v));
        }
        if (table.type.empty() && volumes_[0].plan.filesystem == "LVM2_member") pvs.push_back({0, raw_size_});
        if (!pvs.empty()) {
            for (auto& lv : read_lvm(raw_fd_.get(), pvs)) {
                if (!lv.visible) continue; // LVM's own sub-volumes (thin data, raid images)
                Volume v;
                v.plan.name = fmt::format("lv {}/{}", lv.vg, lv.name);
                v.plan.kind = "lv";
                v.plan.size = lv.size;
                v.id.vg = lv.vg;
                v.id.lv = lv.name;
                if (lv.supported && !lv.segments.empty()) {
                    v.plan.offset = lv.segments[0].disk_offset;
                    probe(v, lv.segments[0].disk_offset, lv.segments[0].length);
                    if (lv.segments.size() > 1)
                        v.plan.use = fmt::format("{} segments, assembled into one file", lv.segments.size());
                } else {
                    v.plan.use = "unsupported: " + lv.unsupported_reason;
                }
                v.lv = std::move(lv);
                volumes_.push_back(std::move(v));
            }
        }
        for (auto& v : volumes_) {
            if (!v.plan.use.empty() && v.plan.use.rfind("unsupported", 0) == 0) continue;
            if (v.plan.kind == "swap" || v.plan.filesystem == "swap") v.plan.use = "skipped: swap";
            else if (v.plan.kind == "efi") v.plan.use = "skipped: EFI system partition (a container boots no loader)";
            else if (v.plan.kind == "bios-boot") v.plan.use = "skipped: BIOS boot partition";
            else if (v.plan.kind == "extended") v.plan.use = "extended partition (holds the logical ones)";
            else if (v.plan.filesystem == "LVM2_member") v.plan.use = "LVM physical volume";
        }
        step("reading", 100);
    }

    bool mountable(const Volume& v) const {
        return is_supported_filesystem(v.plan.filesystem) && (!v.lv || v.lv->supported) &&
               v.plan.kind != "efi" && v.plan.kind != "swap";
    }

    // The volume's filesystem checked and attached (an LV of several
    // segments first assembled into one file).
    GuestFilesystem& filesystem(Volume& v) {
        if (v.fs) return *v.fs;
        FilesystemSource source{.name = v.plan.name, .file = raw_, .range = {}, .type = v.plan.filesystem};
        if (v.lv && v.lv->segments.size() > 1) {
            // Even a dry run assembles it: the plan needs the root's
            // contents. Only the LV's allocated data is copied.
            std::string file = fmt::format("{}/lv-{}-{}.img", work_, v.lv->vg, v.lv->name);
            UniqueFd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
            if (!out) throw_errno("creating " + file);
            assemble_lv(raw_fd_.get(), *v.lv, out.get());
            source.file = file;
        } else if (v.lv) {
            source.range.offset = v.lv->segments[0].disk_offset;
            source.range.size = v.lv->segments[0].length;
        } else {
            source.range.offset = v.plan.offset;
            source.range.size = v.plan.size;
        }
        v.fs = std::make_unique<GuestFilesystem>(std::move(source), options_.force, plan_.warnings);
        return *v.fs;
    }

    std::string mount(Volume& v, const std::string& subvolume = "") {
        auto& fs = filesystem(v);
        std::string point = fmt::format("{}/mnt/{}", work_, mounts_.size());
        make_dirs(point, 0700);
        fs.mount(point, subvolume.empty() ? "" : checked_subvolume(subvolume));
        mounts_.push_back(point);
        return point;
    }

    void find_root() {
        std::vector<std::size_t> order;
        for (std::size_t i = 0; i < volumes_.size(); ++i)
            if (mountable(volumes_[i])) order.push_back(i);
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            bool ra = is_root_partition_type(volumes_[a].type_guid), rb = is_root_partition_type(volumes_[b].type_guid);
            if (ra != rb) return ra;
            return volumes_[a].plan.size > volumes_[b].plan.size;
        });
        for (auto i : order) {
            auto& v = volumes_[i];
            std::string top = mount(v);
            std::vector<std::string> places{""};
            if (v.plan.filesystem == "btrfs") {
                // Subvolumes at the top level (inode 256 is a subvolume's root).
                UniqueFd dir(::open(top.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                for (const auto& e : storage::read_dir(dir.get(), top)) {
                    struct stat st{};
                    if (::fstatat(dir.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
                        st.st_ino == 256)
                        places.push_back(e.name);
                }
            }
            for (const auto& place : places) {
                std::string path = place.empty() ? top : top + "/" + place;
                UniqueFd root(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
                if (!root) continue;
                std::string why;
                if (!looks_like_root(root.get(), why)) continue;
                root_index_ = i;
                plan_.root = v.plan.name;
                plan_.root_reason = place.empty() ? why : fmt::format("its subvolume {} {}", place, why);
                fstab_ = parse_fstab(try_read_in_root(root.get(), "etc/fstab"));
                if (fstab_.empty())
                    plan_.warnings.push_back("the guest's /etc/fstab is empty or cannot be read inside its root");
                root_subvolume_ = place;
                return;
            }
        }
        // Say what could not be looked into: the root may be there.
        std::string unread;
        for (const auto& v : volumes_)
            if (v.plan.use.rfind("unsupported", 0) == 0 ||
                (!v.plan.filesystem.empty() && !mountable(v) && v.plan.kind != "swap" && v.plan.kind != "efi" &&
                 v.plan.filesystem != "swap" && v.plan.filesystem != "LVM2_member" && v.plan.filesystem != "vfat"))
                unread += fmt::format("; {} not read ({})", v.plan.name,
                                      v.plan.use.empty() ? v.plan.filesystem + " is not imported" : v.plan.use);
        throw Error(400, "No Linux root filesystem on the disk: no filesystem holds /etc/fstab and an init "
                         "(/sbin/init or /lib/systemd/systemd)" + unread);
    }

    // What the import does with a volume, keeping what was said of its
    // make-up (an LV's segments).
    static void set_use(Volume& v, const std::string& use) {
        if (v.lv && v.lv->segments.size() > 1)
            v.plan.use = fmt::format("{}; {} segments, assembled into one file", use, v.lv->segments.size());
        else
            v.plan.use = use;
    }

    std::vector<VolumeIdentity> identities() const {
        std::vector<VolumeIdentity> out;
        for (const auto& v : volumes_) out.push_back(v.id);
        return out;
    }

    void assemble() {
        const auto ids = identities();
        auto& root = volumes_[root_index_];
        // The guest's own fstab says which subvolume is "/".
        std::string root_source, root_options, subvolume = root_subvolume_;
        for (const auto& e : fstab_) {
            if (e.target != "/") continue;
            root_source = e.source;
            root_options = e.options;
            auto match = match_fstab_source(e.source, ids);
            if (match && *match != root_index_)
                plan_.warnings.push_back(fmt::format("the guest's fstab mounts {} at /, but its fstab was found on {}",
                                                     volumes_[*match].plan.name, root.plan.name));
            if (root.plan.filesystem == "btrfs") {
                if (auto s = e.option("subvol")) subvolume = *s;
                else if (auto id = e.option("subvolid")) {
                    if (*id != "5")
                        plan_.warnings.push_back("the root is named by subvolid=" + *id +
                                                 "; the subvolume holding /etc/fstab is used");
                } else subvolume = "";
            }
        }
        while (!subvolume.empty() && subvolume[0] == '/') subvolume.erase(0, 1);
        set_use(root, subvolume.empty() ? "root" : "root (subvolume " + subvolume + ")");
        tree_.push_back({"/", mount(root, subvolume)});
        plan_.mounts.push_back({"/", root.plan.name, root_source, root_options});

        std::vector<FstabEntry> entries;
        for (const auto& e : fstab_)
            if (e.target != "/") entries.push_back(e);
        std::stable_sort(entries.begin(), entries.end(),
                         [](const FstabEntry& a, const FstabEntry& b) { return depth(a.target) < depth(b.target); });
        for (const auto& e : entries) {
            auto leave = [&](const std::string& why) {
                plan_.left_out.push_back(fmt::format("{} {} ({}): {}", e.source, e.target, e.type, why));
            };
            if (e.type == "swap" || e.target == "none" || e.target == "swap") {
                leave("swap");
                continue;
            }
            if (is_network_filesystem(e.type)) {
                leave("network filesystem, not on the disk");
                continue;
            }
            const bool device = e.source.rfind("/dev/", 0) == 0 || e.source.find('=') != std::string::npos;
            if (!device || e.has_flag("bind")) continue; // tmpfs, proc, bind mounts: the guest mounts them itself
            if (!clean_mount_point(e.target)) {
                leave("mount point is not a plain absolute path");
                continue;
            }
            if (e.has_flag("noauto")) {
                leave("noauto: the guest does not mount it at boot");
                continue;
            }
            auto match = match_fstab_source(e.source, ids);
            if (!match) {
                leave("no volume on the disk matches it");
                plan_.warnings.push_back(fmt::format("fstab line {}: {} names no volume on this disk", e.line, e.source));
                continue;
            }
            auto& v = volumes_[*match];
            if (v.plan.kind == "efi" || v.plan.filesystem == "vfat") {
                leave("EFI system partition: a container boots no loader");
                continue;
            }
            if (!mountable(v)) {
                leave(v.plan.filesystem.empty() ? "no filesystem found on " + v.plan.name
                                                : v.plan.filesystem + " on " + v.plan.name + " is not imported");
                continue;
            }
            std::string subvol;
            if (v.plan.filesystem == "btrfs") subvol = e.option("subvol").value_or("");
            while (!subvol.empty() && subvol[0] == '/') subvol.erase(0, 1);
            tree_.push_back({e.target, mount(v, subvol)});
            plan_.mounts.push_back({e.target, v.plan.name, e.source, e.options});
            set_use(v, subvol.empty() ? "mounted at " + e.target
                                      : fmt::format("mounted at {} (subvolume {})", e.target, subvol));
        }
        if (options_.dry_run) return;

        UniqueFd target(::open(target_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
        if (!target) throw_errno("opening " + target_);
        for (std::size_t i = 0; i < tree_.size(); ++i) {
            const auto& [path, source] = tree_[i];
            step("copying", static_cast<int>(100 * i / tree_.size()));
            if (path == "/") {
                storage::copy_tree_into(source, target.get());
                continue;
            }
            UniqueFd made;
            try {
                made = make_dir_in_root(target.get(), path);
            } catch (const Error& e) {
                plan_.warnings.push_back(fmt::format("{} is not copied: its mount point in the guest's tree is not a "
                                                     "directory ({})",
                                                     path, e.what()));
                continue;
            }
            UniqueFd dir = open_in_root(target.get(), path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, true);
            if (!storage::read_dir(dir.get(), path).empty()) {
                plan_.warnings.push_back(fmt::format("files under {} on the filesystem below it were hidden by the "
                                                     "mount in the VM and are left out",
                                                     path));
                storage::remove_tree_contents(dir.get());
            }
            storage::copy_tree_into(source, dir.get());
        }
        step("copying", 100);
    }

    void fix() {
        // A dry run reads the guest's own (read-only) root.
        const std::string root = options_.dry_run ? tree_.front().second : target_;
        UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
        if (!root_fd) throw_errno("opening " + root);
        FixupOptions fixup_options;
        fixup_options.keep_network = options_.keep_network;
        fixup_options.keep_machine_id = options_.keep_machine_id;
        fixup_options.dry_run = options_.dry_run;
        run_fixups(root_fd.get(), fixup_options, plan_.fixups);
        auto os = read_guest_os(root_fd.get());
        plan_.os = os.name.empty() ? os.id : os.name;
        plan_.os_release = os.version_codename.empty() ? os.version_id : os.version_codename;
        plan_.os_version = os.version_id;
        plan_.architecture = os.architecture;
    }

    void unmount_all() {
        for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
        mounts_.clear();
        for (auto& v : volumes_) v.fs.reset();
    }

    std::string disk_, work_, target_;
    ImportOptions options_;
    ImportProgress progress_;
    Plan plan_;
    std::string raw_;
    UniqueFd raw_fd_;
    std::uint64_t raw_size_ = 0;
    std::vector<Volume> volumes_;
    std::size_t root_index_ = 0;
    std::string root_subvolume_;
    std::vector<FstabEntry> fstab_;
    std::vector<std::string> mounts_;
    std::vector<std::pair<std::string, std::string>> tree_; // guest path, mounted source
};

} // namespace

Plan import_disk(const std::string& disk, const std::string& work_dir, const std::string& target_rootfs,
                 const ImportOptions& options, const ImportProgress& progress) {
    Plan plan;
    std::exception_ptr error;
    // The import's mounts exist only in this thread's mount namespace: they
    // go with it, and with the process if it is killed.
    std::thread worker([&] {
        try {
            if (::unshare(CLONE_NEWNS) < 0) throw_errno("making the import's mount namespace");
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
                throw_errno("making the import's mounts private");
            Importer importer(disk, work_dir, target_rootfs, options, progress);
            plan = importer.run();
        } catch (...) {
            error = std::current_exception();
        }
    });
    worker.join();
    if (error) std::rethrow_exception(error);
    return plan;
}

} // namespace lodge::vm
