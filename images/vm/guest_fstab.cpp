// Reading the guest's fstab and matching its sources to the disk's volumes.
#include "images/vm/guest_fstab.hpp"

#include "common/path.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace lodge::vm {

namespace {


std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// LVM's /dev/mapper name: VG and LV joined by "-", each "-" in them doubled.
std::string mapper_name(const std::string& vg, const std::string& lv) {
    auto escape = [](const std::string& s) {
        std::string out;
        for (char c : s) out += c == '-' ? std::string("--") : std::string(1, c);
        return out;
    };
    return escape(vg) + "-" + escape(lv);
}

// The partition number a device path of the first disk names, or 0.
int partition_of_device(const std::string& dev) {
    static const char* const disks[] = {"/dev/sda", "/dev/vda", "/dev/hda", "/dev/xvda", "/dev/nvme0n1p",
                                        "/dev/mmcblk0p"};
    for (const char* disk : disks) {
        std::string prefix = disk;
        if (!starts_with(dev, prefix)) continue;
        std::string rest = dev.substr(prefix.size());
        if (rest.empty() || rest.size() > 3 || !std::all_of(rest.begin(), rest.end(), ::isdigit)) return 0;
        return std::stoi(rest);
    }
    return 0;
}

} // namespace

std::optional<std::string> FstabEntry::option(const std::string& name) const {
    std::istringstream in(options);
    for (std::string opt; std::getline(in, opt, ',');)
        if (starts_with(opt, name + "=")) return opt.substr(name.size() + 1);
    return std::nullopt;
}

bool FstabEntry::has_flag(const std::string& name) const {
    std::istringstream in(options);
    for (std::string opt; std::getline(in, opt, ',');)
        if (opt == name) return true;
    return false;
}

std::vector<FstabEntry> parse_fstab(const std::string& text) {
    std::vector<FstabEntry> out;
    std::istringstream in(text);
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        std::istringstream fields(line);
        FstabEntry e;
        if (!(fields >> e.source >> e.target >> e.type)) continue;
        if (!(fields >> e.options)) e.options = "defaults";
        e.source = unescape_octal(e.source);
        e.target = unescape_octal(e.target);
        e.line = number;
        out.push_back(std::move(e));
    }
    return out;
}

bool is_network_filesystem(const std::string& type) {
    static const char* const types[] = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "glusterfs", "ceph", "fuse.sshfs",
                                        "sshfs", "9p", "virtiofs", "davfs", "fuse.glusterfs", "afs", "ncpfs"};
    return std::find(std::begin(types), std::end(types), type) != std::end(types);
}

std::optional<std::size_t> match_fstab_source(const std::string& source, const std::vector<VolumeIdentity>& volumes) {
    auto find = [&](auto&& pred) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < volumes.size(); ++i)
            if (pred(volumes[i])) return i;
        return std::nullopt;
    };
    auto tagged = [&](const std::string& tag, const std::string& by) -> std::optional<std::string> {
        if (starts_with(source, tag + "=")) {
            std::string v = source.substr(tag.size() + 1);
            if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
                v = v.substr(1, v.size() - 2);
            return v;
        }
        if (starts_with(source, "/dev/disk/" + by + "/")) return source.substr(("/dev/disk/" + by + "/").size());
        return std::nullopt;
    };
    if (auto v = tagged("UUID", "by-uuid"))
        return find([&](const VolumeIdentity& id) { return !id.uuid.empty() && lower(id.uuid) == lower(*v); });
    if (auto v = tagged("LABEL", "by-label"))
        return find([&](const VolumeIdentity& id) { return !id.label.empty() && id.label == *v; });
    if (auto v = tagged("PARTUUID", "by-partuuid"))
        return find([&](const VolumeIdentity& id) { return !id.partuuid.empty() && lower(id.partuuid) == lower(*v); });
    if (auto v = tagged("PARTLABEL", "by-partlabel"))
        return find([&](const VolumeIdentity& id) { return !id.partlabel.empty() && id.partlabel == *v; });
    if (starts_with(source, "/dev/mapper/")) {
        const std::string name = source.substr(12);
        return find([&](const VolumeIdentity& id) { return !id.lv.empty() && mapper_name(id.vg, id.lv) == name; });
    }
    if (int n = partition_of_device(source))
        return find([&](const VolumeIdentity& id) { return id.partition == n; });
    if (starts_with(source, "/dev/")) {
        auto rest = source.substr(5);
        auto slash = rest.find('/');
        if (slash != std::string::npos && rest.find('/', slash + 1) == std::string::npos)
            return find([&](const VolumeIdentity& id) {
                return !id.lv.empty() && id.vg == rest.substr(0, slash) && id.lv == rest.substr(slash + 1);
            });
    }
    return std::nullopt;
}

} // namespace lodge::vm
