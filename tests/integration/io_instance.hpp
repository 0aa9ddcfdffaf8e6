// An instance for the exec, file and console tests: a lodged on a temporary
// state directory and a busybox instance made the admin's way, `lxc image
// import` then `lxc launch` (or `lxc init` for a stopped one).
#pragma once

#include "daemon_harness.hpp"
#include "harness.hpp"

#include <memory>
#include <string>
#include <vector>

namespace lodge::test {

class IoInstance {
public:
    // name must start with the tests' prefix (io-).
    IoInstance(std::string name, bool start);
    ~IoInstance();
    IoInstance(const IoInstance&) = delete;
    IoInstance& operator=(const IoInstance&) = delete;

    const std::string& name() const { return name_; }
    const std::string& rootfs() const { return rootfs_; }
    Lodged& lodged() { return *lodged_; }
    const std::string& state_dir() const { return state_.path(); }

    // LXD's `lxc` client against this lodged (LXD_DIR), with its own HOME.
    Result lxc(const std::vector<std::string>& args, const std::string& input = "", int timeout_s = 60);
    // lodge's own client against it.
    Result lodge(const std::vector<std::string>& args, const std::string& input = "", int timeout_s = 60);

private:
    std::string name_;
    TempDir state_;
    TempDir lxc_home_;
    std::unique_ptr<Lodged> lodged_;
    std::string rootfs_;
    std::string run_dir_;
    bool started_ = false;
};

} // namespace lodge::test
