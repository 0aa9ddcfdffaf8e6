// Server config keys: validation, PUT replacing, PATCH merging, unsetting.
#include "common/error.hpp"
#include "daemon/server_config.hpp"

#include <gtest/gtest.h>

using namespace lodge::daemon;
using nlohmann::json;

TEST(DaemonServerConfig, UnknownKeyIs400NamingTheKey) {
    try {
        apply_server_config({}, json{{"bogus.key", "1"}}, false);
        FAIL() << "accepted an unknown key";
    } catch (const lodge::Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_STREQ(e.what(), "Invalid config: Unknown configuration key: bogus.key");
    }
}

TEST(DaemonServerConfig, KeysLodgedDoesNotImplementAreRefused) {
    // No trust password: tokens are the way in, and storing it would promise one.
    EXPECT_THROW(apply_server_config({}, json{{"core.trust_password", "secret"}}, false), lodge::Error);
}

TEST(DaemonServerConfig, HttpsKeysAreChecked) {
    auto c = apply_server_config({}, json{{"core.https_address", "[::]:8443"}, {"core.remote_token_expiry", "1H"}}, false);
    EXPECT_EQ(c.at("core.https_address"), "[::]:8443");
    EXPECT_THROW(apply_server_config({}, json{{"core.https_address", "example.org:8443"}}, false), lodge::Error);
    EXPECT_THROW(apply_server_config({}, json{{"core.remote_token_expiry", "1 hour"}}, false), lodge::Error);
}

TEST(DaemonServerConfig, ValuesAreChecked) {
    EXPECT_THROW(apply_server_config({}, json{{"images.auto_update_interval", "soon"}}, false), lodge::Error);
    EXPECT_THROW(apply_server_config({}, json{{"images.auto_update_interval", "-1"}}, false), lodge::Error);
    EXPECT_THROW(apply_server_config({}, json{{"images.auto_update_cached", "maybe"}}, false), lodge::Error);
    EXPECT_THROW(apply_server_config({}, json{{"user.x", json::array()}}, false), lodge::Error);
    EXPECT_THROW(apply_server_config({}, json::array(), false), lodge::Error);
    try {
        apply_server_config({}, json{{"images.auto_update_interval", "soon"}}, false);
    } catch (const lodge::Error& e) {
        EXPECT_NE(std::string(e.what()).find("images.auto_update_interval"), std::string::npos);
    }
}

TEST(DaemonServerConfig, NumbersAndBooleansBecomeStrings) {
    auto out = apply_server_config({}, json{{"images.auto_update_interval", 6}, {"images.auto_update_cached", false}},
                                   false);
    EXPECT_EQ(out.at("images.auto_update_interval"), "6");
    EXPECT_EQ(out.at("images.auto_update_cached"), "false");
}

TEST(DaemonServerConfig, PatchMergesAndEmptyOrNullUnsets) {
    ConfigMap current{{"user.a", "1"}, {"user.b", "2"}, {"images.remote_cache_expiry", "10"}};
    auto out = apply_server_config(current, json{{"user.a", ""}, {"user.b", nullptr}, {"user.c", "3"}}, false);
    EXPECT_EQ(out, (ConfigMap{{"user.c", "3"}, {"images.remote_cache_expiry", "10"}}));
}

TEST(DaemonServerConfig, PutReplaces) {
    ConfigMap current{{"user.a", "1"}};
    EXPECT_EQ(apply_server_config(current, json{{"user.b", "2"}}, true), (ConfigMap{{"user.b", "2"}}));
    EXPECT_TRUE(apply_server_config(current, nullptr, true).empty());
}

TEST(DaemonServerConfig, UserKeysNeedAName) {
    EXPECT_THROW(apply_server_config({}, json{{"user.", "x"}}, false), lodge::Error);
    EXPECT_NO_THROW(apply_server_config({}, json{{"user.anything.at.all", "x"}}, false));
}
