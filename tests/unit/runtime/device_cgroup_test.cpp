// Device rules, device nodes in the config, and the eBPF device program run
// through a small interpreter of the instructions it uses.
#include "common/error.hpp"
#include "runtime/config.hpp"
#include "runtime/device_cgroup.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <stdexcept>

using namespace lodge;
using namespace lodge::runtime;

namespace {

// Runs a device program on one access: exactly the instructions
// compile_device_program emits, and a check that every jump lands inside.
int run_program(const std::vector<bpf_insn>& prog, char type, uint32_t major, uint32_t minor, const std::string& access) {
    uint32_t acc = 0;
    for (char c : access) acc |= c == 'r' ? BPF_DEVCG_ACC_READ : c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
    bpf_cgroup_dev_ctx ctx = {(acc << 16) | static_cast<uint32_t>(type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR),
                              major, minor};
    uint64_t r[11] = {};
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const bpf_insn& i = prog[pc];
        switch (i.code) {
        case BPF_LDX | BPF_W | BPF_MEM: {
            if (i.src_reg != BPF_REG_1 || i.off < 0 || i.off + 4 > static_cast<int>(sizeof ctx))
                throw std::runtime_error("bad load");
            uint32_t v;
            std::memcpy(&v, reinterpret_cast<const char*>(&ctx) + i.off, 4);
            r[i.dst_reg] = v;
            break;
        }
        case BPF_ALU64 | BPF_AND | BPF_K: r[i.dst_reg] &= static_cast<uint64_t>(static_cast<int64_t>(i.imm)); break;
        case BPF_ALU64 | BPF_RSH | BPF_K: r[i.dst_reg] >>= i.imm; break;
        case BPF_ALU64 | BPF_MOV | BPF_K: r[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm)); break;
        case BPF_ALU64 | BPF_MOV | BPF_X: r[i.dst_reg] = r[i.src_reg]; break;
        case BPF_JMP | BPF_JNE | BPF_K:
            if (r[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))) {
                pc += i.off;
                if (pc + 1 >= prog.size()) throw std::runtime_error("jump out of the program");
            }
            break;
        case BPF_JMP | BPF_EXIT: return static_cast<int>(r[0]);
        default: throw std::runtime_error("unexpected instruction");
        }
    }
    throw std::runtime_error("fell off the end");
}

} // namespace

TEST(DeviceRules, FormatAndParseLikeTheV1Controller) {
    EXPECT_EQ(to_string(DeviceRule{'c', 1, 3, "rwm"}), "c 1:3 rwm");
    EXPECT_EQ(to_string(DeviceRule{'c', 136, -1, "rwm"}), "c 136:* rwm");
    EXPECT_EQ(to_string(DeviceRule{'a', -1, -1, "rwm"}), "a *:* rwm");
    EXPECT_EQ(parse_device_rule("b 254:0 rw"), (DeviceRule{'b', 254, 0, "rw"}));
    EXPECT_EQ(parse_device_rule("c 136:* rwm"), (DeviceRule{'c', 136, -1, "rwm"}));
    for (const char* bad : {"", "x 1:3 rwm", "c 1:3 rwx", "c 1 rwm", "c a:3 rwm", "c -1:3 r"})
        EXPECT_THROW(parse_device_rule(bad), Error) << bad;
}

TEST(DeviceRules, StandardNodesPlusTheConfigsNodes) {
    ContainerConfig cfg;
    cfg.devices.push_back({"/dev/net/tun", 'c', 10, 200, 0, 0, 0666});
    cfg.devices.push_back({"/dev/loop9", 'b', 7, 9, 0, 0, 0660});
    auto rules = device_rules(cfg);
    ASSERT_EQ(rules.size(), standard_device_rules().size() + 2);
    EXPECT_EQ(to_string(rules[rules.size() - 2]), "c 10:200 rwm");
    EXPECT_EQ(to_string(rules.back()), "b 7:9 rwm");
}

TEST(DeviceProgram, AllowsExactlyTheRules) {
    auto prog = compile_device_program(standard_device_rules());
    EXPECT_EQ(run_program(prog, 'c', 1, 3, "rw"), 1);  // /dev/null
    EXPECT_EQ(run_program(prog, 'c', 1, 3, "m"), 1);
    EXPECT_EQ(run_program(prog, 'c', 136, 7, "rw"), 1); // a pts slave
    EXPECT_EQ(run_program(prog, 'c', 5, 2, "rw"), 1);   // ptmx
    EXPECT_EQ(run_program(prog, 'c', 1, 1, "r"), 0);    // /dev/mem
    EXPECT_EQ(run_program(prog, 'b', 1, 3, "r"), 0);    // the numbers of null, as a block device
    EXPECT_EQ(run_program(prog, 'b', 254, 0, "rw"), 0);
    EXPECT_EQ(run_program(prog, 'b', 254, 0, "m"), 0);
    EXPECT_EQ(run_program(prog, 'c', 10, 200, "rw"), 0);
    EXPECT_EQ(run_program(prog, 'c', 137, 0, "r"), 0);
}

TEST(DeviceProgram, AccessAndWildcardsAreHonoured) {
    auto prog = compile_device_program({{'b', 8, -1, "r"}, {'c', -1, 4, "m"}, {'a', -1, -1, "w"}});
    EXPECT_EQ(run_program(prog, 'b', 8, 17, "r"), 1);
    EXPECT_EQ(run_program(prog, 'b', 8, 17, "w"), 1);   // the 'a' rule
    EXPECT_EQ(run_program(prog, 'b', 8, 17, "rw"), 0);  // no one rule allows both
    EXPECT_EQ(run_program(prog, 'b', 8, 17, "m"), 0);
    EXPECT_EQ(run_program(prog, 'c', 99, 4, "m"), 1);
    EXPECT_EQ(run_program(prog, 'c', 99, 4, "r"), 0);
    EXPECT_EQ(run_program(compile_device_program({}), 'c', 1, 3, "r"), 0);
    auto all = compile_device_program({{'a', -1, -1, "rwm"}, {'c', 1, 3, "r"}});
    EXPECT_EQ(all.size(), 8u) << "nothing after a rule that matches everything";
    EXPECT_EQ(run_program(all, 'b', 8, 0, "rwm"), 1);
}

TEST(DeviceNodeConfig, RoundTripsThroughJson) {
    ContainerConfig cfg;
    cfg.name = "dv1";
    cfg.rootfs = "/tmp/r";
    cfg.privileged = true;
    cfg.devices.push_back({"/dev/net/tun", 'c', 10, 200, 0, 5, 0620});
    cfg.devices.push_back({"/srv/disk", 'b', 254, 1, 1000, 1000, 0600});
    cfg.mounts.push_back({"/srv/a", "/mnt/a", true, false});
    nlohmann::json j = cfg;
    EXPECT_EQ(j["devices"][0]["type"], "c");
    EXPECT_EQ(j["devices"][1]["major"], 254);
    auto back = j.get<ContainerConfig>();
    ASSERT_EQ(back.devices.size(), 2u);
    EXPECT_EQ(back.devices[1].path, "/srv/disk");
    EXPECT_EQ(back.devices[1].type, 'b');
    EXPECT_EQ(back.devices[1].minor, 1u);
    EXPECT_EQ(back.devices[0].gid, 5u);
    EXPECT_EQ(back.devices[0].mode, 0620u);
    ASSERT_EQ(back.mounts.size(), 1u);
    EXPECT_TRUE(back.mounts[0].readonly);
    EXPECT_FALSE(back.mounts[0].shift);
    EXPECT_TRUE(nlohmann::json::parse(R"({"name":"a","rootfs":"/r","mounts":[{"source":"/s","target":"/t"}]})")
                    .get<ContainerConfig>()
                    .mounts[0]
                    .shift);
    EXPECT_NO_THROW(back.validate());
}

TEST(DeviceNodeConfig, BadNodesAreRefusedByName) {
    auto refused = [](DeviceNode d, bool privileged = true) {
        ContainerConfig cfg;
        cfg.name = "dv1";
        cfg.rootfs = "/tmp/r";
        cfg.privileged = privileged;
        if (!privileged) {
            cfg.idmap.uids.push_back({0, 1000000, 65536});
            cfg.idmap.gids.push_back({0, 1000000, 65536});
        }
        cfg.devices.push_back(d);
        try {
            cfg.validate();
        } catch (const Error& e) {
            EXPECT_EQ(e.status(), 400);
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_NE(refused({"dev/x", 'c', 1, 3}), "");
    EXPECT_NE(refused({"/", 'c', 1, 3}), "");
    EXPECT_NE(refused({"/dev/../etc/x", 'c', 1, 3}), "");
    EXPECT_NE(refused({"/dev/x", 'p', 1, 3}).find("type"), std::string::npos);
    EXPECT_NE(refused({"/dev/x", 'c', 4096, 3}).find("major"), std::string::npos);
    EXPECT_NE(refused({"/dev/x", 'c', 1, 1u << 20}).find("minor"), std::string::npos);
    EXPECT_NE(refused({"/dev/x", 'c', 1, 3, 0, 0, 010000}).find("mode"), std::string::npos);
    EXPECT_NE(refused({"/dev/x", 'c', 1, 3, 70000, 0}, false).find("id map"), std::string::npos);
    EXPECT_EQ(refused({"/dev/x", 'c', 1, 3, 1000, 1000}, false), "");
    ContainerConfig twice;
    twice.name = "dv1";
    twice.rootfs = "/tmp/r";
    twice.privileged = true;
    twice.devices = {{"/dev/x", 'c', 1, 3}, {"/dev/x", 'c', 1, 5}};
    EXPECT_THROW(twice.validate(), Error);
}
