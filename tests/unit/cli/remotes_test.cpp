// config.yml: lxc's layout read and written, the static remote "local",
// remote:name arguments, and where the local socket is.
#include "cli/error.hpp"
#include "cli/remotes.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace lodge::cli {
namespace {

// Sets an environment variable for one test and puts the old value back.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = ::getenv(name)) old_ = old, had_ = true;
        value ? ::setenv(name, value, 1) : ::unsetenv(name);
    }
    ~ScopedEnv() { had_ ? ::setenv(name_, old_.c_str(), 1) : ::unsetenv(name_); }

private:
    const char* name_;
    std::string old_;
    bool had_ = false;
};

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/lodge-cli-test-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

const char* lxc_style =
    "default-remote: prod\n"
    "remotes:\n"
    "  local:\n"
    "    addr: unix://\n"
    "    public: false\n"
    "  prod:\n"
    "    addr: https://127.0.0.1:8443\n"
    "    protocol: lxd\n"
    "    public: false\n"
    "aliases: {}\n";

TEST(CliRemotes, ReadsLxcsLayout) {
    auto c = parse_config(lxc_style);
    EXPECT_EQ(c.default_remote, "prod");
    ASSERT_EQ(c.remotes.count("prod"), 1u);
    EXPECT_EQ(c.remotes["prod"].addr, "https://127.0.0.1:8443");
    EXPECT_EQ(c.remotes["prod"].auth_type, "tls"); // lxc's default for private remotes
    EXPECT_EQ(auth_type(c.remotes["local"]), "file access");
}

TEST(CliRemotes, WritesWhatItReads) {
    auto c = parse_config(lxc_style);
    c.remotes["prod"].auth_type.clear();
    EXPECT_EQ(format_config(c), lxc_style);
    // What lxc 5.0.2 writes on its first run.
    EXPECT_EQ(format_config(default_config()),
              "default-remote: local\nremotes:\n  images:\n    addr: https://images.linuxcontainers.org\n"
              "    protocol: simplestreams\n    public: true\n  local:\n    addr: unix://\n    public: false\n"
              "aliases: {}\n");
}

TEST(CliRemotes, MissingFileGivesDefaultsAndStaticLocalWins) {
    TempDir dir;
    ScopedEnv no_remote("LODGE_REMOTE", nullptr);
    auto c = load_config(dir.path() + "/none.yml");
    EXPECT_EQ(c.default_remote, "local");
    EXPECT_TRUE(c.remotes.at("local").is_static);

    std::ofstream(dir.path() + "/config.yml") << "remotes:\n  local:\n    addr: https://evil:8443\n";
    c = load_config(dir.path() + "/config.yml");
    EXPECT_EQ(c.remotes.at("local").addr, "unix://");
    EXPECT_EQ(c.default_remote, "local");
}

TEST(CliRemotes, BrokenFileNamesItself) {
    TempDir dir;
    std::ofstream(dir.path() + "/config.yml") << "remotes: [unclosed\n";
    try {
        load_config(dir.path() + "/config.yml");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(dir.path() + "/config.yml"), std::string::npos);
    }
}

TEST(CliRemotes, LodgeRemoteOverridesTheDefault) {
    TempDir dir;
    ScopedEnv remote("LODGE_REMOTE", "other");
    EXPECT_EQ(load_config(dir.path() + "/none.yml").default_remote, "other");
}

TEST(CliRemotes, SaveIsPrivateAndReadable) {
    TempDir dir;
    ScopedEnv no_remote("LODGE_REMOTE", nullptr);
    auto c = parse_config(lxc_style);
    std::string path = dir.path() + "/conf/config.yml";
    save_config(c, path);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((dir.path() + "/conf").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    EXPECT_EQ(load_config(path).remotes.at("prod").addr, "https://127.0.0.1:8443");
}

TEST(CliRemotes, ParsesRemoteArguments) {
    auto c = parse_config(lxc_style);
    EXPECT_EQ(parse_remote(c, "web1"), (std::pair<std::string, std::string>{"prod", "web1"}));
    EXPECT_EQ(parse_remote(c, "local:web1"), (std::pair<std::string, std::string>{"local", "web1"}));
    EXPECT_EQ(parse_remote(c, "local:"), (std::pair<std::string, std::string>{"local", ""}));
    EXPECT_THROW(parse_remote(c, "nope:web1"), Error);
}

TEST(CliRemotes, LocalSocketFollowsLodgeDir) {
    Remote local;
    local.addr = "unix://";
    {
        ScopedEnv dir("LODGE_DIR", "/srv/lodge");
        EXPECT_EQ(socket_path(local), "/srv/lodge/unix.socket");
    }
    {
        ScopedEnv dir("LODGE_DIR", nullptr);
        EXPECT_EQ(socket_path(local), "/var/lib/lodge/unix.socket");
    }
    Remote explicit_socket;
    explicit_socket.addr = "unix:///run/other.socket";
    EXPECT_EQ(socket_path(explicit_socket), "/run/other.socket");
    Remote https;
    https.addr = "https://host:8443";
    EXPECT_THROW(socket_path(https), Error);
}

TEST(CliRemotes, ConfigDirFollowsLodgeConfThenHome) {
    {
        ScopedEnv conf("LODGE_CONF", "/etc/lodge-client");
        EXPECT_EQ(config_path(), "/etc/lodge-client/config.yml");
    }
    ScopedEnv conf("LODGE_CONF", nullptr);
    ScopedEnv home("HOME", "/home/ada");
    EXPECT_EQ(config_path(), "/home/ada/.config/lodge/config.yml");
}

} // namespace
} // namespace lodge::cli
