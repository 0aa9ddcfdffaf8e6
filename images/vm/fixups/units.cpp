// The units fixup: services that cannot work in a container and would fail
// or stall its boot are masked (systemd), dropped from runlevels (OpenRC)
// or commented out (inittab). This does not rely on /sys being read-only:
// with a writable /sys (as LXD mounts it) a serial getty waits 90 s for
// ttyS0, so it goes either way.
#include "images/vm/fixups/steps.hpp"

#include <cctype>
#include <map>
#include <set>

namespace lodge::vm::detail {

namespace {

const std::string etc_units = "/etc/systemd/system";
const std::vector<std::string> unit_dirs = {etc_units, "/lib/systemd/system", "/usr/lib/systemd/system"};

// Units masked when the guest has them, and why. Not here: kernel module
// loading (systemd-modules-load, kmod-static-nodes) carries
// ConditionCapability=CAP_SYS_MODULE, which the runtime drops by default,
// so it is skipped rather than failed; systemd-timesyncd, irqbalance and
// multipathd carry ConditionVirtualization=!container; zram-generator does
// nothing inside a container.
struct Known {
    const char* unit;
    const char* reason;
};
const Known known_units[] = {
    {"systemd-growfs-root.service", "grows a partition, the container's root is no partition"},
    {"systemd-growfs@.service", "grows a partition, the container has none"},
    {"growpart.service", "grows a partition, the container has none"},
    {"growroot.service", "grows a partition, the container has none"},
    {"qemu-guest-agent.service", "QEMU guest agent, needs the VM's virtio serial port"},
    {"open-vm-tools.service", "VMware guest agent, needs the VMware hypervisor"},
    {"vmtoolsd.service", "VMware guest agent, needs the VMware hypervisor"},
    {"vgauth.service", "VMware guest authentication, part of the VMware tools"},
    {"vgauthd.service", "VMware guest authentication, part of the VMware tools"},
    {"spice-vdagentd.service", "SPICE agent, needs the VM's virtio serial port"},
    {"spice-vdagentd.socket", "SPICE agent, needs the VM's virtio serial port"},
    {"hv-kvp-daemon.service", "Hyper-V daemon, needs the Hyper-V VMBus"},
    {"hv-vss-daemon.service", "Hyper-V daemon, needs the Hyper-V VMBus"},
    {"hv-fcopy-daemon.service", "Hyper-V daemon, needs the Hyper-V VMBus"},
    {"hypervkvpd.service", "Hyper-V daemon, needs the Hyper-V VMBus"},
    {"hypervvssd.service", "Hyper-V daemon, needs the Hyper-V VMBus"},
    {"hypervfcopyd.service", "Hyper-V daemon, needs the Hyper-V VMBus"},
    {"vboxadd.service", "VirtualBox guest additions, need the VirtualBox kernel modules"},
    {"vboxadd-service.service", "VirtualBox guest additions, need the VirtualBox kernel modules"},
    {"xe-linux-distribution.service", "XenServer guest tools, need the Xen hypervisor"},
    {"rngd.service", "feeds the kernel from a hardware RNG the container lacks"},
    {"rng-tools.service", "feeds the kernel from a hardware RNG the container lacks"},
    {"rng-tools-debian.service", "feeds the kernel from a hardware RNG the container lacks"},
};

// Serial consoles: ttyS0 (PC), ttyAMA0 (Arm), hvc0 (Xen, virtio console),
// ttysclp0 (s390).
bool is_serial_tty(const std::string& s) {
    for (const char* p : {"ttyS", "ttyAMA", "hvc", "ttysclp"}) {
        size_t at = s.find(p);
        if (at == std::string::npos) continue;
        size_t after = at + std::string(p).size();
        if (std::string(p) == "ttysclp" || (after < s.size() && std::isdigit(static_cast<unsigned char>(s[after]))))
            return true;
    }
    return false;
}

bool has_suffix(const std::string& s, const std::string& suffix) {
    return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class Systemd {
public:
    explicit Systemd(Guest& guest) : guest_(guest) {
        for (const auto& d : guest.list(etc_units))
            if (has_suffix(d, ".wants") || has_suffix(d, ".requires") || has_suffix(d, ".upholds"))
                for (const auto& n : guest.list(etc_units + "/" + d))
                    enabled_[n].push_back(etc_units + "/" + d + "/" + n);
    }

    bool exists(const std::string& unit) {
        std::string tmpl = unit;
        size_t at = unit.find('@');
        if (at != std::string::npos) tmpl = unit.substr(0, at + 1) + unit.substr(unit.rfind('.'));
        for (const auto& d : unit_dirs)
            if (guest_.stat(d + "/" + unit, false) || guest_.stat(d + "/" + tmpl, false)) return true;
        return false;
    }

    // The units enabled in the guest (names in *.wants and *.requires).
    std::vector<std::string> enabled() const {
        std::vector<std::string> names;
        for (const auto& [n, _] : enabled_) names.push_back(n);
        return names;
    }

    void mask(const std::string& unit, const std::string& reason, bool always) {
        if (!masked_.insert(unit).second) return;
        auto links = enabled_.count(unit) ? enabled_[unit] : std::vector<std::string>();
        if (!always && links.empty() && !exists(unit)) return;
        std::string path = etc_units + "/" + unit;
        if (guest_.link_target(path) != "/dev/null") {
            guest_.record("units", path, "masked: " + reason);
            guest_.symlink(path, "/dev/null");
        }
        for (const auto& l : links) {
            guest_.record("units", l, "removed: enables " + unit + ", which is masked");
            guest_.remove(l);
        }
    }

private:
    Guest& guest_;
    std::map<std::string, std::vector<std::string>> enabled_;
    std::set<std::string> masked_;
};

bool is_systemd(Guest& guest) { return guest.stat("/lib/systemd/systemd") || guest.stat("/usr/lib/systemd/systemd"); }

void fix_systemd(Guest& guest) {
    Systemd sd(guest);
    sd.mask("serial-getty@ttyS0.service", "serial console getty, a container has no ttyS0 and boot waits 90 s for it",
            true);
    for (const auto& n : sd.enabled())
        if ((starts_with(n, "serial-getty@") || (starts_with(n, "getty@") && is_serial_tty(n))) &&
            has_suffix(n, ".service"))
            sd.mask(n, "serial console getty, a container has no serial port", true);
    sd.mask("systemd-fsck-root.service", "checks the VM's root disk, the container has none", true);
    sd.mask("systemd-fsck@.service", "checks the VM's disks, the container has none", true);
    std::set<std::string> swaps;
    for (const auto& n : guest.list(etc_units))
        if (has_suffix(n, ".swap")) swaps.insert(n);
    for (const auto& n : sd.enabled())
        if (has_suffix(n, ".swap")) swaps.insert(n);
    for (const auto& n : swaps) sd.mask(n, "swap, the host's memory limits apply in a container", true);
    for (const auto& k : known_units) sd.mask(k.unit, k.reason, false);
}

// OpenRC services removed from every runlevel, and why. hwclock goes too:
// a container cannot set the hardware clock, the host keeps time. The
// services stay installed; rc-update add brings one back.
const std::map<std::string, std::string> openrc_services = {
    {"fsck", "checks the VM's disks, the container has none"},
    {"swap", "swap, the host's memory limits apply in a container"},
    {"hwclock", "a container cannot set the hardware clock, the host keeps time"},
    {"modules", "loads kernel modules, which is the host's business"},
    {"qemu-guest-agent", "QEMU guest agent, needs the VM's virtio serial port"},
    {"open-vm-tools", "VMware guest agent, needs the VMware hypervisor"},
    {"spice-vdagentd", "SPICE agent, needs the VM's virtio serial port"},
    {"hv_kvp_daemon", "Hyper-V daemon, needs the Hyper-V VMBus"},
    {"hv_vss_daemon", "Hyper-V daemon, needs the Hyper-V VMBus"},
    {"hv_fcopy_daemon", "Hyper-V daemon, needs the Hyper-V VMBus"},
    {"virtualbox-guest-additions", "VirtualBox guest additions, need the VirtualBox kernel modules"},
    {"rngd", "feeds the kernel from a hardware RNG the container lacks"},
};

void fix_openrc(Guest& guest) {
    const std::string runlevels = "/etc/runlevels";
    for (const auto& level : guest.list(runlevels)) {
        std::string dir = runlevels + "/" + level;
        for (const auto& svc : guest.list(dir)) {
            std::string reason;
            if (auto it = openrc_services.find(svc); it != openrc_services.end())
                reason = it->second;
            else if ((starts_with(svc, "agetty.") || starts_with(svc, "getty.")) && is_serial_tty(svc))
                reason = "serial console getty, a container has no serial port";
            if (reason.empty()) continue;
            guest.record("units", dir + "/" + svc, "removed from runlevel " + level + ": " + reason);
            guest.remove(dir + "/" + svc);
        }
    }
}

// inittab(5), sysvinit's and busybox's: id:runlevels:action:process.
void fix_inittab(Guest& guest) {
    comment_out_entries(guest, "units", "/etc/inittab", [](const std::string& t) -> std::optional<CommentOut> {
        size_t c1 = t.find(':'), c2 = c1 == std::string::npos ? c1 : t.find(':', c1 + 1);
        size_t c3 = c2 == std::string::npos ? c2 : t.find(':', c2 + 1);
        if (c3 == std::string::npos) return std::nullopt;
        std::string id = t.substr(0, c1), process = t.substr(c3 + 1);
        if (process.find("getty") == std::string::npos) return std::nullopt;
        if (!is_serial_tty(id) && !is_serial_tty(process)) return std::nullopt;
        return CommentOut{"commented out the serial console getty " + id,
                          "serial console getty, a container has no serial port"};
    });
}

} // namespace

void fix_units(Guest& guest) {
    if (is_systemd(guest)) fix_systemd(guest);
    fix_openrc(guest);
    fix_inittab(guest);
}

} // namespace lodge::vm::detail
