// Instance config keys and their translation into what the runtime
// starts, list filters, and server-picked names.
#include "common/error.hpp"
#include "daemon/api/filter.hpp"
#include "daemon/instances/instances.hpp"
#include "profiles/schema.hpp"

#include <gtest/gtest.h>

#include <set>

namespace lodge::daemon {
namespace {

TEST(InstanceConfig, AcceptsLxdKeysAndRefusesOthers) {
    EXPECT_NO_THROW(profiles::validate_config({{"limits.memory", "512MiB"},
                                              {"limits.memory", "50%"},
                                              {"limits.cpu", "2"},
                                              {"limits.cpu.allowance", "25ms/100ms"},
                                              {"limits.processes", "100"},
                                              {"security.privileged", "false"},
                                              {"environment.FOO", "bar"},
                                              {"user.anything", "x"},
                                              {"linux.halt_signal", "SIGRTMIN+3"}},
                                    profiles::ConfigScope::instance));
    for (const api::ConfigMap& bad : std::vector<api::ConfigMap>{{{"bogus.key", "1"}},
                                                                {{"limits.memory", "lots"}},
                                                                {{"limits.processes", "-1"}},
                                                                {{"limits.cpu", "0"}},
                                                                {{"limits.cpu", "a-b"}},
                                                                {{"limits.cpu.allowance", "25/100"}},
                                                                {{"security.privileged", "maybe"}},
                                                                {{"linux.halt_signal", "SIGNOPE"}}}) {
        try {
            profiles::validate_config(bad, profiles::ConfigScope::instance);
            ADD_FAILURE() << bad.begin()->first << "=" << bad.begin()->second << " was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.status(), 400);
            EXPECT_NE(std::string(e.what()).find(bad.begin()->first), std::string::npos) << e.what();
        }
    }
}

TEST(InstanceFilter, EvaluatesClausesLeftToRight) {
    nlohmann::json web = {{"name", "web1"}, {"status", "Running"}, {"config", {{"image.os", "debian"}}}};
    nlohmann::json db = {{"name", "db1"}, {"status", "Stopped"}, {"config", {{"image.os", "busybox"}}}};
    Filter running("status eq Running");
    EXPECT_TRUE(running.matches(web));
    EXPECT_FALSE(running.matches(db));
    Filter os("config.image.os eq busybox or name eq web1");
    EXPECT_TRUE(os.matches(web));
    EXPECT_TRUE(os.matches(db));
    Filter negated("not name eq web1 and status ne Running");
    EXPECT_FALSE(negated.matches(web));
    EXPECT_TRUE(negated.matches(db));
    EXPECT_TRUE(Filter("name eq 'web1'").matches(web));
    EXPECT_TRUE(Filter("").matches(web));
    EXPECT_THROW(Filter("name web1"), Error);
    EXPECT_THROW(Filter("name gt web1"), Error);
    EXPECT_THROW(Filter("name eq web1 web2"), Error);
    EXPECT_THROW(Filter("name eq 'web1"), Error);
}

TEST(InstanceNames, PickedNamesAreValidAndFree) {
    std::set<std::string> taken;
    for (int i = 0; i < 50; ++i) {
        auto name = Instances::pick_name([&](const std::string& n) { return taken.count(n) > 0; });
        EXPECT_TRUE(runtime::valid_container_name(name)) << name;
        EXPECT_TRUE(taken.insert(name).second) << name;
    }
    EXPECT_THROW(Instances::pick_name([](const std::string&) { return true; }), Error);
}

} // namespace
} // namespace lodge::daemon
