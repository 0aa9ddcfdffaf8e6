// The other clients LXD users automate with, unchanged against lodged:
// pylxd (Debian's python3-pylxd) and Ansible (the lxd_container module and
// the lxd connection plugin). Each runs a session script from clients/.
#include "tests/integration/lxc_session.hpp"

#include "common/file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <unistd.h>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;
using lodge::read_file_if_exists;

const std::string clients_dir = std::string(LODGE_SOURCE_DIR) + "/tests/integration/clients";

class Clients : public LxcSession {
protected:
    Clients() : LxcSession("lodge-clients") {}

    std::string instances() { return lodged_->request("GET", "/1.0/instances").body; }
};

TEST_F(Clients, PylxdCreatesStartsExecutesCopiesAndDeletes) {
    if (::access("/usr/lib/python3/dist-packages/pylxd", F_OK) != 0) GTEST_SKIP() << "python3-pylxd is not installed";
    import(busybox_image_tarball(), "bb");
    auto r = run({"/usr/bin/env", "LXD_DIR=" + state_.path(), "HOME=" + home_.path(), "/usr/bin/python3", "-W",
                  "ignore::UserWarning", clients_dir + "/pylxd_session.py", "bb", "clients-py"},
                 "", 120);
    EXPECT_EQ(r.status, 0) << r.out << r.err << lodged_->log();
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_EQ(instances().find("clients-py"), std::string::npos);
}

TEST_F(Clients, AnsibleModuleAndConnectionPlugin) {
    if (::access("/usr/bin/ansible-playbook", X_OK) != 0) GTEST_SKIP() << "ansible is not installed";
    import(debian_image_tarball(), "debian-12");
    TempDir fetched{"lodge-clients-fetch"};
    auto r = run({"/usr/bin/env", "LXD_DIR=" + state_.path(), "HOME=" + home_.path(), "ANSIBLE_NOCOLOR=1",
                  "ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_LOCAL_TEMP=" + home_.path() + "/.ansible/tmp",
                  "/usr/bin/ansible-playbook", "-i", "localhost,", "-c", "local",
                  clients_dir + "/ansible_session.yml", "-e", "lxd_dir=" + state_.path(), "-e", "cname=clients-ans",
                  "-e", "alias=debian-12", "-e", "fetch_dir=" + fetched.path(), "-e",
                  "ansible_python_interpreter=/usr/bin/python3"},
                 "", 300);
    EXPECT_EQ(r.status, 0) << r.out << r.err << lodged_->log();
    EXPECT_NE(r.out.find("failed=0"), std::string::npos) << r.out;
    EXPECT_EQ(read_file_if_exists(fetched.path() + "/from-ansible.txt"), "written by ansible\n");
    EXPECT_EQ(read_file_if_exists(fetched.path() + "/debian_version").substr(0, 3), "12.");
    EXPECT_EQ(instances().find("clients-ans"), std::string::npos);
}

} // namespace
} // namespace lodge::test
