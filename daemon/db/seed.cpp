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

void seed_baseline_profiles(Database& db) {
    db.transaction([&] {
        const auto project = project_id(db, "default");
        if (!project || get_profile_contents(db, *project, "hardened")) return;
        api::Profile hardened;
        hardened.name = "hardened";
        hardened.description = "lodge's hardened baseline: own id range, more syscalls denied, more capabilities "
                               "dropped, limits (use with default: profiles default,hardened)";
        hardened.config = {
            // Instances may tighten these but not weaken them; lodge audit
            // reports any that does.
            {"lodge.baseline", "true"},
            {"security.privileged", "false"},
            {"security.nesting", "false"},
            {"security.idmap.isolated", "true"},
            // Kernel interfaces system containers do not need and that
            // keep turning up in container escapes.
            {"security.syscalls.deny", "bpf\nperf_event_open\nuserfaultfd\nadd_key\nkeyctl\nrequest_key"},
            {"lodge.security.personality", "linux"},
            // Tracing other processes, raw sockets and the kernel log.
            {"lodge.security.caps.drop", "sys_ptrace,net_raw,syslog"},
            {"limits.memory", "2GiB"},
            {"limits.memory.swap", "false"},
            {"limits.cpu.allowance", "200ms/100ms"},
            {"limits.processes", "2000"},
        };
        create_profile(db, *project, hardened);
    });
}

} // namespace lodge::daemon::db
