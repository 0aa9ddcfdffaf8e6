// How fast the dir driver's tree copy is against `cp -a`: not a pass/fail
// test (timing stays out of those), run by hand.
#include "storage/copy.hpp"

#include "tests/integration/daemon_harness.hpp"
#include "tests/integration/harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using lodge::test::TempDir;

void must(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

void tool(const std::vector<std::string>& argv) {
    auto r = lodge::test::run(argv, "", 600);
    if (r.status != 0) throw std::runtime_error(argv[0] + " failed: " + r.err);
}

// Not a pass/fail test: prints how long copy_tree takes against `cp -a`
// on a 1 GiB tree of mixed files (warm cache, alternating runs). Run with
// --gtest_also_run_disabled_tests --gtest_filter='StorageBench.*'.
TEST(StorageBench, DISABLED_CopyTreeAgainstCpA) {
    TempDir dir("lodge-storage-bench");
    const std::string tree = dir.path() + "/tree";
    ASSERT_EQ(::mkdir(tree.c_str(), 0755), 0);
    std::string block(1 << 20, '\0');
    std::uint64_t x = 88172645463325252ULL;
    for (auto& c : block) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        c = static_cast<char>(x);
    }
    const auto make = [&](const std::string& path, size_t bytes, size_t salt) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        must(fd >= 0, path);
        for (size_t done = 0; done < bytes;) {
            size_t n = std::min(bytes - done, block.size() - salt % 4096);
            must(::write(fd, block.data() + salt % 4096, n) == ssize_t(n), path);
            done += n;
        }
        ::close(fd);
    };
    std::uint64_t total = 0;
    for (int i = 0; i < 4; ++i, total += 150 << 20) make(tree + "/big" + std::to_string(i), 150 << 20, i);
    for (int d = 0; d < 50; ++d) {
        const std::string sub = tree + "/medium" + std::to_string(d);
        must(::mkdir(sub.c_str(), 0755) == 0, sub);
        for (int i = 0; i < 20; ++i, total += 256 << 10) make(sub + "/f" + std::to_string(i), 256 << 10, d * 20 + i);
    }
    for (int d = 0; d < 300; ++d) {
        const std::string sub = tree + "/small" + std::to_string(d);
        must(::mkdir(sub.c_str(), 0755) == 0, sub);
        for (int i = 0; i < 100; ++i) {
            const size_t size = (d * 100 + i) * 2654435761u % 8192;
            make(sub + "/f" + std::to_string(i), size, i);
            total += size;
            if (i % 10 == 0) must(::symlink("f0", (sub + "/l" + std::to_string(i)).c_str()) == 0, "symlink");
            if (i % 20 == 1) must(::link((sub + "/f1").c_str(), (sub + "/h" + std::to_string(i)).c_str()) == 0, "link");
        }
    }
    for (int i = 0; i < 2; ++i) {
        const std::string path = tree + "/sparse" + std::to_string(i);
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        must(fd >= 0, path);
        for (off_t off = 0; off < (1 << 30); off += 64 << 20) must(::pwrite(fd, block.data(), block.size(), off) > 0, path);
        must(::ftruncate(fd, 1 << 30) == 0, path);
        ::close(fd);
        total += 16 << 20;
    }
    ::sync();
    std::printf("tree: %.0f MiB of data in %s\n", double(total) / (1 << 20), tree.c_str());
    // Each run is timed to the end of its writeback (syncfs), from a synced
    // start; runs alternate so a busy neighbour hurts both sides alike.
    const std::string target = dir.path() + "/copy";
    std::map<std::string, std::vector<double>> runs;
    const auto timed = [&](const std::string& label, const std::function<void()>& f) {
        ::sync();
        auto start = std::chrono::steady_clock::now();
        f();
        int fd = ::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ::syncfs(fd);
        ::close(fd);
        runs[label].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        std::printf("%-22s %6.2f s\n", label.c_str(), runs[label].back());
        std::fflush(stdout);
        fs::remove_all(target);
    };
    for (int round = 0; round < 3; ++round) {
        timed("cp -a", [&] { tool({"cp", "-a", tree, target}); });
        for (unsigned threads : {2u})
            timed("copy_tree threads=" + std::to_string(threads),
                  [&] { lodge::storage::copy_tree(tree, target, {threads}); });
    }
    for (auto& [label, secs] : runs) {
        std::sort(secs.begin(), secs.end());
        std::printf("%-22s min %6.2f s  median %6.2f s\n", label.c_str(), secs.front(), secs[secs.size() / 2]);
    }
}

} // namespace
