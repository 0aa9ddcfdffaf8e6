// netplan (/etc/netplan/*.yaml): the first ethernet that is a physical NIC
// (by its id or by a match:) becomes the id eth0 with dhcp4, in every file
// that configures it (netplan merges files by id), and bridges, bonds and
// vlans naming it follow. Comments of a rewritten file are not kept
// (yaml-cpp does not carry them); a first line says so.
#include "images/vm/fixups/network.hpp"

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>

namespace lodge::vm::detail {

namespace {

const std::string dir = "/etc/netplan";

// Settings of the VM's NIC that pin its identity or static addressing.
const std::vector<std::string> dropped_keys = {"match",    "set-name", "macaddress", "addresses",
                                               "gateway4", "gateway6", "routes"};

bool is_yaml(const std::string& n) { return n.size() > 5 && n.compare(n.size() - 5, 5, ".yaml") == 0 && n[0] != '.'; }

std::optional<YAML::Node> ethernets_of(const YAML::Node& doc) {
    if (!doc.IsMap() || !doc["network"] || !doc["network"].IsMap()) return std::nullopt;
    YAML::Node e = doc["network"]["ethernets"];
    if (!e || !e.IsMap()) return std::nullopt;
    return e;
}

// Is the NIC id a member of a bridge or bond, or a vlan's link?
bool renames_members(YAML::Node network, const std::string& id, bool& enslaved) {
    bool changed = false;
    for (const char* kind : {"bridges", "bonds"}) {
        YAML::Node group = network[kind];
        if (!group || !group.IsMap()) continue;
        for (auto it : group) {
            YAML::Node members = it.second["interfaces"];
            if (!members || !members.IsSequence()) continue;
            for (std::size_t i = 0; i < members.size(); ++i)
                if (members[i].IsScalar() && members[i].as<std::string>() == id) {
                    members[i] = container_nic;
                    changed = enslaved = true;
                }
        }
    }
    YAML::Node vlans = network["vlans"];
    if (vlans && vlans.IsMap())
        for (auto it : vlans) {
            YAML::Node link = it.second["link"];
            if (link && link.IsScalar() && link.as<std::string>() == id) {
                it.second["link"] = container_nic;
                changed = true;
            }
        }
    return changed;
}

bool is_enslaved_anywhere(const std::vector<YAML::Node>& docs, const std::string& id) {
    for (const auto& doc : docs) {
        if (!doc.IsMap() || !doc["network"]) continue;
        for (const char* kind : {"bridges", "bonds"}) {
            YAML::Node group = doc["network"][kind];
            if (!group || !group.IsMap()) continue;
            for (auto it : group) {
                YAML::Node members = it.second["interfaces"];
                if (!members || !members.IsSequence()) continue;
                for (auto m : members)
                    if (m.IsScalar() && m.as<std::string>() == id) return true;
            }
        }
    }
    return false;
}

} // namespace

namespace {

struct Rewrite {
    std::string path, text;
    std::vector<std::string> changes;
};

// The rewritten files, computed before any is written so that a document
// yaml-cpp cannot convert leaves every file as it was.
std::vector<Rewrite> plan_rewrites(std::vector<YAML::Node>& docs, const std::vector<std::string>& paths,
                                   std::string& id, std::set<std::string>& others, std::vector<Rewrite>& notes) {
    // The NIC: the first physical ethernet id in file order.
    for (const auto& doc : docs) {
        auto eth = ethernets_of(doc);
        if (!eth) continue;
        for (auto it : *eth) {
            std::string key = it.first.as<std::string>();
            bool physical = is_physical_nic(key) || (it.second.IsMap() && it.second["match"]);
            if (!physical) continue;
            if (id.empty())
                id = key;
            else if (key != id)
                others.insert(key);
        }
    }
    std::vector<Rewrite> out;
    if (id.empty()) return out;
    bool enslaved = is_enslaved_anywhere(docs, id);
    for (std::size_t f = 0; f < docs.size(); ++f) {
        YAML::Node doc = docs[f];
        std::vector<std::string> changes;
        if (doc.IsMap() && doc["network"] && doc["network"].IsMap() && id != container_nic &&
            renames_members(doc["network"], id, enslaved))
            changes.push_back("bridge, bond or vlan member " + id + " becomes " + container_nic);
        auto eth = ethernets_of(doc);
        if (eth && (*eth)[id]) {
            if (id != container_nic && (*eth)[container_nic]) {
                notes.push_back(
                    {paths[f], "", {"not changed: both " + id + " and " + container_nic + " are configured"}});
                continue;
            }
            YAML::Node nic = (*eth)[id];
            if (!nic.IsMap()) nic = YAML::Node(YAML::NodeType::Map);
            std::vector<std::string> dropped;
            for (const auto& k : dropped_keys) {
                bool addressing = k != "match" && k != "set-name" && k != "macaddress";
                if (nic[k] && (!addressing || !enslaved)) {
                    nic.remove(k);
                    dropped.push_back(k);
                }
            }
            YAML::Node dhcp4 = nic["dhcp4"];
            bool has_dhcp4 = dhcp4 && dhcp4.IsScalar() && (dhcp4.Scalar() == "true" || dhcp4.Scalar() == "yes");
            if (!enslaved && !has_dhcp4) {
                nic["dhcp4"] = true;
                changes.push_back("dhcp4: true");
            }
            // Rebuild the map to rename the key in place, keeping order.
            YAML::Node renamed(YAML::NodeType::Map);
            for (auto it : *eth) {
                std::string key = it.first.as<std::string>();
                renamed[key == id ? container_nic : key] = key == id ? nic : it.second;
            }
            doc["network"]["ethernets"] = renamed;
            if (id != container_nic) changes.insert(changes.begin(), id + " becomes " + container_nic);
            if (!dropped.empty()) {
                changes.push_back("removed " + join_words(dropped));
            }
        }
        if (changes.empty()) continue;
        YAML::Emitter emitter;
        emitter << doc;
        out.push_back({paths[f],
                       "# lodge: " + id + " of the VM is the container's " + container_nic +
                           " with DHCP; this file was rewritten without its comments\n" + emitter.c_str() + "\n",
                       changes});
    }
    return out;
}

} // namespace

void fix_netplan(Guest& guest) {
    std::vector<std::string> paths;
    std::vector<YAML::Node> docs;
    for (const auto& n : guest.list(dir)) {
        if (!is_yaml(n)) continue;
        std::string path = dir + "/" + n;
        auto text = guest.read("network", path);
        if (!text) continue;
        try {
            docs.push_back(YAML::Load(*text));
        } catch (const YAML::Exception& e) {
            guest.record("network", path, std::string("not changed: not valid YAML (") + e.what() + ")");
            continue;
        }
        paths.push_back(path);
    }
    std::string id;
    std::set<std::string> others;
    std::vector<Rewrite> notes, rewrites;
    try {
        rewrites = plan_rewrites(docs, paths, id, others, notes);
    } catch (const YAML::Exception& e) {
        guest.record("network", dir, std::string("not changed: a file netplan would reject (") + e.what() + ")");
        return;
    }
    for (const auto& n : notes) guest.record("network", n.path, n.changes.front());
    for (const auto& r : rewrites) {
        for (const auto& c : r.changes) guest.record("network", r.path, c);
        guest.replace(r.path, r.text);
    }
    for (const auto& other : others)
        guest.record("network", dir,
                     "not changed: " + other + " is a further NIC; the container has only " + container_nic +
                         " until more nic devices are added");
}

} // namespace lodge::vm::detail
