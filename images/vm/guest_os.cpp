// What the guest is: os-release for the name and version, the ELF header of
// its init for the architecture (the image's architecture property).
#include "images/vm/fixups.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/path.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace lodge::vm {

namespace {

constexpr std::size_t max_os_release = 64 * 1024;

// Opens a regular file inside the root (never a FIFO or device of the
// guest), or returns an empty fd.
UniqueFd open_regular(int root_fd, const std::string& path) {
    int pfd = try_open_in_root(root_fd, path, O_PATH);
    if (pfd < 0) return {};
    UniqueFd path_fd(pfd);
    struct stat st;
    if (::fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode)) return {};
    return UniqueFd(::open(fd_path(pfd).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
}

std::string read_capped(int fd, std::size_t cap) {
    std::string out;
    char buf[4096];
    while (out.size() < cap) {
        ssize_t n = ::read(fd, buf, std::min(sizeof buf, cap - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// os-release(5) values: shell-style, optionally quoted, with \-escapes.
std::string unquote(std::string v) {
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ' || v.back() == '\t')) v.pop_back();
    if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'') && v.back() == v[0]) {
        char q = v[0];
        v = v.substr(1, v.size() - 2);
        if (q == '\'') return v;
        std::string out;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (v[i] == '\\' && i + 1 < v.size()) ++i;
            out += v[i];
        }
        return out;
    }
    return v;
}

void parse_os_release(const std::string& text, GuestOs& os) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        std::size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;
        std::size_t eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string key = line.substr(start, eq - start), value = unquote(line.substr(eq + 1));
        if (key == "ID")
            os.id = value;
        else if (key == "NAME")
            os.name = value;
        else if (key == "VERSION_ID")
            os.version_id = value;
        else if (key == "VERSION_CODENAME")
            os.version_codename = value;
        else if (key == "PRETTY_NAME")
            os.pretty_name = value;
    }
}

// LXD's architecture name for an ELF header, "" when it is not one.
std::string elf_architecture(const std::string& h) {
    if (h.size() < EI_NIDENT + 4 || std::memcmp(h.data(), ELFMAG, SELFMAG) != 0) return "";
    bool is64 = h[EI_CLASS] == ELFCLASS64;
    bool little = h[EI_DATA] == ELFDATA2LSB;
    auto b = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(h[i])); };
    // e_machine follows e_type, at offset 18 in both classes.
    unsigned machine = little ? (b(18) | b(19) << 8) : (b(18) << 8 | b(19));
    switch (machine) {
    case EM_X86_64: return is64 ? "x86_64" : "";
    case EM_386: return "i686";
    case EM_AARCH64: return is64 ? "aarch64" : "";
    case EM_ARM: return "armv7l";
    case EM_PPC64: return is64 && little ? "ppc64le" : "ppc64";
    case EM_S390: return is64 ? "s390x" : "s390";
    case EM_RISCV: return is64 ? "riscv64" : "riscv32";
    case EM_MIPS: return is64 ? (little ? "mips64el" : "mips64") : (little ? "mipsel" : "mips");
    case EM_LOONGARCH: return is64 ? "loongarch64" : "";
    default: return "";
    }
}

} // namespace

GuestOs read_guest_os(int root_fd) {
    GuestOs os;
    for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
        UniqueFd fd = open_regular(root_fd, path);
        if (!fd) continue;
        parse_os_release(read_capped(fd.get(), max_os_release), os);
        break;
    }
    // A script /sbin/init (or a missing one) falls through to the next.
    for (const char* path :
         {"/sbin/init", "/lib/systemd/systemd", "/usr/lib/systemd/systemd", "/bin/sh", "/bin/busybox"}) {
        UniqueFd fd = open_regular(root_fd, path);
        if (!fd) continue;
        os.architecture = elf_architecture(read_capped(fd.get(), 64));
        if (!os.architecture.empty()) break;
    }
    return os;
}

} // namespace lodge::vm
