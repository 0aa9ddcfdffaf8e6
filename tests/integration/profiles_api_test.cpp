// /1.0/profiles against a real lodged: create, replace, merge, rename and
// delete through the API; LXD's `lxc` driving profiles and devices; lodge's
// profile and device verbs printing what lxc prints; and the expansion of
// an instance's profiles under its own config.
#include "tests/integration/lxc_session.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace lodge::test {
namespace {

using nlohmann::json;

class ProfilesApi : public LxcSession {
protected:
    ProfilesApi() : LxcSession("lodge-pf") {}

    void SetUp() override {
        LxcSession::SetUp();
        greet_lxc();
    }

    json profile(const std::string& name) {
        auto r = lodged_->request("GET", "/1.0/profiles/" + name);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.json()["metadata"];
    }

    // A stopped busybox instance with the given profiles (and local config).
    void make_instance(const std::string& name, const std::vector<std::string>& profiles,
                       const std::vector<std::string>& config = {}) {
        if (lxc({"image", "info", "bb"}).status != 0) import(busybox_image_tarball(), "bb");
        std::vector<std::string> args{"init", "bb", name};
        for (const auto& p : profiles) args.insert(args.end(), {"-p", p});
        for (const auto& c : config) args.insert(args.end(), {"-c", c});
        auto r = lxc(args);
        ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    }

    // The same verb through lxc on one object and lodge on its twin: same
    // status and output once the names are swapped, and the same object.
    void twin(const std::vector<std::string>& args, const std::string& lxc_name, const std::string& lodge_name) {
        auto with = [&](const std::string& name) {
            std::vector<std::string> out;
            for (auto a : args) out.push_back(std::regex_replace(a, std::regex("\\{\\}"), name));
            return out;
        };
        auto theirs = lxc(with(lxc_name));
        auto ours = lodge(with(lodge_name));
        std::string shown;
        for (const auto& a : args) shown += " " + a;
        auto swap = [&](std::string s) { return std::regex_replace(s, std::regex(lodge_name), lxc_name); };
        EXPECT_EQ(ours.status, theirs.status) << shown << "\nlxc: " << theirs.err << "\nlodge: " << ours.err;
        EXPECT_EQ(swap(ours.out), theirs.out) << shown;
        EXPECT_EQ(swap(ours.err), theirs.err) << shown;
    }

    // The command through both clients on the same objects.
    void same(const std::vector<std::string>& args) {
        std::string shown;
        for (const auto& a : args) shown += " " + a;
        auto theirs = lxc(args);
        auto ours = lodge(args);
        EXPECT_EQ(ours.status, theirs.status) << shown << "\nlxc: " << theirs.err << "\nlodge: " << ours.err;
        EXPECT_EQ(ours.out, theirs.out) << shown;
        EXPECT_EQ(ours.err, theirs.err) << shown;
    }
};

TEST_F(ProfilesApi, CreateReplaceMergeRenameDelete) {
    auto r = lodged_->request("POST", "/1.0/profiles",
                              R"({"name": "pf-web", "description": "web tier",
                                  "config": {"limits.cpu": "2", "user.tier": "web"},
                                  "devices": {"data": {"type": "disk", "source": "/srv", "path": "/srv"}}})");
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.headers["location"], "/1.0/profiles/pf-web");
    auto p = profile("pf-web");
    EXPECT_EQ(p["description"], "web tier");
    EXPECT_EQ(p["config"], json({{"limits.cpu", "2"}, {"user.tier", "web"}}));
    EXPECT_EQ(p["devices"]["data"]["source"], "/srv");
    EXPECT_EQ(p["used_by"], json::array());

    // Taken and malformed names are refused; nothing is created.
    const auto listed = lodged_->request("GET", "/1.0/profiles").json()["metadata"];
    r = lodged_->request("POST", "/1.0/profiles", R"({"name": "pf-web"})");
    EXPECT_EQ(r.status, 409) << r.body;
    for (const auto* bad : {R"({"name": ""})", R"({"name": "pf/x"})", R"({"name": "."})", R"({"name": ".."})",
                            R"({"name": "pf x"})", R"({"name": "pf-bad", "config": {"limits.cpu": 2}})"})
        EXPECT_EQ(lodged_->request("POST", "/1.0/profiles", bad).status, 400) << bad;
    EXPECT_EQ(lodged_->request("GET", "/1.0/profiles").json()["metadata"], listed);
    EXPECT_NE(listed.dump().find("\"/1.0/profiles/pf-web\""), std::string::npos);

    // PATCH merges key by key and device by device.
    r = lodged_->request("PATCH", "/1.0/profiles/pf-web", R"({"config": {"limits.memory": "256MiB"}})");
    ASSERT_EQ(r.status, 200) << r.body;
    p = profile("pf-web");
    EXPECT_EQ(p["config"], json({{"limits.cpu", "2"}, {"limits.memory", "256MiB"}, {"user.tier", "web"}}));
    EXPECT_EQ(p["description"], "web tier");
    EXPECT_TRUE(p["devices"].contains("data"));

    // PUT replaces everything it is given.
    r = lodged_->request("PUT", "/1.0/profiles/pf-web", R"({"config": {"limits.processes": "100"}, "description": "w"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["metadata"], json::object());
    p = profile("pf-web");
    EXPECT_EQ(p["config"], json({{"limits.processes", "100"}}));
    EXPECT_EQ(p["description"], "w");
    EXPECT_EQ(p["devices"], json::object());

    // A misspelt key: 400 naming the nearest key, and nothing changes.
    for (const auto* method : {"PUT", "PATCH"}) {
        r = lodged_->request(method, "/1.0/profiles/pf-web", R"({"config": {"limits.memroy": "1GiB"}})");
        EXPECT_EQ(r.status, 400) << method;
        EXPECT_NE(r.json()["error"].get<std::string>().find("did you mean limits.memory"), std::string::npos)
            << r.body;
    }
    r = lodged_->request("PATCH", "/1.0/profiles/pf-web",
                         R"({"config": {"user.x": "1"}, "devices": {"d": {"type": "disk", "path": "rel"}}})");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(profile("pf-web")["config"], json({{"limits.processes", "100"}}));

    // Renames: 201 with the new URL; "default" stays; a taken name is refused.
    r = lodged_->request("POST", "/1.0/profiles/pf-web", R"({"name": "pf-front"})");
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.headers["location"], "/1.0/profiles/pf-front");
    EXPECT_EQ(lodged_->request("GET", "/1.0/profiles/pf-web").status, 404);
    EXPECT_EQ(profile("pf-front")["config"], json({{"limits.processes", "100"}}));
    r = lodged_->request("POST", "/1.0/profiles/default", R"({"name": "pf-other"})");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.json()["error"], "The \"default\" profile cannot be renamed");
    EXPECT_EQ(lodged_->request("POST", "/1.0/profiles/pf-front", R"({"name": "default"})").status, 409);
    EXPECT_EQ(lodged_->request("POST", "/1.0/profiles/pf-none", R"({"name": "pf-x"})").status, 404);

    // Deletes.
    r = lodged_->request("DELETE", "/1.0/profiles/default");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.json()["error"], "The \"default\" profile cannot be deleted");
    EXPECT_EQ(lodged_->request("DELETE", "/1.0/profiles/pf-front").status, 200);
    EXPECT_EQ(lodged_->request("GET", "/1.0/profiles/pf-front").status, 404);
    EXPECT_EQ(lodged_->request("DELETE", "/1.0/profiles/pf-front").status, 404);
}

// Profiles apply in order, the instance's own config over them all; a
// profile in use cannot go, and its users are named.
TEST_F(ProfilesApi, ExpansionAndInUseProfiles) {
    auto r = lodged_->request("PATCH", "/1.0/profiles/default",
                              R"({"config": {"user.a": "default", "user.b": "default", "user.c": "default"}})");
    ASSERT_EQ(r.status, 200) << r.body;
    r = lodged_->request("POST", "/1.0/profiles",
                         R"({"name": "pf-x", "config": {"user.b": "pfx", "user.c": "pfx", "limits.processes": "200"},
                             "devices": {"d1": {"type": "disk", "source": "/srv", "path": "/mnt/x"}}})");
    ASSERT_EQ(r.status, 201) << r.body;
    make_instance("pf-c1", {"default", "pf-x"}, {"user.c=local"});
    make_instance("pf-c2", {"default", "pf-x"});

    auto inst = lodged_->request("GET", "/1.0/instances/pf-c1").json()["metadata"];
    EXPECT_EQ(inst["profiles"], json({"default", "pf-x"}));
    EXPECT_EQ(inst["config"]["user.c"], "local");
    const auto& expanded = inst["expanded_config"];
    EXPECT_EQ(expanded["user.a"], "default");
    EXPECT_EQ(expanded["user.b"], "pfx");
    EXPECT_EQ(expanded["user.c"], "local");
    EXPECT_EQ(expanded["limits.processes"], "200");
    EXPECT_EQ(inst["expanded_devices"]["d1"]["path"], "/mnt/x");
    EXPECT_EQ(inst["expanded_devices"]["root"]["pool"], "default");

    // A later change of the profile shows in the expansion.
    r = lodged_->request("PATCH", "/1.0/profiles/pf-x", R"({"config": {"user.b": "changed"}})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/pf-c1").json()["metadata"]["expanded_config"]["user.b"],
              "changed");

    EXPECT_EQ(profile("pf-x")["used_by"], json({"/1.0/instances/pf-c1", "/1.0/instances/pf-c2"}));
    r = lodged_->request("DELETE", "/1.0/profiles/pf-x");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.json()["error"], "Profile is currently in use by: pf-c1, pf-c2");
    auto del = lxc({"profile", "delete", "pf-x"});
    EXPECT_NE(del.status, 0);
    EXPECT_EQ(del.err, "Error: Profile is currently in use by: pf-c1, pf-c2\n");
    EXPECT_EQ(lodge({"profile", "delete", "pf-x"}).err, del.err);

    // The root disk an instance takes from a profile cannot go.
    r = lodged_->request("PUT", "/1.0/profiles/default", R"({"config": {}, "devices": {}})");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(profile("default")["devices"]["root"]["pool"], "default");

    // A renamed profile stays on its instances.
    ASSERT_EQ(lxc({"profile", "rename", "pf-x", "pf-y"}).status, 0);
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/pf-c2").json()["metadata"]["profiles"], json({"default", "pf-y"}));

    ASSERT_EQ(lxc({"delete", "pf-c1"}).status, 0);
    ASSERT_EQ(lxc({"delete", "pf-c2"}).status, 0);
    EXPECT_EQ(lodged_->request("DELETE", "/1.0/profiles/pf-y").status, 200);
}

// LXD's own client on lodged: profiles created, set, shown, assigned and
// deleted; a host directory added to an instance as a disk device.
TEST_F(ProfilesApi, LxcClientProfilesAndDevices) {
    make_instance("pf-c1", {"default"});
    auto r = lxc({"profile", "create", "pf-lx"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "Profile pf-lx created\n");
    ASSERT_EQ(lxc({"profile", "set", "pf-lx", "limits.memory", "256MiB"}).status, 0);
    ASSERT_EQ(lxc({"profile", "set", "pf-lx", "user.note=hello", "limits.processes=300"}).status, 0);
    EXPECT_EQ(lxc({"profile", "get", "pf-lx", "limits.memory"}).out, "256MiB\n");
    r = lxc({"profile", "show", "pf-lx"});
    EXPECT_EQ(r.out,
              "config:\n  limits.memory: 256MiB\n  limits.processes: \"300\"\n  user.note: hello\n"
              "description: \"\"\ndevices: {}\nname: pf-lx\nused_by: []\n");
    r = lxc({"profile", "set", "pf-lx", "limits.memroy", "1GiB"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("did you mean limits.memory"), std::string::npos) << r.err;
    ASSERT_EQ(lxc({"profile", "unset", "pf-lx", "user.note"}).status, 0);
    EXPECT_FALSE(profile("pf-lx")["config"].contains("user.note"));

    r = lxc({"profile", "assign", "pf-c1", "default,pf-lx"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "Profiles default,pf-lx applied to pf-c1\n");
    auto inst = lodged_->request("GET", "/1.0/instances/pf-c1").json()["metadata"];
    EXPECT_EQ(inst["profiles"], json({"default", "pf-lx"}));
    EXPECT_EQ(inst["expanded_config"]["limits.memory"], "256MiB");
    EXPECT_EQ(profile("pf-lx")["used_by"], json({"/1.0/instances/pf-c1"}));
    EXPECT_NE(lxc({"profile", "delete", "pf-lx"}).status, 0);
    ASSERT_EQ(lxc({"profile", "assign", "pf-c1", "default"}).status, 0);
    r = lxc({"profile", "delete", "pf-lx"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "Profile pf-lx deleted\n");

    // A disk device on the instance: stored and shown as given.
    TempDir host("lodge-pf-share");
    r = lxc({"config", "device", "add", "pf-c1", "d1", "disk", "source=" + host.path(), "path=/mnt/d1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(r.out, "Device d1 added to pf-c1\n");
    r = lxc({"config", "device", "show", "pf-c1"});
    EXPECT_EQ(r.out, "d1:\n  path: /mnt/d1\n  source: " + host.path() + "\n  type: disk\n");
    EXPECT_EQ(lodge({"config", "device", "show", "pf-c1"}).out, r.out);
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/pf-c1").json()["metadata"]["devices"]["d1"]["source"],
              host.path());

    // And on a profile.
    ASSERT_EQ(lxc({"profile", "create", "pf-dev"}).status, 0);
    r = lxc({"profile", "device", "add", "pf-dev", "share", "disk", "source=" + host.path(), "path=/mnt/s"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(profile("pf-dev")["devices"]["share"]["path"], "/mnt/s");
    ASSERT_EQ(lxc({"delete", "pf-c1"}).status, 0);
}

// lodge's profile verbs print what lxc prints, and leave the same objects.
TEST_F(ProfilesApi, LodgeProfileVerbsMatchLxc) {
    const std::string a = "pf-aa", b = "pf-bb"; // lxc's and lodge's
    twin({"profile", "create", "{}"}, a, b);
    twin({"profile", "create", "{}"}, a, b); // taken
    twin({"profile", "set", "{}", "limits.cpu", "2"}, a, b);
    twin({"profile", "set", "{}", "user.x=1", "user.y=two words"}, a, b);
    twin({"profile", "set", "{}", "limits.memroy", "1GiB"}, a, b);
    twin({"profile", "get", "{}", "user.y"}, a, b);
    twin({"profile", "get", "{}", "user.none"}, a, b);
    twin({"profile", "unset", "{}", "user.x"}, a, b);
    twin({"profile", "device", "add", "{}", "data", "disk", "source=/srv", "path=/srv"}, a, b);
    twin({"profile", "device", "add", "{}", "data", "disk", "source=/srv", "path=/srv"}, a, b); // exists
    twin({"profile", "device", "add", "{}", "bad", "disk", "novalue"}, a, b);
    twin({"profile", "device", "set", "{}", "data", "readonly", "true"}, a, b);
    twin({"profile", "device", "get", "{}", "data", "readonly"}, a, b);
    twin({"profile", "device", "unset", "{}", "data", "readonly"}, a, b);
    twin({"profile", "device", "get", "{}", "nodev", "path"}, a, b);
    twin({"profile", "device", "list", "{}"}, a, b);
    twin({"profile", "device", "show", "{}"}, a, b);
    twin({"profile", "show", "{}"}, a, b);
    auto pa = profile(a), pb = profile(b);
    pa.erase("name");
    pb.erase("name");
    EXPECT_EQ(pa, pb);
    same({"profile", "list"});
    same({"profile", "list", "--format", "csv"});
    same({"profile", "list", "--format", "yaml"});
    same({"profile", "show", "default"});
    same({"profile", "rename", "default", "pf-zz"});
    same({"profile", "delete", "default"});
    same({"profile", "show", "pf-none"});

    // edit from stdin
    const std::string yaml = "config:\n  limits.cpu: 3\n  user.z: zed\ndescription: edited\ndevices:\n"
                             "  data:\n    path: /srv\n    source: /srv\n    type: disk\n";
    ASSERT_EQ(lxc({"profile", "edit", a}, yaml).status, 0);
    auto e = lodge({"profile", "edit", b}, yaml);
    ASSERT_EQ(e.status, 0) << e.err;
    pa = profile(a), pb = profile(b);
    EXPECT_EQ(pb["config"], json({{"limits.cpu", "3"}, {"user.z", "zed"}}));
    EXPECT_EQ(pb["description"], "edited");
    pa.erase("name");
    pb.erase("name");
    EXPECT_EQ(pa, pb);
    twin({"profile", "device", "remove", "{}", "data"}, a, b);
    twin({"profile", "device", "remove", "{}", "data"}, a, b); // gone

    // Instances' profile lists and devices.
    make_instance("pf-i1", {"default"});
    make_instance("pf-i2", {"default"});
    const std::string i = "pf-i1", j = "pf-i2";
    twin({"profile", "add", "{}", a}, i, j);
    twin({"profile", "remove", "{}", a}, i, j);
    twin({"profile", "remove", "{}", a}, i, j); // not applied
    twin({"profile", "assign", "{}", "default," + a}, i, j);
    twin({"profile", "assign", "{}", ""}, i, j);
    twin({"profile", "assign", "{}", "default"}, i, j);
    twin({"config", "device", "add", "{}", "d1", "disk", "source=/srv", "path=/mnt/d1"}, i, j);
    twin({"config", "device", "list", "{}"}, i, j); // one device: lxc lists a map in random order
    twin({"config", "device", "set", "{}", "d1", "readonly=true"}, i, j);
    twin({"config", "device", "get", "{}", "d1", "readonly"}, i, j);
    twin({"config", "device", "get", "{}", "root", "pool"}, i, j);      // from the profile
    twin({"config", "device", "set", "{}", "root", "size=1GiB"}, i, j); // from the profile
    twin({"config", "device", "remove", "{}", "root"}, i, j);           // from the profile
    twin({"config", "device", "override", "{}", "root", "size=2GiB"}, i, j);
    twin({"config", "device", "override", "{}", "root"}, i, j); // already local
    twin({"config", "device", "override", "{}", "nodev"}, i, j);
    twin({"config", "device", "show", "{}"}, i, j);
    twin({"config", "device", "unset", "{}", "d1", "readonly"}, i, j);
    twin({"config", "device", "remove", "{}", "d1", "root"}, i, j);
    twin({"config", "device", "show", "{}"}, i, j);
    auto ia = lodged_->request("GET", "/1.0/instances/" + i).json()["metadata"];
    auto ib = lodged_->request("GET", "/1.0/instances/" + j).json()["metadata"];
    EXPECT_EQ(ia["devices"], ib["devices"]);
    EXPECT_EQ(ia["profiles"], ib["profiles"]);

    twin({"profile", "copy", "{}", "pf-copy-{}"}, a, b);
    EXPECT_EQ(profile("pf-copy-" + b)["description"], "edited");
    twin({"profile", "rename", "pf-copy-{}", "pf-cp-{}"}, a, b);
    twin({"profile", "delete", "pf-cp-{}"}, a, b);
    twin({"profile", "delete", "{}"}, a, b);
    ASSERT_EQ(lxc({"delete", i, j}).status, 0);
}

// A running instance takes a profile's live keys at once; for the rest the
// answer names it, lodge says to restart it, and lxc says nothing.
TEST_F(ProfilesApi, RunningInstancesNamedWhenAChangeNeedsARestart) {
    ASSERT_EQ(lxc({"profile", "create", "pf-run"}).status, 0);
    make_instance("pf-r1", {"default", "pf-run"});
    make_instance("pf-r2", {"default"});
    auto r = lxc({"start", "pf-r1", "pf-r2"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();

    r = lodge({"profile", "set", "pf-run", "limits.processes", "321"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    auto put = lodged_->request("PATCH", "/1.0/profiles/pf-run", R"({"config": {"user.note": "live"}})");
    EXPECT_EQ(put.json()["metadata"], json::object()) << put.body;

    r = lodge({"profile", "set", "pf-run", "linux.halt_signal", "SIGUSR1"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "Restart pf-r1 for the change to take effect\n");
    put = lodged_->request("PATCH", "/1.0/profiles/pf-run", R"({"config": {"user.note": "again"}})");
    EXPECT_EQ(put.json()["metadata"], json({{"restart_required", {"pf-r1"}}})) << put.body;
    r = lxc({"profile", "set", "pf-run", "user.note", "lxc"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.err, "");
    auto expanded = lodged_->request("GET", "/1.0/instances/pf-r1").json()["metadata"]["expanded_config"];
    EXPECT_EQ(expanded["limits.processes"], "321");
    EXPECT_EQ(expanded["linux.halt_signal"], "SIGUSR1");

    // Once restarted with it, nothing is pending.
    ASSERT_EQ(lxc({"restart", "pf-r1", "--force"}).status, 0);
    r = lodge({"profile", "set", "pf-run", "user.note", "after"});
    EXPECT_EQ(r.err, "");
    ASSERT_EQ(lxc({"delete", "--force", "pf-r1", "pf-r2"}).status, 0);
}

} // namespace
} // namespace lodge::test
