// Networks table access.
#include "daemon/db/networks.hpp"

#include "daemon/db/key_values.hpp"

namespace lodge::daemon::db {

std::vector<std::string> network_names(Database& db) {
    auto st = db.prepare("SELECT name FROM networks ORDER BY name");
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

std::optional<api::Network> get_network(Database& db, const std::string& name) {
    auto st = db.prepare("SELECT id, description, type, status FROM networks WHERE name = ?");
    st.bind(1, name);
    if (!st.step()) return std::nullopt;
    api::Network n;
    n.name = name;
    n.description = st.text(1);
    n.type = st.text(2);
    n.status = st.text(3);
    n.managed = true;
    n.config = load_key_values(db, "networks_config", "network_id", st.integer(0));
    n.used_by = network_users(db, name);
    return n;
}

std::int64_t create_network(Database& db, const api::Network& network) {
    db.prepare("INSERT INTO networks (name, description, type, status) VALUES (?, ?, ?, ?)")
        .bind_all(network.name, network.description, network.type, network.status.empty() ? "Created" : network.status)
        .run();
    const auto id = db.last_insert_id();
    store_key_values(db, "networks_config", "network_id", id, network.config);
    return id;
}

void update_network(Database& db, const std::string& name, const std::string& description,
                    const api::ConfigMap& config) {
    auto st = db.prepare("SELECT id FROM networks WHERE name = ?");
    st.bind(1, name);
    if (!st.step()) return;
    const auto id = st.integer(0);
    db.prepare("UPDATE networks SET description = ? WHERE id = ?").bind_all(description, id).run();
    store_key_values(db, "networks_config", "network_id", id, config);
}

void rename_network(Database& db, const std::string& name, const std::string& new_name) {
    db.prepare("UPDATE networks SET name = ? WHERE name = ?").bind_all(new_name, name).run();
}

void delete_network(Database& db, const std::string& name) {
    db.prepare("DELETE FROM networks WHERE name = ?").bind(1, name).run();
}

std::vector<std::string> network_users(Database& db, const std::string& name) {
    std::vector<std::string> out;
    // A nic names its network with network=, or an existing bridge with parent=.
    constexpr const char* on_network = "c.key IN ('network', 'parent') AND c.value = ?1";
    auto inst = db.prepare(std::string("SELECT name FROM (") +
                           "SELECT i.name AS name FROM instances i JOIN instances_devices d ON d.instance_id = i.id"
                           " JOIN instances_devices_config c ON c.instance_device_id = d.id"
                           " WHERE d.type = 'nic' AND " + on_network +
                           " UNION SELECT i.name FROM instances i JOIN instances_profiles ip ON ip.instance_id = i.id"
                           " JOIN profiles_devices d ON d.profile_id = ip.profile_id"
                           " JOIN profiles_devices_config c ON c.profile_device_id = d.id"
                           " WHERE d.type = 'nic' AND " + on_network + ") ORDER BY name");
    inst.bind(1, name);
    while (inst.step()) out.push_back("/1.0/instances/" + inst.text(0));
    auto prof = db.prepare(std::string("SELECT DISTINCT p.name FROM profiles p JOIN profiles_devices d ON d.profile_id = p.id"
                                       " JOIN profiles_devices_config c ON c.profile_device_id = d.id"
                                       " WHERE d.type = 'nic' AND ") + on_network + " ORDER BY p.name");
    prof.bind(1, name);
    while (prof.step()) out.push_back("/1.0/profiles/" + prof.text(0));
    return out;
}

} // namespace lodge::daemon::db
