// The simplestreams catalog: products turned into images as LXD does,
// aliases resolving to the newest version for the host architecture or the
// one named, fingerprints by prefix, and published data that is refused.
#include "common/error.hpp"
#include "daemon/images/simplestreams.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lodge::test {
namespace {

using nlohmann::json;
namespace ss = lodge::simplestreams;

std::string fp(char c) { return std::string(64, c); }

json item(const std::string& ftype, const std::string& path, char hash, std::int64_t size = 100) {
    return {{"ftype", ftype}, {"path", path}, {"sha256", fp(hash)}, {"size", size}};
}

// One version: metadata plus root.tar.xz, and squashfs when asked.
json version(char meta_hash, char combined, bool squashfs = false) {
    auto meta = item("lxd.tar.xz", "images/v/lxd.tar.xz", meta_hash);
    meta["combined_sha256"] = fp(combined);
    meta["combined_rootxz_sha256"] = fp(combined);
    json items = {{"lxd.tar.xz", meta}, {"root.tar.xz", item("root.tar.xz", "images/v/root.tar.xz", '1', 5000)}};
    if (squashfs) {
        items["lxd.tar.xz"]["combined_squashfs_sha256"] = fp('f');
        items["squashfs"] = item("squashfs", "images/v/rootfs.squashfs", '2');
    }
    return {{"items", items}};
}

json product(const std::string& arch, json versions) {
    return {{"aliases", "debian/12,debian/bookworm"}, {"arch", arch},          {"os", "Debian"},
            {"release", "bookworm"},                  {"release_title", "12"}, {"variant", "default"},
            {"versions", versions}};
}

const std::string index_json = json{{"format", "index:1.0"},
                                    {"index",
                                     {{"images",
                                       {{"datatype", "image-downloads"},
                                        {"path", "streams/v1/images.json"},
                                        {"products", {"p"}}}}}}}
                                   .dump();

ss::Catalog catalog(json products) {
    return ss::parse_catalog(index_json, [&](const std::string& path) {
        EXPECT_EQ(path, "streams/v1/images.json");
        return json{{"products", products}}.dump();
    });
}

// The architecture that is not the host's, as published.
std::string other_arch() { return ss::host_architecture() == "x86_64" ? "arm64" : "amd64"; }
std::string host_arch_published() {
    return ss::host_architecture() == "x86_64" ? "amd64" : ss::host_architecture() == "aarch64" ? "arm64" : "";
}

TEST(Simplestreams, AliasesResolveToTheNewestVersionOfTheHostArchitecture) {
    if (host_arch_published().empty()) GTEST_SKIP() << "host architecture not covered by this test";
    auto c = catalog({{"debian:12:host", product(host_arch_published(), {{"20240101_0000", version('a', 'b')},
                                                                        {"20240301_0000", version('c', 'd')}})},
                      {"debian:12:other", product(other_arch(), {{"20240401_0000", version('e', '9')}})}});
    ASSERT_EQ(c.images().size(), 3u);
    const auto& newest = c.resolve("debian/12");
    EXPECT_EQ(newest.fingerprint, fp('d'));
    EXPECT_EQ(newest.properties.at("serial"), "20240301_0000");
    EXPECT_EQ(newest.properties.at("description"), "Debian 12 " + host_arch_published() + " (20240301_0000)");
    EXPECT_EQ(api::format_time(newest.created_at), "2024-03-01T00:00:00Z");
    EXPECT_EQ(newest.metadata.sha256, fp('c'));
    EXPECT_EQ(newest.rootfs.size, 5000);
    EXPECT_EQ(newest.size(), 5100);
    EXPECT_EQ(newest.filename(), "lxd.tar.xz");
    EXPECT_EQ(c.resolve("debian/bookworm").fingerprint, fp('d'));
    EXPECT_EQ(c.resolve("debian/12/" + host_arch_published()).fingerprint, fp('d'));
    EXPECT_EQ(c.resolve("debian/12/" + other_arch()).fingerprint, fp('9'));
    // A fingerprint or a prefix of one; an older version is still there.
    EXPECT_EQ(c.resolve(fp('b').substr(0, 10)).fingerprint, fp('b'));
    auto aliases = c.aliases_of(newest);
    EXPECT_EQ(aliases, (std::vector<std::string>{"debian/12", "debian/12/" + host_arch_published(), "debian/bookworm",
                                                 "debian/bookworm/" + host_arch_published()}));
    EXPECT_TRUE(c.aliases_of(c.resolve(fp('b'))).empty());
}

TEST(Simplestreams, UnknownNamesAreNotFound) {
    auto c = catalog({{"p", product("amd64", {{"20240101", version('a', 'b')}})}});
    try {
        c.resolve("ubuntu/24.04");
        FAIL() << "resolved an unknown alias";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 404);
        EXPECT_NE(std::string(e.what()).find("\"ubuntu/24.04\" was not found"), std::string::npos) << e.what();
    }
    EXPECT_THROW(c.resolve(""), Error);
}

TEST(Simplestreams, OnlyRootfsTypesTheStoreKeepsAreChosen) {
    if (host_arch_published().empty()) GTEST_SKIP() << "host architecture not covered by this test";
    auto c = catalog({{"p", product(host_arch_published(), {{"20240101_0000", version('a', 'b', true)}})}});
    // Two images of one version, as in LXD: root.tar.xz and squashfs.
    ASSERT_EQ(c.images().size(), 2u);
    const auto& chosen = c.resolve("debian/12");
    EXPECT_EQ(chosen.rootfs_type, ss::supported_rootfs_types().front());
    const auto* squashfs = c.by_fingerprint(fp('f'));
    ASSERT_NE(squashfs, nullptr);
    EXPECT_EQ(squashfs->rootfs_type, "squashfs");
    EXPECT_EQ(squashfs->rootfs.path, "images/v/rootfs.squashfs");
}

TEST(Simplestreams, PublishedDataThatLeavesTheServerOrIsMalformedIsSkipped) {
    auto bad_path = version('a', 'b');
    bad_path["items"]["root.tar.xz"]["path"] = "images/../../etc/passwd";
    auto absolute = version('c', 'd');
    absolute["items"]["lxd.tar.xz"]["path"] = "/etc/shadow";
    auto bad_hash = version('e', 'e');
    bad_hash["items"]["root.tar.xz"]["sha256"] = "xyz";
    auto no_size = version('1', '2');
    no_size["items"]["root.tar.xz"].erase("size");
    auto c = catalog({{"p", product("amd64", {{"20240101", bad_path},
                                              {"20240102", absolute},
                                              {"20240103", bad_hash},
                                              {"20240104", no_size},
                                              {"notadate", version('3', '4')}})},
                      {"q", product("pdp11", {{"20240101", version('5', '6')}})}});
    EXPECT_TRUE(c.images().empty());

    EXPECT_THROW(ss::parse_catalog("{}", [](const std::string&) { return std::string(); }), Error);
    EXPECT_THROW(ss::parse_catalog("not json", [](const std::string&) { return std::string(); }), Error);
    auto escaping_index =
        json{{"index", {{"images", {{"datatype", "image-downloads"}, {"path", "../x.json"}, {"products", {"p"}}}}}}};
    EXPECT_THROW(ss::parse_catalog(escaping_index.dump(), [](const std::string&) { return std::string("{}"); }),
                 Error);
}

TEST(Simplestreams, ProgressTextIsLxds) {
    EXPECT_EQ(ss::progress_text({45, 100, 12300000}), "45% (12.30MB/s)");
    EXPECT_EQ(ss::progress_text({1500, 0, 0}), "1.50kB");
    EXPECT_EQ(ss::progress_text({0, 100, 999}), "999B/s");
    EXPECT_EQ(ss::progress_text({100, 100, 0}), "100%");
}

} // namespace
} // namespace lodge::test
