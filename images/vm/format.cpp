// probe_disk: which format an untrusted image is, and the checks that run
// before qemu-img may open it (the per-format checks are in format_*.cpp).
#include "images/vm/format.hpp"

#include "images/vm/detail/disk_reader.hpp"

#include <blkid/blkid.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace lodge::vm {

namespace detail {

std::vector<unsigned char> DiskReader::read_some(std::uint64_t offset, std::uint64_t length) const {
    std::vector<unsigned char> buf;
    if (offset >= file_size_) return buf;
    length = std::min(length, file_size_ - offset);
    buf.resize(length);
    std::size_t done = 0;
    while (done < length) {
        ssize_t n = ::pread(fd_, buf.data() + done, length - done, off_t(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("reading the disk image");
        if (n == 0) break;
        done += std::size_t(n);
    }
    buf.resize(done);
    return buf;
}

void DiskReader::require(std::uint64_t offset, std::uint64_t length, const std::string& what) const {
    if (!inside(offset, length))
        throw Error(400, fmt::format("disk image is truncated or corrupt: {} (bytes {}+{}) lies beyond the end of "
                                     "the {}-byte file",
                                     what, offset, length, file_size_));
}

std::vector<unsigned char> DiskReader::read(std::uint64_t offset, std::uint64_t length, const std::string& what) const {
    require(offset, length, what);
    auto buf = read_some(offset, length);
    if (buf.size() != length) throw Error(400, "disk image shrank while it was read: " + what);
    return buf;
}

void DiskReader::check_virtual_size(std::uint64_t size) const {
    if (size > max_virtual_size_)
        throw Error(400, fmt::format("virtual size {} is above the limit of {}", size_text(size),
                                     size_text(max_virtual_size_)));
}

std::string size_text(std::uint64_t bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = double(bytes);
    int unit = 0;
    while (v >= 1024 && unit < 6) {
        v /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[unit]);
}

std::string printable(const std::string& text) {
    std::string out;
    for (char c : text.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (text.size() > 200) out += "...";
    return out;
}

} // namespace detail

const char* format_name(DiskFormat format) {
    switch (format) {
    case DiskFormat::raw: return "raw";
    case DiskFormat::qcow2: return "qcow2";
    case DiskFormat::vmdk: return "vmdk";
    case DiskFormat::vdi: return "vdi";
    case DiskFormat::vhdx: return "vhdx";
    }
    return "raw";
}

namespace {

using detail::DiskReader;

bool starts_with(const std::vector<unsigned char>& buf, std::size_t offset, std::string_view magic) {
    return buf.size() >= offset + magic.size() && std::memcmp(buf.data() + offset, magic.data(), magic.size()) == 0;
}

// A raw disk has no header of its own; we take one only when it starts the
// way a disk or a filesystem does, so that a stray file (or a format we do not
// know) is not imported as a disk of garbage.
bool looks_like_raw_disk(int fd, const DiskReader& disk, const std::vector<unsigned char>& head) {
    if (head.size() >= 512 && head[510] == 0x55 && head[511] == 0xaa) return true;
    if (starts_with(head, 512, "EFI PART") || starts_with(head, 4096, "EFI PART")) return true;
    std::unique_ptr<blkid_struct_probe, void (*)(blkid_probe)> probe(blkid_new_probe(), blkid_free_probe);
    if (!probe || blkid_probe_set_device(probe.get(), fd, 0, blkid_loff_t(disk.file_size())) != 0) return false;
    blkid_probe_enable_superblocks(probe.get(), 1);
    blkid_probe_set_superblocks_flags(probe.get(), BLKID_SUBLKS_TYPE);
    blkid_probe_enable_partitions(probe.get(), 0);
    return blkid_do_safeprobe(probe.get()) == 0;
}

// Formats qemu knows and we do not import: named so the message can say
// what the file is and how to make it importable.
const char* other_known_format(const std::vector<unsigned char>& head) {
    if (starts_with(head, 0, "QFI\xfb")) return nullptr;
    if (starts_with(head, 0, "QFI")) return "qcow (version 1)";
    if (starts_with(head, 0, std::string_view("QED\0", 4))) return "QED";
    if (starts_with(head, 0, "conectix")) return "VHD (vpc)";
    if (starts_with(head, 0, "WithoutFreeSpace") || starts_with(head, 0, "WithouFreSpacExt")) return "Parallels";
    if (starts_with(head, 0, "COWD")) return "VMDK version 3 (COWD)";
    return nullptr;
}

} // namespace

DiskInfo probe_disk(int fd, std::uint64_t max_virtual_size) {
    struct stat st {};
    check(::fstat(fd, &st), "fstat on the disk image");
    if (!S_ISREG(st.st_mode)) throw Error(400, "the disk image is not a regular file");
    DiskReader disk(fd, std::uint64_t(st.st_size), max_virtual_size);
    auto head = disk.read_some(0, 65536);

    DiskInfo info;
    info.file_size = disk.file_size();
    if (starts_with(head, 0, "QFI\xfb")) {
        info.format = DiskFormat::qcow2;
        info.virtual_size = detail::probe_qcow2(disk);
    } else if (starts_with(head, 0, "KDMV")) {
        info.format = DiskFormat::vmdk;
        info.virtual_size = detail::probe_vmdk(disk);
    } else if (head.size() >= 0x44 && detail::le32(head.data() + 0x40) == 0xbeda107f) {
        info.format = DiskFormat::vdi;
        info.virtual_size = detail::probe_vdi(disk);
    } else if (starts_with(head, 0, "vhdxfile")) {
        info.format = DiskFormat::vhdx;
        info.virtual_size = detail::probe_vhdx(disk);
    } else if (std::string text(head.begin(), head.end()); detail::is_vmdk_descriptor(text)) {
        detail::refuse_vmdk_descriptor(text);
    } else if (const char* other = other_known_format(head)) {
        throw Error(400, fmt::format("{} disk images are not supported; convert it to qcow2 or raw with qemu-img "
                                     "convert first",
                                     other));
    } else if (looks_like_raw_disk(fd, disk, head)) {
        info.format = DiskFormat::raw;
        info.virtual_size = disk.file_size();
    } else {
        throw Error(400, "unknown disk format: the file is neither qcow2, VMDK, VDI nor VHDX, and holds no "
                         "partition table or filesystem a raw disk would start with");
    }
    disk.check_virtual_size(info.virtual_size);
    return info;
}

} // namespace lodge::vm
