// Key/value config tables.
#include "daemon/db/key_values.hpp"

#include "common/error.hpp"

namespace lodge::daemon::db {

namespace {

std::string cat(std::initializer_list<std::string_view> parts) {
    std::string s;
    for (auto p : parts) s += p;
    return s;
}

} // namespace

ConfigMap load_key_values(Database& db, std::string_view table, std::string_view owner_column, std::int64_t owner) {
    auto st = db.prepare(cat({"SELECT key, value FROM ", table, " WHERE ", owner_column, " = ?"}));
    st.bind(1, owner);
    ConfigMap out;
    while (st.step()) out.emplace(st.text(0), st.text(1));
    return out;
}

void store_key_values(Database& db, std::string_view table, std::string_view owner_column, std::int64_t owner,
                      const ConfigMap& values) {
    db.prepare(cat({"DELETE FROM ", table, " WHERE ", owner_column, " = ?"})).bind(1, owner).run();
    auto ins = db.prepare(cat({"INSERT INTO ", table, " (", owner_column, ", key, value) VALUES (?, ?, ?)"}));
    for (const auto& [k, v] : values) {
        ins.bind_all(owner, k, v).run();
        ins.reset();
    }
}

DeviceMap load_devices(Database& db, const DeviceTables& t, std::int64_t owner) {
    DeviceMap out;
    // One query for all devices of the owner; a device without keys still
    // appears through the LEFT JOIN.
    auto st = db.prepare(cat({"SELECT d.name, d.type, c.key, c.value FROM ", t.devices, " d LEFT JOIN ", t.config,
                              " c ON c.", t.device_column, " = d.id WHERE d.", t.owner_column, " = ?"}));
    st.bind(1, owner);
    while (st.step()) {
        auto& dev = out[st.text(0)];
        dev["type"] = st.text(1);
        if (!st.is_null(2)) dev[st.text(2)] = st.text(3);
    }
    return out;
}

void store_devices(Database& db, const DeviceTables& t, std::int64_t owner, const DeviceMap& devices) {
    db.prepare(cat({"DELETE FROM ", t.devices, " WHERE ", t.owner_column, " = ?"})).bind(1, owner).run();
    auto ins_dev = db.prepare(cat({"INSERT INTO ", t.devices, " (", t.owner_column, ", name, type) VALUES (?, ?, ?)"}));
    auto ins_key = db.prepare(cat({"INSERT INTO ", t.config, " (", t.device_column, ", key, value) VALUES (?, ?, ?)"}));
    for (const auto& [name, keys] : devices) {
        auto type = keys.find("type");
        if (type == keys.end() || type->second.empty())
            throw Error(400, "Device \"" + name + "\" has no type");
        ins_dev.bind_all(owner, name, type->second).run();
        ins_dev.reset();
        const auto device_id = db.last_insert_id();
        for (const auto& [k, v] : keys) {
            if (k == "type") continue;
            ins_key.bind_all(device_id, k, v).run();
            ins_key.reset();
        }
    }
}

ConfigMap load_server_config(Database& db) {
    auto st = db.prepare("SELECT key, value FROM config");
    ConfigMap out;
    while (st.step()) out.emplace(st.text(0), st.text(1));
    return out;
}

void store_server_config(Database& db, const ConfigMap& values) {
    db.exec("DELETE FROM config");
    auto ins = db.prepare("INSERT INTO config (key, value) VALUES (?, ?)");
    for (const auto& [k, v] : values) {
        ins.bind_all(k, v).run();
        ins.reset();
    }
}

} // namespace lodge::daemon::db
