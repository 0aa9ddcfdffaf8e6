// The console through lodged: the log as lxc and lodge show it, and an
// attached session whose typed command reaches the guest's shell.
#include "io_instance.hpp"

#include <gtest/gtest.h>

namespace lodge::test {

TEST(Console, LogAndAttach) {
    if (lxc_binary().empty()) GTEST_SKIP() << "lxd-client is not installed";
    IoInstance instance("io-console", true);
    EXPECT_TRUE(wait_until([&] { return instance.lxc({"console", "io-console", "--show-log"}).out.find("BusyBox") !=
                                        std::string::npos; },
                           10))
        << instance.lxc({"console", "io-console", "--show-log"}).err;
    auto log = instance.lodge({"console", "io-console", "--show-log"});
    EXPECT_NE(log.out.find("BusyBox"), std::string::npos) << log.err;

    // The guest's shell computes 42; the terminal's echo of the typed line
    // can't. The session detaches (<ctrl>+a q) once the answer is there.
    TempDir scratch("lodge-io-console");
    const std::string seen = scratch.path() + "/seen";
    std::string attach = "(printf 'echo hi-$((20+22))\\n'; until grep -q hi-42 " + seen +
                         "; do sleep 0.05; done; printf '\\001q') | " + bin("lodge") + " console io-console | tee " +
                         seen;
    auto con = run({"/usr/bin/env", "LODGE_DIR=" + instance.state_dir(), "sh", "-c", attach}, "", 30);
    EXPECT_EQ(con.status, 0) << con.err;
    EXPECT_NE(con.out.find("hi-42\r\n"), std::string::npos) << con.out;

    // LXD's client, the same way; it wants a terminal, which script(1)
    // gives it. It looks for its escape at the start of each read: <ctrl>+a
    // and q go in separate writes.
    const std::string seen2 = scratch.path() + "/seen2";
    std::string lxc_attach = "(printf 'echo lxc-$((40+2))\\n'; until grep -q lxc-42 " + seen2 +
                             "; do sleep 0.05; done; printf '\\001'; sleep 0.2; printf q) | script -qfec '" +
                             lxc_binary() + " console io-console' /dev/null | tee " + seen2;
    con = run({"/usr/bin/env", "-u", "LXD_CONF", "LXD_DIR=" + instance.state_dir(), "HOME=" + scratch.path(), "sh",
               "-c", lxc_attach},
              "", 30);
    EXPECT_EQ(con.status, 0) << con.err;
    EXPECT_NE(con.out.find("lxc-42\r\n"), std::string::npos) << con.out;
}

} // namespace lodge::test
