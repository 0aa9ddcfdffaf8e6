// /1.0/networks in LXD 5.0.2's shapes (lxd/networks.go): the managed
// bridges and the host's other interfaces, create, get, replace (PUT),
// merge (PATCH), rename (POST) and delete, with /state and /leases.
#include "common/error.hpp"
#include "daemon/api/request_body.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/networks/networks.hpp"

namespace lodge::daemon {

namespace {

using nlohmann::json;

api::Response list_networks(Daemon& daemon, const Request& request) {
    const auto networks = daemon.networks().list();
    json out = json::array();
    for (const auto& n : networks) {
        if (recursion(request) == 0)
            out.push_back("/1.0/networks/" + n.name);
        else
            out.push_back(n);
    }
    return api::sync_response(std::move(out));
}

HttpResponse create_network(Daemon& daemon, const Request& request) {
    const auto body = object_body(request);
    api::NetworksPost post;
    post.name = text_field(body, "name");
    post.description = text_field(body, "description");
    post.type = text_field(body, "type");
    post.config = config_field(body).value_or(api::ConfigMap{});
    daemon.networks().create(post);
    return created("/1.0/networks/" + post.name);
}

api::Response update_network(Daemon& daemon, const Request& request, bool merge) {
    const auto body = object_body(request);
    const auto& name = request.param("name");
    std::string description = text_field(body, "description");
    if (merge && !body.contains("description")) description = daemon.networks().get(name).description;
    daemon.networks().update(name, description, config_field(body).value_or(api::ConfigMap{}), merge);
    return api::sync_response(json::object());
}

HttpResponse rename_network(Daemon& daemon, const Request& request) {
    const auto body = object_body(request);
    const auto new_name = text_field(body, "name");
    if (new_name.empty()) throw Error(400, "No name provided");
    daemon.networks().rename(request.param("name"), new_name);
    return created("/1.0/networks/" + new_name);
}

} // namespace

void add_network_routes(Router& router, Daemon& daemon) {
    const std::string one = "/1.0/networks/{name}";
    router.add("GET", "/1.0/networks", [&daemon](Request& r) -> Reply { return list_networks(daemon, r); });
    router.add("POST", "/1.0/networks", [&daemon](Request& r) -> Reply { return create_network(daemon, r); });
    router.add("GET", one, [&daemon](Request& r) -> Reply {
        return api::sync_response(daemon.networks().get(r.param("name")));
    });
    router.add("PUT", one, [&daemon](Request& r) -> Reply { return update_network(daemon, r, false); });
    router.add("PATCH", one, [&daemon](Request& r) -> Reply { return update_network(daemon, r, true); });
    router.add("POST", one, [&daemon](Request& r) -> Reply { return rename_network(daemon, r); });
    router.add("DELETE", one, [&daemon](Request& r) -> Reply {
        daemon.networks().remove(r.param("name"));
        return api::sync_response(json::object());
    });
    router.add("GET", one + "/state", [&daemon](Request& r) -> Reply {
        return api::sync_response(daemon.networks().state(r.param("name")));
    });
    router.add("GET", one + "/leases", [&daemon](Request& r) -> Reply {
        return api::sync_response(daemon.networks().leases(r.param("name")));
    });
}

} // namespace lodge::daemon
