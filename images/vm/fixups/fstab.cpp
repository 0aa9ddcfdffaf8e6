// The fstab fixup: a container's filesystems come from its runtime, so
// entries naming the VM's disks, swap and network filesystems are commented
// out (they would otherwise make systemd wait 90 s for a device, or fail a
// mount). Entries a container can mount (tmpfs, proc, bind mounts …) stay.
#include "common/path.hpp"
#include "images/vm/fixups/steps.hpp"

#include <set>

namespace lodge::vm::detail {

namespace {

// fstab(5) escapes spaces, tabs, newlines and backslashes as \ooo octal.

bool has_option(const std::string& options, const std::string& name) {
    size_t pos = 0;
    while (pos <= options.size()) {
        size_t comma = options.find(',', pos);
        if (comma == std::string::npos) comma = options.size();
        std::string opt = options.substr(pos, comma - pos);
        if (opt == name) return true;
        pos = comma + 1;
    }
    return false;
}

bool is_device_source(const std::string& source, const std::string& options) {
    for (const char* p : {"UUID=", "LABEL=", "PARTUUID=", "PARTLABEL=", "ID="})
        if (starts_with(source, p)) return true;
    // /dev/shm or /dev/pts bound elsewhere is not a disk.
    return starts_with(source, "/dev/") && !has_option(options, "bind") && !has_option(options, "rbind") &&
           !has_option(options, "move");
}

const std::set<std::string>& network_types() {
    static const std::set<std::string> types = {"nfs",       "nfs4",           "cifs",  "smbfs",       "smb3",
                                                "glusterfs", "fuse.glusterfs", "ceph",  "fuse.ceph",   "cephfs",
                                                "sshfs",     "fuse.sshfs",     "davfs", "fuse.davfs2", "afs",
                                                "lustre",    "gfs2",           "ocfs2", "ncpfs",       "coda"};
    return types;
}

// Why an fstab entry cannot work in a container, or "" when it can.
std::string fstab_reason(const std::vector<std::string>& f) {
    std::string source = unescape_octal(f[0]);
    std::string target = f.size() > 1 ? unescape_octal(f[1]) : "";
    std::string type = f.size() > 2 ? f[2] : "";
    std::string options = f.size() > 3 ? f[3] : "";
    if (type == "swap" || target == "swap") return "swap, the host's memory limits apply in a container";
    if (target == "/") return "root filesystem, the container's root is the image";
    if (target == "/boot" || target == "/boot/efi")
        return "boot filesystem from the VM disk, its files are in the image";
    if (type == "9p" || type == "virtiofs")
        return "share from the VM's host (" + type + "), attach a disk device to the container instead";
    if (network_types().count(type))
        return "network filesystem (" + type +
               "), a container cannot mount it; mount it on the host and attach it "
               "as a disk device";
    if (has_option(options, "_netdev") && source.find(':') != std::string::npos)
        return "network filesystem, a container cannot mount it";
    if (is_device_source(source, options)) return "filesystem from the VM disk (" + source + ")";
    return "";
}

// crypttab(5): every entry names a disk device, which a container lacks;
// systemd-cryptsetup would wait for it.
void fix_crypttab(Guest& guest) {
    comment_out_entries(guest, "fstab", "/etc/crypttab", [](const std::string& entry) {
        return CommentOut{"commented out encrypted volume " + unescape_octal(split_fields(entry)[0]) + " (on the VM disk)",
                          "encrypted volume on the VM disk"};
    });
}

} // namespace

void fix_fstab(Guest& guest) {
    comment_out_entries(guest, "fstab", "/etc/fstab", [](const std::string& entry) -> std::optional<CommentOut> {
        auto f = split_fields(entry);
        std::string reason = fstab_reason(f);
        if (reason.empty()) return std::nullopt;
        std::string where = f.size() > 1 ? unescape_octal(f[1]) : unescape_octal(f[0]);
        if (where == "none" || where == "swap") where = unescape_octal(f[0]);
        return CommentOut{"commented out " + where + " (" + reason + ")", reason.substr(0, reason.find(','))};
    });
    fix_crypttab(guest);
}

} // namespace lodge::vm::detail
