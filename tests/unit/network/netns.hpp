// Test helpers: running a check in a network namespace the test made, so no
// netlink, nftables or sysctl call reaches the host's own namespace.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <thread>

#include "common/fd.hpp"

namespace lodge::test {

inline bool is_root() { return ::geteuid() == 0; }

// Runs f on its own thread after unshare(CLONE_NEWNET): the namespace
// belongs to that thread alone and goes away when it ends (with whatever
// f created in it). Exceptions from f fail the test.
inline void in_new_netns(const std::function<void()>& f) {
    std::string error;
    std::thread([&] {
        if (::unshare(CLONE_NEWNET) < 0) {
            error = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
            return;
        }
        try {
            f();
        } catch (const std::exception& e) {
            error = e.what();
        }
    }).join();
    if (!error.empty()) ADD_FAILURE() << error;
}

// Another new network namespace, alive as long as the returned fd is open.
inline UniqueFd new_netns_fd() {
    UniqueFd fd;
    std::thread([&] {
        if (::unshare(CLONE_NEWNET) == 0) fd.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    }).join();
    if (!fd) ADD_FAILURE() << "cannot create a network namespace: " << std::strerror(errno);
    return fd;
}

} // namespace lodge::test

#define NETWORK_REQUIRE_ROOT()                                                                                         \
    if (!::lodge::test::is_root()) GTEST_SKIP() << "needs root (creates network namespaces)"
