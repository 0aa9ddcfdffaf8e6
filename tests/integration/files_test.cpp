// The file API through LXD's own client: push and pull round trips (content,
// mode, ownership), recursive pushes, deletes, and requests that try to
// leave the instance's root.
#include "io_instance.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace lodge::test {

namespace {

void write(const std::string& path, const std::string& data) { std::ofstream(path, std::ios::binary) << data; }
std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

class Files : public ::testing::Test {
protected:
    void SetUp() override {
        if (lxc_binary().empty()) GTEST_SKIP() << "lxd-client is not installed";
        // Stopped: the file API works on the root filesystem either way.
        instance_ = std::make_unique<IoInstance>("io-files", false);
    }
    void TearDown() override { instance_.reset(); }
    Result lxc(const std::vector<std::string>& args) { return instance_->lxc(args); }
    std::string rootfs() const { return instance_->rootfs(); }
    std::unique_ptr<IoInstance> instance_;
    TempDir local_{"lodge-io-local"};
};

TEST_F(Files, PushAndPullRoundTrip) {
    std::string data;
    for (int i = 0; i < 100000; ++i) data += static_cast<char>(i * 7 % 256);
    write(local_.path() + "/blob", data);
    auto r = lxc({"file", "push", local_.path() + "/blob", "io-files/root/blob", "--mode", "0640", "--uid", "12",
                  "--gid", "34"});
    ASSERT_EQ(r.status, 0) << r.err;
    struct stat st;
    ASSERT_EQ(::stat((rootfs() + "/root/blob").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(st.st_uid, 12u);
    EXPECT_EQ(st.st_gid, 34u);
    EXPECT_EQ(slurp(rootfs() + "/root/blob"), data);

    r = lxc({"file", "pull", "io-files/root/blob", local_.path() + "/back"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(slurp(local_.path() + "/back"), data);
    ASSERT_EQ(::stat((local_.path() + "/back").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);

    auto reply = instance_->lodged().request("GET", "/1.0/instances/io-files/files?path=/root/blob");
    EXPECT_EQ(reply.headers["x-lxd-type"], "file");
    EXPECT_EQ(reply.headers["x-lxd-mode"], "0640");
    EXPECT_EQ(reply.headers["x-lxd-uid"], "12");
    reply = instance_->lodged().request("GET", "/1.0/containers/io-files/files?path=/etc");
    EXPECT_EQ(reply.headers["x-lxd-type"], "directory");
    auto names = reply.json()["metadata"];
    EXPECT_NE(std::find(names.begin(), names.end(), "passwd"), names.end()) << reply.body;

    r = lxc({"file", "delete", "io-files/root/blob"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(fs::exists(rootfs() + "/root/blob"));
    EXPECT_EQ(instance_->lodged().request("GET", "/1.0/instances/io-files/files?path=/root/blob").status, 404);
}

TEST_F(Files, RecursivePushMakesTheTree) {
    fs::create_directories(local_.path() + "/tree/sub/deeper");
    write(local_.path() + "/tree/a", "A");
    write(local_.path() + "/tree/sub/deeper/b", "B");
    fs::create_symlink("a", local_.path() + "/tree/link");
    auto r = lxc({"file", "push", "-r", local_.path() + "/tree", "io-files/root/"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(slurp(rootfs() + "/root/tree/a"), "A");
    EXPECT_EQ(slurp(rootfs() + "/root/tree/sub/deeper/b"), "B");
    EXPECT_EQ(fs::read_symlink(rootfs() + "/root/tree/link"), "a");

    r = lxc({"file", "push", "-p", local_.path() + "/tree/a", "io-files/opt/made/by/p/a"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(slurp(rootfs() + "/opt/made/by/p/a"), "A");

    r = lxc({"file", "pull", "-r", "io-files/root/tree", local_.path() + "/pulled"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(slurp(local_.path() + "/pulled/tree/sub/deeper/b"), "B");
}

TEST_F(Files, DotDotIsRefused) {
    auto& d = instance_->lodged();
    EXPECT_EQ(d.request("GET", "/1.0/instances/io-files/files?path=../../etc/passwd").status, 400);
    EXPECT_EQ(d.request("GET", "/1.0/instances/io-files/files?path=/root/../../../etc/shadow").status, 400);
    EXPECT_EQ(d.request("POST", "/1.0/instances/io-files/files?path=/../../x", "data").status, 400);
    EXPECT_EQ(d.request("DELETE", "/1.0/instances/io-files/files?path=/root/..").status, 400);
    EXPECT_EQ(d.request("GET", "/1.0/instances/io-files/files?path=").status, 400);
}

// Symlinks planted in the root filesystem point at the host's files; they
// resolve inside the instance instead, so nothing of the host is read or written.
TEST_F(Files, HostSymlinksStayInside) {
    TempDir host("lodge-io-host");
    write(host.path() + "/secret", "host secret\n");
    fs::create_symlink(host.path() + "/secret", rootfs() + "/root/to-secret");
    fs::create_symlink(host.path(), rootfs() + "/root/to-dir");
    fs::create_symlink("../../../../../../../../" + host.path() + "/secret", rootfs() + "/root/relative");
    auto& d = instance_->lodged();

    for (const char* p : {"/root/to-dir/secret", "/root/relative/x"}) {
        auto r = d.request("GET", std::string("/1.0/instances/io-files/files?path=") + p);
        EXPECT_EQ(r.status, 404) << p << ": " << r.body;
        EXPECT_EQ(r.body.find("host secret"), std::string::npos);
    }
    // A symlink asked for by name is reported as a symlink, not followed.
    auto r = d.request("GET", "/1.0/instances/io-files/files?path=/root/to-secret");
    EXPECT_EQ(r.headers["x-lxd-type"], "symlink");
    EXPECT_EQ(r.body.find("host secret"), std::string::npos);

    for (const char* p : {"/root/to-secret", "/root/relative", "/root/to-dir/secret", "/root/to-dir/new"}) {
        r = d.request("POST", std::string("/1.0/instances/io-files/files?path=") + p, "overwritten\n");
        EXPECT_NE(r.status, 200) << p;
    }
    EXPECT_EQ(slurp(host.path() + "/secret"), "host secret\n");
    EXPECT_FALSE(fs::exists(host.path() + "/new"));
    auto pulled = lxc({"file", "pull", "io-files/root/to-dir/secret", local_.path() + "/stolen"});
    EXPECT_NE(pulled.status, 0);
    EXPECT_NE(slurp(local_.path() + "/stolen"), "host secret\n");
    // Deleting through the directory symlink fails too; the host file stays.
    EXPECT_NE(d.request("DELETE", "/1.0/instances/io-files/files?path=/root/to-dir/secret").status, 200);
    EXPECT_TRUE(fs::exists(host.path() + "/secret"));
}

} // namespace lodge::test

namespace lodge::test {

TEST_F(Files, LodgeFilePushPullDelete) {
    write(local_.path() + "/f", "content\n");
    auto r = instance_->lodge({"file", "push", local_.path() + "/f", "io-files/root/f", "--mode", "0600"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(slurp(rootfs() + "/root/f"), "content\n");
    struct stat st;
    ASSERT_EQ(::stat((rootfs() + "/root/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    fs::create_directories(local_.path() + "/d/e");
    write(local_.path() + "/d/e/g", "G");
    r = instance_->lodge({"file", "push", "-r", local_.path() + "/d", "io-files/root/"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(slurp(rootfs() + "/root/d/e/g"), "G");
    r = instance_->lodge({"file", "push", "-p", local_.path() + "/f", "io-files/new/parent/f"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(slurp(rootfs() + "/new/parent/f"), "content\n");
    r = instance_->lodge({"file", "pull", "-r", "io-files/root/d", local_.path() + "/back"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(slurp(local_.path() + "/back/e/g"), "G");
    r = instance_->lodge({"file", "pull", "io-files/root/f", local_.path() + "/f2"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(slurp(local_.path() + "/f2"), "content\n");
    r = instance_->lodge({"file", "delete", "io-files/root/f"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(fs::exists(rootfs() + "/root/f"));
    r = instance_->lodge({"file", "pull", "io-files/root/../../etc/shadow", local_.path() + "/x"});
    EXPECT_NE(r.status, 0);
}

} // namespace lodge::test

namespace lodge::test {

// The headers behind file_append and file_symlinks, as pylxd sends them.
TEST_F(Files, AppendAndSymlinkHeaders) {
    if (::access("/usr/bin/curl", X_OK) != 0) GTEST_SKIP() << "curl is not installed";
    auto post = [&](const std::string& path, const std::string& body, const std::vector<std::string>& headers) {
        std::vector<std::string> argv{"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket",
                                      instance_->lodged().socket(), "-X", "POST", "--data-binary", body};
        for (const auto& h : headers) argv.insert(argv.end(), {"-H", h});
        argv.push_back("http://unix.socket/1.0/instances/io-files/files?path=" + path);
        return run(argv).out;
    };
    EXPECT_EQ(post("/root/log", "one\n", {"X-LXD-type: file"}), "200");
    EXPECT_EQ(post("/root/log", "two\n", {"X-LXD-write: append"}), "200");
    EXPECT_EQ(slurp(rootfs() + "/root/log"), "one\ntwo\n");
    EXPECT_EQ(post("/root/log", "three\n", {"X-LXD-write: overwrite"}), "200");
    EXPECT_EQ(slurp(rootfs() + "/root/log"), "three\n");
    EXPECT_EQ(post("/root/link", "/etc/hostname", {"X-LXD-type: symlink"}), "200");
    EXPECT_EQ(fs::read_symlink(rootfs() + "/root/link"), "/etc/hostname");
    EXPECT_EQ(post("/root/dir", "", {"X-LXD-type: directory", "X-LXD-mode: 0700"}), "200");
    struct stat st;
    ASSERT_EQ(::stat((rootfs() + "/root/dir").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(post("/root/x", "", {"X-LXD-type: fifo"}), "400");
    EXPECT_EQ(post("/root/x", "", {"X-LXD-mode: 9999"}), "400");
    EXPECT_FALSE(fs::exists(rootfs() + "/root/x"));
}

} // namespace lodge::test
