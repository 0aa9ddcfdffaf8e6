// The exec and file tests' instance: see io_instance.hpp.
#include "io_instance.hpp"

#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace lodge::test {

IoInstance::IoInstance(std::string name, bool start)
    : name_(std::move(name)), state_("lodge-io-state"), lxc_home_("lodge-io-lxchome") {
    lodged_ = std::make_unique<Lodged>(state_.path());
    const auto dir = state_.path() + "/storage-pools/default/containers/" + name_;
    fs::create_directories(dir);
    rootfs_ = dir + "/rootfs";
    auto cp = run({"cp", "-a", "--reflink=auto", fixture("busybox"), rootfs_}, "", 300);
    if (cp.status != 0) throw std::runtime_error("copying the busybox fixture: " + cp.err);
    auto sql = run({"sqlite3", state_.path() + "/database/lodge.db",
                    "INSERT INTO instances (project_id, name, architecture, created_at) VALUES (1, '" + name_ +
                        "', 'x86_64', '2026-01-01T00:00:00Z');"
                        "INSERT INTO instances_profiles (instance_id, profile_id, apply_order) "
                        "SELECT id, 1, 0 FROM instances WHERE name = '" + name_ + "';"});
    if (sql.status != 0) throw std::runtime_error("inserting the instance: " + sql.err);
    // lxc's first run greets on stderr; get that over with.
    lxc({"version"});
    run_dir_ = state_.path() + "/run";
    if (start) {
        auto r = run({bin("lodge-runtime"), "--run-dir", run_dir_, "start", name_, "--rootfs", rootfs_});
        if (r.status != 0) throw std::runtime_error("starting " + name_ + ": " + r.err);
        started_ = true;
    }
}

IoInstance::~IoInstance() {
    if (started_) {
        run({bin("lodge-runtime"), "--run-dir", run_dir_, "stop", name_, "--force"});
        run({bin("lodge-runtime"), "--run-dir", run_dir_, "delete", name_});
        wait_until([&] { return leftovers(name_, rootfs_).empty(); }, 5);
    }
    lodged_.reset();
}

Result IoInstance::lxc(const std::vector<std::string>& args, const std::string& input, int timeout_s) {
    std::vector<std::string> argv{"/usr/bin/env", "-u", "LXC_REMOTE", "-u", "LXD_CONF", "LXD_DIR=" + state_.path(),
                                  "HOME=" + lxc_home_.path(), lxc_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, input, timeout_s);
}

} // namespace lodge::test

namespace lodge::test {

Result IoInstance::lodge(const std::vector<std::string>& args, const std::string& input, int timeout_s) {
    std::vector<std::string> argv{"/usr/bin/env", "-u", "LODGE_REMOTE", "-u", "LODGE_CONF", "LODGE_DIR=" + state_.path(),
                                  "HOME=" + lxc_home_.path(), bin("lodge")};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, input, timeout_s);
}

} // namespace lodge::test
