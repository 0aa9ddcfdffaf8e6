// Storage pools and their volumes behind one interface. A driver knows how to
// keep volumes (directories holding an instance's rootfs/, metadata.yaml and
// templates/, an image's unpacked files, or a custom volume's files) on one
// pool, and how to snapshot, copy and restore them. It knows nothing of
// instances' config or the database: the daemon decides what exists, the
// driver keeps the bytes.
//
// Layout under the pool's mount point, as LXD lays it out:
//   containers/<volume>                      instance volumes
//   containers-snapshots/<volume>/<snap>     their snapshots
//   images/<fingerprint>                     cached image volumes
//   custom/<volume>                          custom volumes
//   custom-snapshots/<volume>/<snap>
// Volume names carry the project as LXD does: "<project>_<name>" outside the
// default project.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lodge::storage {

enum class VolumeType { Container, Image, Custom };

// "containers", "images", "custom": the directory a type lives in.
const char* type_dir(VolumeType type);

// A volume, or one of its snapshots when snapshot is not empty.
struct Volume {
    VolumeType type = VolumeType::Container;
    std::string name;
    std::string snapshot;

    Volume snapshot_of(std::string snap) const { return {type, name, std::move(snap)}; }
    Volume parent() const { return {type, name, {}}; }
    bool is_snapshot() const { return !snapshot.empty(); }
};

// What a pool is: its name, driver name and LXD's config keys for it
// ("source", "size", "btrfs.mount_options", ...).
struct PoolSpec {
    std::string name;
    std::string driver;
    std::map<std::string, std::string> config;
};

struct Usage {
    std::uint64_t used = 0;
    std::uint64_t total = 0; // 0: unknown
};

// Everything a driver does is all or nothing: a failed call leaves the pool as
// it was. Errors are lodge::Error with an HTTP status (400 bad input, 404
// absent, 409 exists/busy, 500 otherwise).
class Driver {
public:
    virtual ~Driver() = default;

    const PoolSpec& spec() const { return spec_; }
    const std::string& mount_point() const { return mount_point_; }

    // Pool lifecycle. create() makes the pool's storage (the directory, or
    // for btrfs a loop file, mkfs and mount, or an existing btrfs directory
    // named by "source") and fills spec().config with the keys it settled
    // ("source", "size"); it undoes itself on failure. mount() makes an
    // existing pool usable (lodged calls it at start; a no-op when mounted).
    // unmount() undoes mount(). destroy() removes what create() made; the
    // caller has checked the pool holds no volumes.
    virtual void create() = 0;
    virtual void mount() = 0;
    virtual void unmount() = 0;
    virtual void destroy() = 0;
    virtual Usage usage() const = 0;

    // Where a volume's (or snapshot's) files are. Pure: does not check existence.
    std::string path(const Volume& volume) const;
    bool exists(const Volume& volume) const;

    // An empty volume (a directory or subvolume, mode 0711).
    virtual void create_volume(const Volume& volume) = 0;
    // A new volume holding a copy of source (a volume or a snapshot, of any
    // type): a writable snapshot on btrfs, a reflink or faithful copy on dir.
    // The copy keeps ownership, modes, xattrs, ACLs, hardlinks, sparse files
    // and device nodes. target may also be a snapshot of an existing volume
    // (an instance copy taking its snapshots along); it is then made like
    // create_snapshot's, read-only where the driver can.
    virtual void copy_volume(const Volume& target, const Volume& source) = 0;
    // A snapshot (target_snapshot, of a volume that may not exist yet) holding
    // a copy of source (a volume or snapshot on this pool): how a copied
    // instance gets its source's snapshots. Read-only like create_snapshot's.
    virtual void copy_snapshot(const Volume& target_snapshot, const Volume& source) = 0;
    // A new volume or snapshot holding a faithful copy of a directory tree
    // anywhere on the host (another pool's volume, an unpacked backup):
    // copies across pools and imports.
    virtual void import_volume(const Volume& target, const std::string& from_dir) = 0;
    // Removes a volume and all its snapshots.
    virtual void delete_volume(const Volume& volume) = 0;
    // Renames a volume and moves its snapshots with it.
    virtual void rename_volume(const Volume& volume, const std::string& new_name) = 0;

    // A read-only point-in-time copy of the volume. On btrfs it is atomic; on
    // dir the caller freezes writers around it (atomic_snapshots() false).
    virtual void create_snapshot(const Volume& snapshot) = 0;
    virtual void delete_snapshot(const Volume& snapshot) = 0;
    virtual void rename_snapshot(const Volume& snapshot, const std::string& new_name) = 0;
    // The volume's files become the snapshot's again (the snapshot stays).
    // The switch is atomic: a crash leaves the old or the new contents.
    virtual void restore_snapshot(const Volume& snapshot) = 0;
    virtual bool atomic_snapshots() const = 0;

    // Size limit of a volume (LXD's "size" on the root disk or volume).
    // Returns false when this driver cannot enforce one (dir), so the caller
    // can say so; nullopt removes the limit.
    virtual bool set_quota(const Volume& volume, std::optional<std::uint64_t> bytes) = 0;
    // Bytes used by the volume (not counting its snapshots).
    virtual std::uint64_t volume_usage(const Volume& volume) const = 0;

    // The volumes and snapshots on disk, for reconciling with the database
    // (temporary ".lodge-tmp-" entries are not volumes and are left out).
    std::vector<Volume> list_volumes() const;
    // Removes what an interrupted call left behind (temporary volumes, half
    // copies) and returns the paths it removed, for the log.
    virtual std::vector<std::string> remove_leftovers() = 0;

protected:
    Driver(PoolSpec spec, std::string mount_point)
        : spec_(std::move(spec)), mount_point_(std::move(mount_point)) {}
    PoolSpec spec_;
    std::string mount_point_;
};

// The driver for a pool. Pools live at <pools_dir>/<name> (the mount point);
// loop files at <disks_dir>/<name>.img. Error(400) for an unknown driver, and
// for a known one this host cannot run (zfs, lvm, ceph: the message says what
// is missing).
std::unique_ptr<Driver> make_driver(PoolSpec spec, const std::string& pools_dir,
                                    const std::string& disks_dir);

// The driver names lodged lists in /1.0 "storage_supported_drivers" (those
// that work here) and the ones it knows of but cannot run.
std::vector<std::string> available_drivers();

} // namespace lodge::storage
