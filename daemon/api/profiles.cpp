// GET /1.0/profiles and /1.0/profiles/{name}. Creating and editing profiles
// comes with the profiles issue.
#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/profiles.hpp"

namespace lodge::daemon {

namespace {

api::Response list_profiles(Daemon& daemon, const Request& request) {
    const int depth = recursion(request);
    return daemon.with_db([&](db::Database& db) {
        const auto project = request_project_id(db, request);
        return api::sync_response(collection(depth, "/1.0/profiles/", db::profile_names(db, project),
                                             [&](const std::string& name) { return *db::get_profile(db, project, name); }));
    });
}

api::Response get_profile(Daemon& daemon, const Request& request) {
    const auto& name = request.param("name");
    return daemon.with_db([&](db::Database& db) {
        auto profile = db::get_profile(db, request_project_id(db, request), name);
        if (!profile) throw Error(404, "Profile not found");
        return api::sync_response(*profile);
    });
}

} // namespace

void add_profile_routes(Router& router, Daemon& daemon) {
    router.add("GET", "/1.0/profiles", [&daemon](Request& r) -> Reply { return list_profiles(daemon, r); });
    router.add("GET", "/1.0/profiles/{name}", [&daemon](Request& r) -> Reply { return get_profile(daemon, r); });
}

} // namespace lodge::daemon
