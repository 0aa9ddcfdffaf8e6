// A test fixture for driving a lodged the way admins drive LXD: its own
// state directory and HOME, LXD's `lxc` (LXD_DIR at the state directory)
// and `lodge` (LODGE_DIR). Whatever a failing test leaves running is
// force-stopped through the runtime and checked for leftovers.
#pragma once

#include "tests/integration/daemon_harness.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace lodge::test {

class LxcSession : public ::testing::Test {
protected:
    explicit LxcSession(const std::string& prefix) : state_(prefix), home_(prefix + "-home") {}

    TempDir state_;
    TempDir home_;
    std::unique_ptr<Lodged> lodged_;

    void SetUp() override {
        if (lxc_binary().empty()) GTEST_SKIP() << "lxd-client is not installed";
        lodged_ = std::make_unique<Lodged>(state_.path());
    }

    void TearDown() override {
        // Containers outlive lodged by design; a test that failed halfway
        // must not leave them to the next one.
        stop_all_containers(state_.path());
        if (lodged_) lodged_->stop();
        std::error_code ec;
        for (const auto& c : std::filesystem::directory_iterator(state_.path() + "/run", ec))
            EXPECT_TRUE(wait_until([&] { return leftovers(c.path().filename().string(), "").empty(); }, 5))
                << c.path();
    }

    Result lxc(std::vector<std::string> args, const std::string& input = "") {
        std::vector<std::string> argv{"/usr/bin/env", "LXD_DIR=" + state_.path(), "HOME=" + home_.path(),
                                      lxc_binary()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, input, 120);
    }

    Result lodge(std::vector<std::string> args, const std::string& input = "") {
        std::vector<std::string> argv{"/usr/bin/env", "-u", "LODGE_REMOTE", "LODGE_DIR=" + state_.path(),
                                      "HOME=" + home_.path(), bin("lodge")};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, input, 120);
    }

    // lxc greets a new configuration directory once, on stderr: tests that
    // compare its output call this first.
    void greet_lxc() {
        if (lodged_) lxc({"remote", "list"});
    }

    // Imports an image under alias.
    void import(const std::string& tarball, const std::string& alias) {
        auto r = lxc({"image", "import", tarball, "--alias", alias});
        ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    }
};

} // namespace lodge::test
