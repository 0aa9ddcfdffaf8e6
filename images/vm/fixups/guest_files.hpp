// Reading and changing files of an untrusted guest root: every path is
// resolved inside the root (openat2 RESOLVE_IN_ROOT), never joined to it as
// a string, and every rewrite is atomic. Shared by the fixups.
#pragma once

#include "images/vm/fixups.hpp"

#include <sys/stat.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace lodge::vm::detail {

// Configuration files larger than this are not read (a guest could point
// /etc/fstab at something huge).
constexpr std::size_t max_config_size = 1 << 20;

// One run of the fixups on one guest root.
class Guest {
public:
    Guest(int root_fd, const FixupOptions& options, std::vector<PlanFixup>& out)
        : root_(root_fd), options_(options), out_(out) {}

    int root() const { return root_; }
    const FixupOptions& options() const { return options_; }
    bool dry_run() const { return options_.dry_run; }
    void record(const std::string& fixup, const std::string& path, const std::string& action) {
        out_.push_back({fixup, path, action});
    }

    // The content of the regular file at path, symlinks followed inside the
    // root; nullopt when it is missing, a dangling or looping link, or not a
    // regular file. A file over max_config_size is recorded under `fixup`
    // as not changed and reads as nullopt.
    std::optional<std::string> read(const std::string& fixup, const std::string& path);

    // stat of what path resolves to inside the root (follow) or of the name
    // itself (nofollow); nullopt when missing.
    std::optional<struct stat> stat(const std::string& path, bool follow = true);
    // The target of the symlink at path ("" when path is not a symlink).
    std::string link_target(const std::string& path);

    // Replaces the name `path` with a regular file holding content.
    // Decision: when path is a symlink, the symlink itself is replaced by a
    // file (with the mode and owner of the file it resolved to inside the
    // root); the file it pointed at is never written. A guest's
    // /etc/fstab -> /etc/shadow thus cannot make a fixup edit the shadow
    // file, and a link into a shared or read-only tree (/usr, an ostree or
    // Nix store) is never modified in place. Nothing happens under dry_run.
    void replace(const std::string& path, const std::string& content);
    // Creates (or atomically replaces) a regular file, making missing
    // parent directories. Nothing happens under dry_run.
    void create(const std::string& path, const std::string& content, unsigned mode);
    // Makes path a symlink to target (atomically replacing a file or link
    // there), making missing parent directories. Nothing under dry_run.
    void symlink(const std::string& path, const std::string& target);
    // Removes the name path (a final symlink is removed, not followed).
    void remove(const std::string& path);

    // Entry names of the directory at path (resolved inside the root),
    // sorted; empty when it is missing or not a directory.
    std::vector<std::string> list(const std::string& path);

private:
    int root_;
    const FixupOptions& options_;
    std::vector<PlanFixup>& out_;
};

// Splits "/etc/fstab" into "/etc" and "fstab".
std::pair<std::string, std::string> split_path(const std::string& path);

} // namespace lodge::vm::detail
