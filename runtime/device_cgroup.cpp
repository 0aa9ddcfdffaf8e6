// Device cgroup rules on v1 (devices.deny / devices.allow) and v2 (a
// hand-assembled BPF_PROG_TYPE_CGROUP_DEVICE program attached through bpf(2)).
#include "runtime/device_cgroup.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "runtime/monitor_client.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lodge::runtime {

namespace {

// ---- eBPF assembly ----

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i = {};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}
bpf_insn load_u32(uint8_t dst, uint8_t src, int16_t off) { return insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0); }
bpf_insn alu_imm(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
bpf_insn mov_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn jump_if_not(uint8_t dst, int32_t imm, int16_t off) { return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int access_bits(const std::string& access) {
    int bits = 0;
    for (char c : access) {
        if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
        if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
        if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
    }
    return bits;
}

// ---- bpf(2) ----

long bpf(int cmd, union bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

UniqueFd load_program(const std::vector<bpf_insn>& insns) {
    static const char license[] = "GPL";
    std::string log(16384, '\0');
    union bpf_attr attr = {};
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = reinterpret_cast<uint64_t>(insns.data());
    attr.insn_cnt = static_cast<uint32_t>(insns.size());
    attr.license = reinterpret_cast<uint64_t>(license);
    attr.log_buf = reinterpret_cast<uint64_t>(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
    attr.log_level = 1;
    std::strncpy(attr.prog_name, "lodge_devices", sizeof attr.prog_name - 1);
    long fd = bpf(BPF_PROG_LOAD, attr);
    if (fd < 0 && errno == ENOSPC) { // log too small: the program itself was fine
        attr.log_buf = 0, attr.log_size = 0, attr.log_level = 0;
        fd = bpf(BPF_PROG_LOAD, attr);
    }
    if (fd < 0) {
        int err = errno;
        log.resize(std::strlen(log.c_str()));
        throw SystemError("load the device cgroup program" + (log.empty() ? "" : " (verifier: " + log + ")"), err);
    }
    return UniqueFd(static_cast<int>(fd));
}

DeviceProgram program_info(int prog_fd) {
    struct bpf_prog_info info = {};
    union bpf_attr attr = {};
    attr.info.bpf_fd = static_cast<uint32_t>(prog_fd);
    attr.info.info_len = sizeof info;
    attr.info.info = reinterpret_cast<uint64_t>(&info);
    if (bpf(BPF_OBJ_GET_INFO_BY_FD, attr) < 0) throw_errno("read the device cgroup program's info");
    DeviceProgram p;
    p.id = info.id;
    char hex[3];
    for (unsigned char b : info.tag) {
        std::snprintf(hex, sizeof hex, "%02x", b);
        p.tag += hex;
    }
    return p;
}

// -1 (with errno) when there is no program by that id any more.
int program_fd_by_id(uint32_t id) {
    union bpf_attr attr = {};
    attr.prog_id = id;
    return static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, attr));
}

UniqueFd open_cgroup_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open " + dir);
    return fd;
}

// Attaches prog_fd to the cgroup, atomically in place of replace_fd when
// that is >= 0. Returns -errno instead of throwing.
int attach_program(int cgroup_fd, int prog_fd, int replace_fd) {
    union bpf_attr attr = {};
    attr.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (replace_fd >= 0) {
        attr.attach_flags |= BPF_F_REPLACE;
        attr.replace_bpf_fd = static_cast<uint32_t>(replace_fd);
    }
    return bpf(BPF_PROG_ATTACH, attr) < 0 ? -errno : 0;
}

std::vector<uint32_t> attached_programs(int cgroup_fd) {
    std::vector<uint32_t> ids(64);
    union bpf_attr attr = {};
    attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<uint64_t>(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (bpf(BPF_PROG_QUERY, attr) < 0) throw_errno("query the device cgroup programs");
    ids.resize(std::min<size_t>(attr.query.prog_cnt, ids.size()));
    return ids;
}

// ---- the container's directories ----

bool is_v1_devices_dir(const std::string& dir) { return ::access((dir + "/devices.allow").c_str(), F_OK) == 0; }

struct DeviceDirs {
    std::vector<std::string> v1; // directories of the v1 devices hierarchy
    std::string v2;              // the unified directory, "" for none
};

DeviceDirs device_dirs(const std::vector<std::string>& cgroup_dirs) {
    DeviceDirs d;
    for (const auto& dir : cgroup_dirs) {
        if (!is_v1_cgroup_dir(dir))
            d.v2 = dir;
        else if (is_v1_devices_dir(dir))
            d.v1.push_back(dir);
    }
    return d;
}

void allow_v1(const std::string& dir, const std::vector<DeviceRule>& rules) {
    for (const auto& r : rules) write_file(dir + "/devices.allow", to_string(r));
}

DeviceProgram attach_new(const std::string& dir, const std::vector<DeviceRule>& rules, const DeviceProgram& old) {
    UniqueFd cg = open_cgroup_dir(dir);
    UniqueFd prog = load_program(compile_device_program(rules));
    UniqueFd old_fd;
    if (old.id) old_fd.reset(program_fd_by_id(old.id));
    int err = attach_program(cg.get(), prog.get(), old_fd ? old_fd.get() : -1);
    // The old program is gone (or no longer attached here): attach beside
    // whatever is there; programs attached with ALLOW_MULTI all must allow.
    if (err == -ENOENT && old_fd) err = attach_program(cg.get(), prog.get(), -1);
    if (err < 0) throw SystemError("attach the device cgroup program to " + dir, -err);
    return program_info(prog.get());
}

std::vector<std::string> cgroup_dirs_of(const std::string& run_dir, const std::string& name) {
    std::vector<std::string> dirs;
    std::istringstream in(read_file(cgroup_list_path(run_dir, name)));
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) dirs.push_back(line);
    return dirs;
}

} // namespace

std::string to_string(const DeviceRule& r) {
    auto num = [](int64_t n) { return n < 0 ? std::string("*") : std::to_string(n); };
    return std::string(1, r.type) + " " + num(r.major) + ":" + num(r.minor) + " " + r.access;
}

DeviceRule parse_device_rule(const std::string& text) {
    DeviceRule r;
    char type = 0;
    char major[16] = {}, minor[16] = {}, access[8] = {};
    if (std::sscanf(text.c_str(), " %c %15[^: ]:%15s %7s", &type, major, minor, access) != 4 ||
        (type != 'a' && type != 'b' && type != 'c'))
        throw Error(400, "invalid device rule '" + text + "'");
    auto num = [&](const char* s) -> int64_t {
        if (std::strcmp(s, "*") == 0) return -1;
        char* end = nullptr;
        long long v = std::strtoll(s, &end, 10);
        if (!*s || *end || v < 0 || v >= (1LL << 20)) throw Error(400, "invalid device rule '" + text + "'");
        return v;
    };
    r.type = type;
    r.major = num(major);
    r.minor = num(minor);
    r.access = access;
    if (r.access.find_first_not_of("rwm") != std::string::npos)
        throw Error(400, "invalid device rule '" + text + "'");
    return r;
}

std::vector<DeviceRule> standard_device_rules() {
    // /dev/ptmx is a symlink to the container's devpts ptmx (5:2); the pts
    // slaves, /dev/console (the monitor's pty) among them, are 136:*.
    return {{'c', 1, 3, "rwm"}, {'c', 1, 5, "rwm"}, {'c', 1, 7, "rwm"}, {'c', 1, 8, "rwm"},  {'c', 1, 9, "rwm"},
            {'c', 5, 0, "rwm"}, {'c', 5, 1, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 136, -1, "rwm"}};
}

std::vector<DeviceRule> device_rules(const ContainerConfig& cfg) {
    auto rules = standard_device_rules();
    for (const auto& d : cfg.devices) rules.push_back({d.type, d.major, d.minor, "rwm"});
    return rules;
}

std::vector<bpf_insn> compile_device_program(const std::vector<DeviceRule>& rules) {
    // r2 = device type, r3 = access, r4 = major, r5 = minor (bpf_cgroup_dev_ctx)
    std::vector<bpf_insn> p = {
        load_u32(BPF_REG_2, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, access_type)),
        alu_imm(BPF_AND, BPF_REG_2, 0xffff),
        load_u32(BPF_REG_3, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, access_type)),
        alu_imm(BPF_RSH, BPF_REG_3, 16),
        load_u32(BPF_REG_4, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, major)),
        load_u32(BPF_REG_5, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, minor)),
    };
    for (const auto& r : rules) {
        // Each rule: tests that skip to the next rule on a mismatch, then
        // "return 1". The skips are filled in once the block's size is known.
        std::vector<bpf_insn> block;
        std::vector<size_t> skips;
        if (r.type != 'a') {
            skips.push_back(block.size());
            block.push_back(jump_if_not(BPF_REG_2, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0));
        }
        int allowed = access_bits(r.access);
        if (allowed != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
            // Every bit asked for must be allowed: (access & ~allowed) == 0.
            block.push_back(mov_reg(BPF_REG_1, BPF_REG_3));
            block.push_back(alu_imm(BPF_AND, BPF_REG_1, ~allowed & 7));
            skips.push_back(block.size());
            block.push_back(jump_if_not(BPF_REG_1, 0, 0));
        }
        if (r.major >= 0) {
            skips.push_back(block.size());
            block.push_back(jump_if_not(BPF_REG_4, static_cast<int32_t>(r.major), 0));
        }
        if (r.minor >= 0) {
            skips.push_back(block.size());
            block.push_back(jump_if_not(BPF_REG_5, static_cast<int32_t>(r.minor), 0));
        }
        block.push_back(alu_imm(BPF_MOV, BPF_REG_0, 1));
        block.push_back(exit_insn());
        for (size_t at : skips) block[at].off = static_cast<int16_t>(block.size() - at - 1);
        p.insert(p.end(), block.begin(), block.end());
        // A rule that matches everything ends the program: the verifier
        // refuses unreachable instructions.
        if (skips.empty()) return p;
    }
    p.push_back(alu_imm(BPF_MOV, BPF_REG_0, 0));
    p.push_back(exit_insn());
    return p;
}

DeviceProgram setup_device_cgroup(const std::vector<std::string>& cgroup_dirs, const std::vector<DeviceRule>& rules) {
    DeviceDirs dirs = device_dirs(cgroup_dirs);
    if (dirs.v1.empty() && dirs.v2.empty())
        throw Error("this host has no device cgroup (neither the v1 devices controller nor cgroup2): "
                    "containers would reach every device node");
    for (const auto& dir : dirs.v1) {
        write_file(dir + "/devices.deny", "a");
        allow_v1(dir, rules);
    }
    if (dirs.v2.empty()) return {};
    return attach_new(dirs.v2, rules, {});
}

DeviceProgram update_device_cgroup(const std::vector<std::string>& cgroup_dirs,
                                   const std::vector<DeviceRule>& old_rules, const std::vector<DeviceRule>& new_rules,
                                   const DeviceProgram& old_program) {
    DeviceDirs dirs = device_dirs(cgroup_dirs);
    auto missing_from = [](const std::vector<DeviceRule>& from, const std::vector<DeviceRule>& set) {
        std::vector<DeviceRule> out;
        for (const auto& r : from)
            if (std::find(set.begin(), set.end(), r) == set.end()) out.push_back(r);
        return out;
    };
    auto withdrawn = missing_from(old_rules, new_rules);
    for (const auto& dir : dirs.v1) {
        for (const auto& r : withdrawn) write_file(dir + "/devices.deny", to_string(r));
        // A deny clears the access bits of an equal exception, which a rule
        // that stays may share (a node with the numbers of /dev/null).
        allow_v1(dir, withdrawn.empty() ? missing_from(new_rules, old_rules) : new_rules);
    }
    if (dirs.v2.empty()) return {};
    return attach_new(dirs.v2, new_rules, old_program);
}

void write_device_record(const std::string& container_dir, const DeviceRecord& record) {
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& r : record.rules) rules.push_back(to_string(r));
    nlohmann::json j = {{"rules", rules}, {"program", {{"id", record.program.id}, {"tag", record.program.tag}}}};
    write_file_atomic(container_dir + "/devices.json", j.dump(), 0600);
}

DeviceRecord read_device_record(const std::string& container_dir) {
    std::string text = read_file_if_exists(container_dir + "/devices.json");
    if (text.empty()) throw Error(404, "no device cgroup record in " + container_dir);
    auto j = nlohmann::json::parse(text);
    DeviceRecord rec;
    for (const auto& r : j.at("rules")) rec.rules.push_back(parse_device_rule(r.get<std::string>()));
    rec.program.id = j.at("program").value("id", 0U);
    rec.program.tag = j.at("program").value("tag", std::string());
    return rec;
}

DeviceCgroupState read_device_cgroup(const std::string& run_dir, const std::string& name) {
    MonitorClient::connect(run_dir, name).call("state");
    DeviceCgroupState s;
    DeviceRecord rec = read_device_record(container_run_dir(run_dir, name));
    for (const auto& r : rec.rules) s.expected.push_back(to_string(r));
    s.v2_expected = rec.program.id;
    DeviceDirs dirs = device_dirs(cgroup_dirs_of(run_dir, name));
    if (!dirs.v1.empty()) {
        std::vector<std::string> lines;
        std::istringstream in(read_file(dirs.v1.front() + "/devices.list"));
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) lines.push_back(line);
        s.v1 = lines;
    }
    if (!dirs.v2.empty()) {
        s.has_v2 = true;
        UniqueFd cg = open_cgroup_dir(dirs.v2);
        s.v2_attached = attached_programs(cg.get());
        bool attached = std::find(s.v2_attached.begin(), s.v2_attached.end(), rec.program.id) != s.v2_attached.end();
        if (attached && rec.program.id) {
            UniqueFd prog(program_fd_by_id(rec.program.id));
            s.v2_intact = prog && program_info(prog.get()).tag == rec.program.tag;
        }
    }
    return s;
}

std::vector<std::string> allowed_devices(const std::string& run_dir, const std::string& name) {
    DeviceCgroupState s = read_device_cgroup(run_dir, name);
    if (s.has_v2 && !s.v2_intact)
        throw Error(409, "the device cgroup program of container '" + name +
                             "' is not the one lodge attached (program " + std::to_string(s.v2_expected) + ")");
    return s.v1 ? *s.v1 : s.expected;
}

} // namespace lodge::runtime
