// The embedded defaults of a fresh database.
#include "daemon/db/seed.hpp"

#include "daemon/db/profiles.hpp"
#include "daemon/db/projects.hpp"
#include "daemon/db/storage_pools.hpp"

namespace lodge::daemon::db {

void seed_defaults(Database& db, const std::string& state_dir) {
    db.transaction([&] {
        api::Project project;
        project.name = "default";
        project.description = "Default lodge project";
        // The features LXD's default project reports; with one project
        // everything is shared, which is what these flags say.
        project.config = {{"features.images", "true"},
                          {"features.networks", "true"},
                          {"features.profiles", "true"},
                          {"features.storage.volumes", "true"}};
        const auto project_id = create_project(db, project);

        api::StoragePool pool;
        pool.name = "default";
        pool.driver = "dir";
        pool.config = {{"source", state_dir + "/storage-pools/default"}};
        create_storage_pool(db, pool);

        api::Profile profile;
        profile.name = "default";
        profile.description = "Default lodge profile";
        profile.devices = {{"root", {{"path", "/"}, {"pool", "default"}, {"type", "disk"}}}};
        create_profile(db, project_id, profile);
    });
}

} // namespace lodge::daemon::db
