// The exec and file tests' instance: see io_instance.hpp.
#include "io_instance.hpp"

#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace lodge::test {

IoInstance::IoInstance(std::string name, bool start)
    : name_(std::move(name)), state_("lodge-io-state"), lxc_home_("lodge-io-lxchome") {
    lodged_ = std::make_unique<Lodged>(state_.path());
    rootfs_ = state_.path() + "/storage-pools/default/containers/" + name_ + "/rootfs";
    run_dir_ = state_.path() + "/run";
    // lxc's first run greets on stderr; the import gets that over with.
    auto r = lxc({"image", "import", busybox_image_tarball(), "--alias", "bb"}, "", 300);
    if (r.status != 0) throw std::runtime_error("importing the busybox image: " + r.err);
    r = lxc({start ? "launch" : "init", "bb", name_}, "", 120);
    if (r.status != 0) throw std::runtime_error((start ? "launching " : "creating ") + name_ + ": " + r.err);
    started_ = start;
}

IoInstance::~IoInstance() {
    lxc({"delete", "--force", name_});
    // Whatever a failed test left running is stopped through the runtime.
    std::error_code ec;
    for (const auto& c : fs::directory_iterator(run_dir_, ec)) {
        run({bin("lodge-runtime"), "--run-dir", run_dir_, "stop", c.path().filename().string(), "--force"});
        run({bin("lodge-runtime"), "--run-dir", run_dir_, "delete", c.path().filename().string()});
    }
    wait_until([&] { return leftovers(name_, "").empty(); }, 5);
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
