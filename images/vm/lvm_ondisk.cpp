// LVM2's on-disk structures of one PV: the label (LABELONE in one of the
// first four sectors), the pv_header with its data and metadata areas, and
// the metadata area header whose first raw_locn points at the current text
// metadata in a circular buffer. Checksums as LVM computes them.
#include "images/vm/detail/lvm_ondisk.hpp"

#include "common/error.hpp"
#include "images/vm/detail/disk_reader.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lodge::vm::detail {

namespace {

constexpr std::uint32_t initial_crc = 0xf597a6cf;
constexpr std::uint64_t sector = 512;
constexpr std::uint64_t mda_header_size = 512;
constexpr std::uint64_t max_metadata = 16u << 20;
constexpr const char* mda_magic = " LVM2 x[5A%r0N*>";

std::vector<unsigned char> read_at(int fd, std::uint64_t offset, std::uint64_t length) {
    std::vector<unsigned char> buf(length);
    std::size_t done = 0;
    while (done < length) {
        ssize_t n = ::pread(fd, buf.data() + done, length - done, off_t(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("reading LVM metadata");
        if (n == 0) throw Error(400, "LVM metadata lies beyond the end of the disk");
        done += std::size_t(n);
    }
    return buf;
}

// One metadata area's current text, or "" (with the reason in note) when
// the area is unusable, as LVM itself skips a bad copy.
std::string read_area(int fd, const PvCandidate& pv, std::uint64_t area_offset, std::uint64_t area_size,
                      std::string& note) {
    if (area_size < mda_header_size || area_offset > pv.size || area_size > pv.size - area_offset) {
        note = "metadata area outside the PV";
        return {};
    }
    auto h = read_at(fd, pv.offset + area_offset, mda_header_size);
    if (lvm_crc(initial_crc, h.data() + 4, mda_header_size - 4) != le32(h.data())) {
        note = "metadata area header checksum mismatch";
        return {};
    }
    if (std::memcmp(h.data() + 4, mda_magic, 16) != 0 || le32(h.data() + 20) != 1) {
        note = "metadata area header has the wrong magic or version";
        return {};
    }
    if (le64(h.data() + 24) != area_offset) {
        note = "metadata area header names another start";
        return {};
    }
    std::uint64_t offset = le64(h.data() + 40), size = le64(h.data() + 48);
    std::uint32_t checksum = le32(h.data() + 56), flags = le32(h.data() + 60);
    if (offset == 0 || size == 0 || (flags & 1)) { // 1: RAW_LOCN_IGNORED
        note = "metadata area holds no metadata";
        return {};
    }
    std::uint64_t ring = area_size - mda_header_size;
    if (offset < mda_header_size || offset >= area_size || size > ring || size > max_metadata) {
        note = "metadata location is outside its area";
        return {};
    }
    // The text may wrap from the end of the area to just after its header.
    std::uint64_t first = std::min(size, area_size - offset);
    auto text = read_at(fd, pv.offset + area_offset + offset, first);
    if (first < size) {
        auto rest = read_at(fd, pv.offset + area_offset + mda_header_size, size - first);
        text.insert(text.end(), rest.begin(), rest.end());
    }
    if (lvm_crc(initial_crc, text.data(), text.size()) != checksum) {
        note = "metadata checksum mismatch";
        return {};
    }
    std::string s(text.begin(), text.end());
    return s.substr(0, s.find('\0'));
}

} // namespace

std::uint32_t lvm_crc(std::uint32_t crc, const unsigned char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return crc;
}

std::optional<PvOnDisk> read_pv(int fd, const PvCandidate& pv) {
    if (pv.size < 4 * sector) return std::nullopt;
    auto head = read_at(fd, pv.offset, 4 * sector);
    for (std::uint64_t s = 0; s < 4; ++s) {
        const unsigned char* l = head.data() + s * sector;
        if (std::memcmp(l, "LABELONE", 8) != 0) continue;
        if (le64(l + 8) != s) continue;
        if (lvm_crc(initial_crc, l + 20, sector - 20) != le32(l + 16))
            throw Error(400, fmt::format("LVM label at sector {} of the PV at offset {} has a bad checksum", s, pv.offset));
        if (std::memcmp(l + 24, "LVM2 001", 8) != 0)
            throw Error(400, "LVM label of an unknown type (not LVM2 001)");
        std::uint32_t header_at = le32(l + 20);
        if (header_at < 32 || header_at > sector - 48) throw Error(400, "LVM label points outside its sector");
        const unsigned char* p = l + header_at;
        const unsigned char* end = l + sector;
        PvOnDisk out;
        out.uuid.assign(reinterpret_cast<const char*>(p), 32);
        out.device_size = le64(p + 32);
        p += 40;
        // Two lists of (offset, size) ending in a zero entry: data areas,
        // then metadata areas.
        for (int list = 0; list < 2; ++list) {
            for (;;) {
                if (p + 16 > end) throw Error(400, "LVM PV header runs past its sector");
                std::uint64_t offset = le64(p), size = le64(p + 8);
                p += 16;
                if (offset == 0) break;
                if (list == 0)
                    out.data_areas.push_back({offset, size});
                else
                    out.metadata_areas.push_back({offset, size});
            }
        }
        for (const auto& area : out.metadata_areas) {
            std::string note;
            std::string text = read_area(fd, pv, area.offset, area.size, note);
            if (!text.empty()) {
                out.metadata.push_back(std::move(text));
            } else {
                out.notes.push_back(note);
            }
        }
        return out;
    }
    return std::nullopt;
}

} // namespace lodge::vm::detail
