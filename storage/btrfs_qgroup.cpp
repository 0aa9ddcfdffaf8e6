// Quota groups through BTRFS_IOC_QUOTA_CTL, BTRFS_IOC_QGROUP_LIMIT and
// searches of the quota tree (BTRFS_IOC_TREE_SEARCH), so no `btrfs qgroup
// show` output is parsed.
#include "storage/btrfs_qgroup.hpp"

#include "common/error.hpp"

#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <endian.h>

namespace lodge::storage::btrfs {

namespace {

// The first item of (0, type, offset) in the quota tree, or nullopt when
// there is none (or no quota tree at all).
std::optional<std::string> quota_item(int fd, std::uint32_t type, std::uint64_t offset) {
    btrfs_ioctl_search_args args{};
    auto& key = args.key;
    key.tree_id = BTRFS_QUOTA_TREE_OBJECTID;
    key.min_objectid = key.max_objectid = 0;
    key.min_type = key.max_type = type;
    key.min_offset = key.max_offset = offset;
    key.max_transid = UINT64_MAX;
    key.nr_items = 1;
    if (::ioctl(fd, BTRFS_IOC_TREE_SEARCH, &args) < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw_errno("searching the btrfs quota tree");
    }
    if (key.nr_items == 0) return std::nullopt;
    btrfs_ioctl_search_header header{};
    std::memcpy(&header, args.buf, sizeof header);
    if (header.type != type || header.offset != offset) return std::nullopt;
    return std::string(args.buf + sizeof header, header.len);
}

std::uint64_t le64_at(const std::string& item, size_t index) {
    std::uint64_t v = 0;
    if (item.size() < (index + 1) * 8) throw Error("short btrfs quota item");
    std::memcpy(&v, item.data() + index * 8, 8);
    return le64toh(v);
}

std::optional<std::uint64_t> status_flags(int fd) {
    // btrfs_qgroup_status_item: version, generation, flags, rescan.
    auto item = quota_item(fd, BTRFS_QGROUP_STATUS_KEY, 0);
    if (!item) return std::nullopt;
    return le64_at(*item, 2);
}

} // namespace

bool quotas_enabled(int fd) {
    auto flags = status_flags(fd);
    return flags && (*flags & BTRFS_QGROUP_STATUS_FLAG_ON);
}

void enable_quotas(int fd) {
    btrfs_ioctl_quota_ctl_args args{};
    args.cmd = BTRFS_QUOTA_CTL_ENABLE;
    if (::ioctl(fd, BTRFS_IOC_QUOTA_CTL, &args) < 0) throw_errno("enabling btrfs quotas");
}

void set_limit(int subvolume_fd, std::optional<std::uint64_t> bytes) {
    btrfs_ioctl_qgroup_limit_args args{};
    args.qgroupid = 0; // the subvolume of the fd
    args.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
    args.lim.max_rfer = bytes ? *bytes : UINT64_MAX; // all ones clears the limit
    if (::ioctl(subvolume_fd, BTRFS_IOC_QGROUP_LIMIT, &args) < 0) throw_errno("setting the btrfs qgroup limit");
}

std::optional<std::uint64_t> limit(int fs_fd, std::uint64_t subvolume_id) {
    // btrfs_qgroup_limit_item: flags, max_rfer, max_excl, rsv_rfer, rsv_excl.
    auto item = quota_item(fs_fd, BTRFS_QGROUP_LIMIT_KEY, subvolume_id);
    if (!item || !(le64_at(*item, 0) & BTRFS_QGROUP_LIMIT_MAX_RFER)) return std::nullopt;
    return le64_at(*item, 1);
}

std::optional<std::uint64_t> referenced(int fs_fd, std::uint64_t subvolume_id) {
    auto flags = status_flags(fs_fd);
    if (!flags || !(*flags & BTRFS_QGROUP_STATUS_FLAG_ON) ||
        (*flags & (BTRFS_QGROUP_STATUS_FLAG_RESCAN | BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT)))
        return std::nullopt;
    // btrfs_qgroup_info_item: generation, rfer, rfer_cmpr, excl, excl_cmpr.
    auto item = quota_item(fs_fd, BTRFS_QGROUP_INFO_KEY, subvolume_id);
    if (!item) return std::nullopt;
    return le64_at(*item, 1);
}

} // namespace lodge::storage::btrfs
