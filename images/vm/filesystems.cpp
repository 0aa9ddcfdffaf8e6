// Checking and mounting guest filesystems read-only.
#include "images/vm/filesystems.hpp"

#include "common/error.hpp"
#include "images/vm/confine.hpp"

#include <fmt/format.h>
#include <linux/capability.h>

#include <sstream>

namespace lodge::vm {

namespace {

// The last lines of a checker's output: enough to say what it found.
std::string tail_lines(const std::string& output, std::size_t count) {
    std::vector<std::string> lines;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line.find("Cannot get host filesystem geometry") == std::string::npos &&
            line.find("sector size mismatch") == std::string::npos)
            lines.push_back(line);
    std::string out;
    for (std::size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i)
        out += (out.empty() ? "" : "; ") + lines[i];
    return out;
}

struct CheckerVerdict {
    bool corrupt = false;
    bool journal_pending = false;
};

// Each checker in its no-modify mode. Exit codes: e2fsck 0 clean, 4 errors
// left uncorrected (8 and up: it could not run); xfs_repair -n and btrfs
// check 0 clean, 1 problems. A pending journal or log makes these checkers
// see the filesystem as the kernel will without replaying it, and xfs_repair
// then exits 1 with "spurious inconsistencies" expected, so there only the
// findings count.
CheckerVerdict run_checker(const FilesystemSource& source, const std::string& device, std::string& findings) {
    Confinement confinement{.read = {device}, .write = {}};
    CheckerVerdict verdict;
    if (source.type == "ext2" || source.type == "ext3" || source.type == "ext4") {
        auto r = run_confined({"e2fsck", "-fn", device}, confinement);
        verdict.journal_pending = r.output.find("skipping journal recovery") != std::string::npos;
        if (r.exit_status >= 8) throw Error(400, fmt::format("{}: e2fsck could not check the filesystem: {}",
                                                             source.name, tail_lines(r.output, 3)));
        verdict.corrupt = (r.exit_status & 4) != 0;
        findings = tail_lines(r.output, 4);
    } else if (source.type == "xfs") {
        // xfs_repair flushes a block device's buffers (BLKFLSBUF) even in
        // no-modify mode: that one call needs CAP_SYS_ADMIN.
        Confinement xfs = confinement;
        xfs.capabilities = {CAP_SYS_ADMIN};
        auto r = run_confined({"xfs_repair", "-n", device}, xfs);
        verdict.journal_pending = r.output.find("valuable metadata changes in a log") != std::string::npos;
        if (r.exit_status != 0 && r.exit_status != 1)
            throw Error(400, fmt::format("{}: xfs_repair could not check the filesystem: {}", source.name,
                                         tail_lines(r.output, 3)));
        bool found = false;
        std::istringstream in(r.output);
        for (std::string line; std::getline(in, line);)
            if (line.rfind("would ", 0) == 0 || line.find("bad ") != std::string::npos ||
                line.find("corrupt") != std::string::npos) {
                found = true;
                findings += (findings.empty() ? "" : "; ") + line;
                if (findings.size() > 400) break;
            }
        verdict.corrupt = verdict.journal_pending ? found : r.exit_status != 0;
        if (verdict.corrupt && findings.empty()) findings = tail_lines(r.output, 4);
    } else if (source.type == "btrfs") {
        auto r = run_confined({"btrfs", "check", "--readonly", device}, confinement);
        verdict.corrupt = r.exit_status != 0;
        findings = tail_lines(r.output, 4);
    } else {
        throw Error(400, fmt::format("{}: {} filesystems are not imported", source.name, source.type));
    }
    return verdict;
}

std::string mount_type(const std::string& type) {
    return type == "ext2" || type == "ext3" ? "ext4" : type;
}

} // namespace

bool is_supported_filesystem(const std::string& type) {
    return type == "ext2" || type == "ext3" || type == "ext4" || type == "xfs" || type == "btrfs";
}

GuestFilesystem::GuestFilesystem(FilesystemSource source, bool force, std::vector<std::string>& warnings)
    : source_(std::move(source)), loop_([&] {
          auto range = source_.range;
          range.read_only = true;
          return storage::LoopDevice::attach(source_.file, range);
      }()) {
    std::string findings;
    auto verdict = run_checker(source_, loop_.path(), findings);
    if (verdict.journal_pending)
        warnings.push_back(fmt::format("{} ({}) was not cleanly unmounted: it is read without replaying its "
                                       "journal, so changes still in the journal are not imported",
                                       source_.name, source_.type));
    if (verdict.corrupt) {
        if (!force)
            throw Error(400, fmt::format("{}: the {} filesystem is corrupt ({}); import with --force to read it "
                                         "anyway",
                                         source_.name, source_.type, findings));
        warnings.push_back(fmt::format("{}: the {} filesystem is corrupt ({}); read anyway (--force)",
                                       source_.name, source_.type, findings));
    }
}

void GuestFilesystem::mount(const std::string& mount_point, const std::string& subvolume) const {
    std::string options = "ro,nosuid,nodev,noexec";
    if (source_.type == "ext3" || source_.type == "ext4") options += ",noload";
    if (source_.type == "xfs") options += ",norecovery,nouuid";
    if (source_.type == "btrfs") {
        options += ",rescue=nologreplay";
        options += subvolume.empty() ? ",subvolid=5" : ",subvol=" + subvolume;
    }
    loop_.mount(mount_point, mount_type(source_.type), options);
}

} // namespace lodge::vm
