// Building guest root trees for the VM fixup tests: the test writes the
// tree itself (trusted), the code under test only sees a root fd.
#pragma once

#include "common/fd.hpp"
#include "images/vm/fixups.hpp"
#include "tests/unit/temp_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace lodge::vm::test {

namespace fs = std::filesystem;

class GuestTree {
public:
    const std::string& path() const { return dir_.path(); }
    std::string at(const std::string& p) const { return dir_.path() + p; }

    void put(const std::string& p, const std::string& content, unsigned mode = 0644) const {
        fs::create_directories(fs::path(at(p)).parent_path());
        std::ofstream(at(p), std::ios::binary | std::ios::trunc) << content;
        fs::permissions(at(p), static_cast<fs::perms>(mode));
    }
    void link(const std::string& p, const std::string& target) const {
        fs::create_directories(fs::path(at(p)).parent_path());
        fs::create_symlink(target, at(p));
    }
    void dir(const std::string& p) const { fs::create_directories(at(p)); }
    std::string get(const std::string& p) const {
        std::ifstream in(at(p), std::ios::binary);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    bool exists(const std::string& p) const { return fs::symlink_status(at(p)).type() != fs::file_type::not_found; }
    std::string target(const std::string& p) const {
        std::error_code ec;
        auto t = fs::read_symlink(at(p), ec);
        return ec ? "" : t.string();
    }

    std::vector<PlanFixup> fix(FixupOptions options = {}) const {
        UniqueFd root(::open(path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        std::vector<PlanFixup> out;
        run_fixups(root.get(), options, out);
        return out;
    }

    // Every entry: type, mode, content or link target, mtime.
    std::map<std::string, std::string> snapshot() const {
        std::map<std::string, std::string> all;
        for (auto it = fs::recursive_directory_iterator(path()); it != fs::recursive_directory_iterator(); ++it) {
            struct stat st;
            ::lstat(it->path().c_str(), &st);
            std::string rel = it->path().string().substr(path().size());
            std::string v = std::to_string(st.st_mode) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                            std::to_string(st.st_mtim.tv_nsec) + " ";
            if (S_ISLNK(st.st_mode))
                v += "-> " + target(rel);
            else if (S_ISREG(st.st_mode))
                v += get(rel);
            all[rel] = v;
        }
        return all;
    }

private:
    TempDir dir_{"lodge-vm-guest"};
};

inline bool has_record(const std::vector<PlanFixup>& records, const std::string& fixup, const std::string& path,
                       const std::string& action) {
    for (const auto& r : records)
        if (r.fixup == fixup && r.path == path && r.action == action) return true;
    return false;
}

inline std::string dump(const std::vector<PlanFixup>& records) {
    std::string s;
    for (const auto& r : records) s += r.fixup + " | " + r.path + " | " + r.action + "\n";
    return s;
}

} // namespace lodge::vm::test
