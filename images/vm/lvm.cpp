// read_lvm: the newest metadata of each VG, its LVs' segments resolved to
// byte ranges of the disk with every extent checked against its PV; and
// assemble_lv, which copies an LV's allocated bytes into one sparse file.
#include "images/vm/lvm.hpp"

#include "common/error.hpp"
#include "images/vm/detail/lvm_ondisk.hpp"
#include "images/vm/detail/lvm_text.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

namespace lodge::vm {

namespace {

using detail::LvmSection;
using detail::LvmValue;

constexpr std::size_t max_pvs = 1024, max_segments = 65536;

std::uint64_t mul(std::uint64_t a, std::uint64_t b, const std::string& what) {
    std::uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) throw Error(400, "LVM metadata is malformed: " + what + " overflows");
    return r;
}

std::uint64_t add(std::uint64_t a, std::uint64_t b, const std::string& what) {
    std::uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) throw Error(400, "LVM metadata is malformed: " + what + " overflows");
    return r;
}

std::string without_dashes(std::string s) {
    s.erase(std::remove(s.begin(), s.end(), '-'), s.end());
    return s;
}

struct Vg {
    std::string name;
    std::int64_t seqno = -1;
    LvmSection section;
};

struct PvOfVg {
    const PvCandidate* where = nullptr; // null when the disk lacks this PV
    std::string uuid;
    std::uint64_t pe_start = 0, pe_count = 0; // sectors, extents
};

std::string reason_for(const std::string& type) {
    if (type == "thin") return "thin volume: thin provisioning is not supported";
    if (type == "thin-pool") return "thin pool: thin provisioning is not supported";
    if (type.rfind("raid", 0) == 0) return "RAID volume (" + type + ") is not supported";
    if (type == "mirror") return "mirrored volume is not supported";
    if (type == "snapshot") return "snapshot: copy-on-write snapshots are not supported";
    if (type == "cache" || type == "cache-pool" || type == "writecache") return "cached volume (" + type + ") is not supported";
    if (type == "vdo" || type == "vdo-pool") return "VDO volume is not supported";
    if (type == "integrity") return "integrity volume is not supported";
    return "segment type '" + type + "' is not supported";
}

void unsupported(LogicalVolume& lv, const std::string& reason) {
    if (lv.supported || lv.unsupported_reason.empty()) lv.unsupported_reason = reason;
    lv.supported = false;
}

std::map<std::string, PvOfVg> pvs_of(const Vg& vg, std::uint64_t extent_bytes,
                                     const std::vector<std::pair<PvCandidate, detail::PvOnDisk>>& found) {
    std::map<std::string, PvOfVg> out;
    const LvmSection* section = vg.section.section("physical_volumes");
    if (!section) throw Error(400, "LVM metadata of VG '" + vg.name + "' lists no physical volumes");
    if (section->sections.size() > max_pvs) throw Error(400, "LVM metadata lists too many physical volumes");
    for (const auto& [name, s] : section->sections) {
        std::string where = "PV " + name + " of VG " + vg.name;
        PvOfVg pv;
        pv.uuid = s.string("id", where);
        pv.pe_start = s.unsigned_number("pe_start", where);
        pv.pe_count = s.unsigned_number("pe_count", where);
        for (const auto& [candidate, disk] : found)
            if (disk.uuid == without_dashes(pv.uuid)) pv.where = &candidate;
        if (pv.where) {
            std::uint64_t end = add(mul(pv.pe_start, 512, where), mul(pv.pe_count, extent_bytes, where), where);
            if (end > pv.where->size)
                throw Error(400, fmt::format("LVM metadata is malformed: the extents of {} run past the end of its "
                                             "partition ({} > {} bytes)",
                                             where, end, pv.where->size));
        }
        out.emplace(name, pv);
    }
    return out;
}

void add_segment(LogicalVolume& lv, const LvmSection& s, const std::string& where, std::uint64_t extent_bytes,
                 const std::map<std::string, PvOfVg>& pvs) {
    LvSegment seg;
    seg.start_extent = s.unsigned_number("start_extent", where);
    seg.extent_count = s.unsigned_number("extent_count", where);
    seg.type = s.string("type", where);
    seg.length = mul(seg.extent_count, extent_bytes, where);
    seg.lv_offset = mul(seg.start_extent, extent_bytes, where);
    lv.segments.push_back(seg);
    LvSegment& added = lv.segments.back();
    if (seg.type != "striped") return unsupported(lv, reason_for(seg.type));
    std::uint64_t stripes = s.unsigned_number("stripe_count", where);
    if (stripes != 1) return unsupported(lv, fmt::format("striped over {} PVs: only linear volumes are supported", stripes));
    const LvmValue* list = s.value("stripes");
    if (!list || list->kind != LvmValue::Kind::list || list->list.size() != 2 ||
        list->list[0].kind != LvmValue::Kind::string || list->list[1].kind != LvmValue::Kind::number ||
        list->list[1].num < 0)
        throw Error(400, "LVM metadata is malformed: " + where + " has no stripes [\"pvN\", extent]");
    auto pv = pvs.find(list->list[0].str);
    if (pv == pvs.end()) throw Error(400, "LVM metadata is malformed: " + where + " names an unknown PV");
    if (!pv->second.where) return unsupported(lv, "its PV " + pv->second.uuid + " is missing from this disk");
    std::uint64_t pe = std::uint64_t(list->list[1].num);
    if (add(pe, seg.extent_count, where) > pv->second.pe_count)
        throw Error(400, fmt::format("LVM metadata is malformed: {} uses extents {}-{} of a PV with {} extents", where,
                                     pe, pe + seg.extent_count, pv->second.pe_count));
    added.disk_offset = add(add(pv->second.where->offset, mul(pv->second.pe_start, 512, where), where),
                            mul(pe, extent_bytes, where), where);
}

LogicalVolume lv_of(const Vg& vg, const std::string& name, const LvmSection& s, std::uint64_t extent_bytes,
                    const std::map<std::string, PvOfVg>& pvs) {
    LogicalVolume lv;
    lv.vg = vg.name;
    lv.name = name;
    std::string where = "LV " + vg.name + "/" + name;
    lv.uuid = s.string("id", where);
    auto status = s.strings("status");
    lv.visible = std::find(status.begin(), status.end(), "VISIBLE") != status.end();
    lv.supported = true;
    std::uint64_t count = s.unsigned_number("segment_count", where);
    if (count == 0 || count > max_segments) throw Error(400, "LVM metadata is malformed: " + where + " has no segments");
    std::uint64_t next = 0;
    for (std::uint64_t i = 1; i <= count; ++i) {
        const LvmSection* seg = s.section("segment" + std::to_string(i));
        std::string seg_where = fmt::format("{} segment {}", where, i);
        if (!seg) throw Error(400, "LVM metadata is malformed: " + seg_where + " is missing");
        add_segment(lv, *seg, seg_where, extent_bytes, pvs);
        if (lv.segments.back().start_extent != next)
            throw Error(400, "LVM metadata is malformed: the segments of " + where + " are not contiguous");
        next = add(next, lv.segments.back().extent_count, where);
    }
    lv.size = mul(next, extent_bytes, where);
    return lv;
}

// Old-style snapshots: a hidden LV with a "snapshot" segment ties an origin
// to its copy-on-write store. The origin's own extents hold its current
// data (reads of a snapshot-origin go straight to them) unless a merge of
// the snapshot back into it is pending.
void mark_snapshots(std::vector<LogicalVolume>& lvs, std::size_t first, const LvmSection& section) {
    for (const auto& [name, s] : section.sections) {
        for (const auto& [seg_name, seg] : s.sections) {
            const LvmValue* type = seg.value("type");
            if (!type || type->kind != LvmValue::Kind::string || type->str != "snapshot") continue;
            const LvmValue* origin = seg.value("origin");
            const LvmValue* cow = seg.value("cow_store");
            const LvmValue* merging = seg.value("merging_store");
            for (std::size_t i = first; i < lvs.size(); ++i) {
                if (origin && origin->kind == LvmValue::Kind::string && merging && lvs[i].name == origin->str)
                    unsupported(lvs[i], "a snapshot merge into this volume is pending");
                for (const LvmValue* store : {cow, merging})
                    if (store && store->kind == LvmValue::Kind::string && lvs[i].name == store->str)
                        unsupported(lvs[i], "copy-on-write store of a snapshot: snapshots are not supported");
            }
        }
    }
}

void add_vg(std::vector<LogicalVolume>& out, const Vg& vg,
            const std::vector<std::pair<PvCandidate, detail::PvOnDisk>>& found) {
    std::string where = "VG " + vg.name;
    std::uint64_t extent_sectors = vg.section.unsigned_number("extent_size", where);
    if (extent_sectors == 0 || extent_sectors > (std::uint64_t(1) << 32))
        throw Error(400, "LVM metadata is malformed: " + where + " has an invalid extent size");
    std::uint64_t extent_bytes = extent_sectors * 512;
    auto pvs = pvs_of(vg, extent_bytes, found);
    const LvmSection* lvs = vg.section.section("logical_volumes");
    if (!lvs) return;
    std::size_t first = out.size();
    for (const auto& [name, s] : lvs->sections) out.push_back(lv_of(vg, name, s, extent_bytes, pvs));
    mark_snapshots(out, first, *lvs);
}

} // namespace

std::vector<LogicalVolume> read_lvm(int fd, const std::vector<PvCandidate>& pvs) {
    if (pvs.size() > max_pvs) throw Error(400, "too many LVM physical volumes");
    std::vector<std::pair<PvCandidate, detail::PvOnDisk>> found;
    for (const auto& candidate : pvs)
        if (auto pv = detail::read_pv(fd, candidate)) found.emplace_back(candidate, std::move(*pv));
    // Every PV may carry a copy of its VG's metadata; the highest seqno wins.
    std::map<std::string, Vg> vgs;
    for (const auto& [candidate, pv] : found) {
        for (const auto& text : pv.metadata) {
            auto root = detail::parse_lvm_text(text);
            for (auto& [name, section] : root.sections) {
                std::string id = section.string("id", "VG " + name);
                std::int64_t seqno = section.number("seqno", "VG " + name);
                auto& vg = vgs[id];
                if (seqno > vg.seqno) vg = Vg{name, seqno, section};
            }
        }
    }
    std::vector<LogicalVolume> out;
    for (const auto& [id, vg] : vgs) add_vg(out, vg, found);
    return out;
}

namespace {

void copy_range(int in, int out, std::uint64_t from, std::uint64_t to, std::uint64_t length) {
    std::vector<char> buf;
    while (length > 0) {
        loff_t in_off = loff_t(from), out_off = loff_t(to);
        ssize_t n = ::copy_file_range(in, &in_off, out, &out_off, std::min<std::uint64_t>(length, 1 << 30), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
            // Fall back to read and write (other filesystems, old kernels).
            buf.resize(1 << 20);
            std::size_t chunk = std::min<std::uint64_t>(length, buf.size());
            n = ::pread(in, buf.data(), chunk, off_t(from));
            if (n > 0 && ::pwrite(out, buf.data(), std::size_t(n), off_t(to)) != n) throw_errno("writing the LV");
        }
        if (n < 0) throw_errno("copying the LV");
        if (n == 0) throw Error(400, "the LV runs past the end of the disk");
        from += std::uint64_t(n);
        to += std::uint64_t(n);
        length -= std::uint64_t(n);
    }
}

} // namespace

void assemble_lv(int disk_fd, const LogicalVolume& lv, int out_fd) {
    if (!lv.supported)
        throw Error(400, fmt::format("LV {}/{} cannot be assembled: {}", lv.vg, lv.name, lv.unsupported_reason));
    for (const auto& seg : lv.segments) {
        std::uint64_t pos = seg.disk_offset, end = seg.disk_offset + seg.length;
        while (pos < end) {
            off_t data = ::lseek(disk_fd, off_t(pos), SEEK_DATA);
            if (data < 0 && errno == ENXIO) break; // only a hole remains
            if (data < 0) throw_errno("SEEK_DATA on the disk");
            if (std::uint64_t(data) >= end) break;
            off_t hole = ::lseek(disk_fd, data, SEEK_HOLE);
            if (hole < 0) throw_errno("SEEK_HOLE on the disk");
            std::uint64_t stop = std::min<std::uint64_t>(std::uint64_t(hole), end);
            copy_range(disk_fd, out_fd, std::uint64_t(data), seg.lv_offset + (std::uint64_t(data) - seg.disk_offset),
                       stop - std::uint64_t(data));
            pos = stop;
        }
    }
    if (::ftruncate(out_fd, off_t(lv.size)) != 0) throw_errno("sizing the assembled LV");
}

} // namespace lodge::vm
