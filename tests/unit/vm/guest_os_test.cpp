// What read_guest_os makes of os-release variants and of the ELF header of
// the guest's init.
#include "tests/unit/vm/guest_tree.hpp"

#include <gtest/gtest.h>

#include <sys/utsname.h>

namespace lodge::vm::test {

namespace {

GuestOs read(const GuestTree& g) {
    UniqueFd root(::open(g.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    return read_guest_os(root.get());
}

// A 64-byte ELF64 little-endian header for e_machine.
std::string elf64_header(unsigned machine) {
    std::string h(64, '\0');
    h[0] = 0x7f, h[1] = 'E', h[2] = 'L', h[3] = 'F';
    h[4] = 2;  // ELFCLASS64
    h[5] = 1;  // ELFDATA2LSB
    h[6] = 1;  // EV_CURRENT
    h[16] = 2; // ET_EXEC
    h[18] = static_cast<char>(machine & 0xff);
    h[19] = static_cast<char>(machine >> 8);
    return h;
}

} // namespace

TEST(VmGuestOs, DebianOsReleaseAndTheBuildMachinesShell) {
    GuestTree g;
    g.put("/usr/lib/os-release", R"os(PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
)os");
    g.link("/etc/os-release", "../usr/lib/os-release");
    g.dir("/usr/bin");
    fs::copy_file("/bin/sh", g.at("/usr/bin/sh"));
    g.link("/bin", "usr/bin");
    g.link("/sbin", "usr/sbin");
    // systemd is not installed: the dangling init falls through to /bin/sh.
    g.link("/usr/sbin/init", "/lib/systemd/systemd");
    auto os = read(g);
    EXPECT_EQ(os.id, "debian");
    EXPECT_EQ(os.name, "Debian GNU/Linux");
    EXPECT_EQ(os.version_id, "12");
    EXPECT_EQ(os.version_codename, "bookworm");
    EXPECT_EQ(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
    struct utsname u;
    ::uname(&u);
    std::string machine = u.machine;
    EXPECT_EQ(os.architecture, machine == "armv8l" ? "armv7l" : machine);
}

TEST(VmGuestOs, UsrLibFallbackSingleQuotesEscapesAndAnAarch64Init) {
    GuestTree g;
    g.put("/usr/lib/os-release", "# comment\nNAME='Fedora Linux'\nID=fedora\nVERSION_ID=39\n"
                                 "PRETTY_NAME=\"Fedora \\\"Linux\\\" 39\"\n");
    g.put("/usr/lib/systemd/systemd", elf64_header(183) + std::string(1000, '\0'), 0755);
    g.link("/sbin/init", "../usr/lib/systemd/systemd");
    auto os = read(g);
    EXPECT_EQ(os.id, "fedora");
    EXPECT_EQ(os.name, "Fedora Linux");
    EXPECT_EQ(os.version_id, "39");
    EXPECT_EQ(os.version_codename, "");
    EXPECT_EQ(os.pretty_name, "Fedora \"Linux\" 39");
    EXPECT_EQ(os.architecture, "aarch64");
}

TEST(VmGuestOs, AlpineBusyboxInitOtherMachinesAndNothingAtAll) {
    GuestTree g;
    g.put("/etc/os-release",
          "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n");
    g.put("/bin/busybox", elf64_header(243), 0755);
    g.link("/sbin/init", "/bin/busybox");
    auto os = read(g);
    EXPECT_EQ(os.id, "alpine");
    EXPECT_EQ(os.version_id, "3.19.1");
    EXPECT_EQ(os.architecture, "riscv64");

    for (auto [machine, name] : std::vector<std::pair<unsigned, std::string>>{
             {62, "x86_64"}, {21, "ppc64le"}, {22, "s390x"}, {183, "aarch64"}}) {
        GuestTree t;
        t.put("/sbin/init", elf64_header(machine), 0755);
        EXPECT_EQ(read(t).architecture, name) << machine;
    }
    GuestTree arm32;
    std::string h = elf64_header(40);
    h[4] = 1; // ELFCLASS32
    arm32.put("/sbin/init", h, 0755);
    EXPECT_EQ(read(arm32).architecture, "armv7l");

    GuestTree empty;
    auto none = read(empty);
    EXPECT_EQ(none.id, "");
    EXPECT_EQ(none.architecture, "");
}

TEST(VmGuestOs, InitLinksToTheHostResolveInsideTheRoot) {
    GuestTree g;
    // On the host these exist; inside the root they do not.
    g.link("/sbin/init", "/bin/sh");
    g.link("/etc/os-release", "/etc/os-release");
    g.link("/usr/lib/os-release", "../../../../../../../../../etc/os-release");
    auto os = read(g);
    EXPECT_EQ(os.id, "");
    EXPECT_EQ(os.architecture, "");
}

} // namespace lodge::vm::test
