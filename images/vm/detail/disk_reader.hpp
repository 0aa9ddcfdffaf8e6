// Bounds-checked reads of an untrusted image file for the format probes:
// every offset and length comes from the image, so every read says what it
// was reading when it falls outside the file.
#pragma once

#include "common/error.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace lodge::vm::detail {

class DiskReader {
public:
    DiskReader(int fd, std::uint64_t file_size, std::uint64_t max_virtual_size)
        : fd_(fd), file_size_(file_size), max_virtual_size_(max_virtual_size) {}

    std::uint64_t file_size() const { return file_size_; }
    // True when [offset, offset+length) lies inside the file (no overflow).
    bool inside(std::uint64_t offset, std::uint64_t length) const {
        return offset <= file_size_ && length <= file_size_ - offset;
    }
    // Exactly length bytes at offset; Error(400) "<format> image is truncated:
    // <what> ..." when they are not all in the file.
    std::vector<unsigned char> read(std::uint64_t offset, std::uint64_t length, const std::string& what) const;
    // Up to length bytes at offset (fewer at the end of the file).
    std::vector<unsigned char> read_some(std::uint64_t offset, std::uint64_t length) const;
    // Error(400) unless [offset, offset+length) is inside the file.
    void require(std::uint64_t offset, std::uint64_t length, const std::string& what) const;
    // Error(400) when the image's virtual size is above the caller's limit;
    // the probes call it before they size any table by the virtual size.
    void check_virtual_size(std::uint64_t size) const;

private:
    int fd_;
    std::uint64_t file_size_;
    std::uint64_t max_virtual_size_;
};

inline std::uint16_t le16(const unsigned char* p) { return std::uint16_t(p[0] | p[1] << 8); }
inline std::uint32_t le32(const unsigned char* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}
inline std::uint64_t le64(const unsigned char* p) { return le32(p) | std::uint64_t(le32(p + 4)) << 32; }
inline std::uint32_t be32(const unsigned char* p) {
    return std::uint32_t(p[3]) | std::uint32_t(p[2]) << 8 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[0]) << 24;
}
inline std::uint64_t be64(const unsigned char* p) { return std::uint64_t(be32(p)) << 32 | be32(p + 4); }

// "16.0 TiB": one decimal in the largest binary unit, for messages.
std::string size_text(std::uint64_t bytes);
// Printable ASCII of an untrusted name, cut to 200 characters, for messages.
std::string printable(const std::string& text);

// The probes for each format; each throws Error(400) on what it refuses and
// returns the virtual size.
std::uint64_t probe_qcow2(const DiskReader& disk);
std::uint64_t probe_vmdk(const DiskReader& disk);
std::uint64_t probe_vdi(const DiskReader& disk);
std::uint64_t probe_vhdx(const DiskReader& disk);
// Error(400) naming the first extent of a VMDK text descriptor.
[[noreturn]] void refuse_vmdk_descriptor(const std::string& text);
// True when text (the first bytes of a file) looks like a VMDK descriptor.
bool is_vmdk_descriptor(const std::string& text);

} // namespace lodge::vm::detail
