// A migrated machine: the backup import with the VM fixups run on the
// unpacked tree before it becomes the instance's volume.
#include "daemon/api/migrate.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "daemon/daemon.hpp"
#include "daemon/instances/instances.hpp"
#include "images/vm/fixups.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>

namespace lodge::daemon {

api::Response import_migrated_instance(Daemon& daemon, Request& request, std::int64_t project_id) {
    const auto options_text = request.header("x-lodge-migrate");
    vm::FixupOptions options;
    options.keep_network = options_text.find("keep-network") != std::string::npos;
    options.keep_machine_id = options_text.find("keep-machine-id") != std::string::npos;
    const auto name = request.header("x-lxd-name");
    // The upload file moves into the import's directory; the request's
    // hold on it must not remove it from there.
    auto upload = std::move(request.body_file);
    const auto path = upload->path;
    upload->path.clear();
    return daemon.instances().import_backup_file(
        project_id, path, name, request.header("x-lxd-pool"), [options](const std::string& rootfs, api::Instance& instance) {
            UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
            if (!root) throw_errno("opening " + rootfs);
            std::vector<vm::PlanFixup> fixups;
            vm::run_fixups(root.get(), options, fixups);
            for (const auto& f : fixups)
                spdlog::info("migrate {}: [{}] {}: {}", instance.name, f.fixup, f.path, f.action);
            const auto os = vm::read_guest_os(root.get());
            if (!os.architecture.empty()) {
                instance.architecture = os.architecture;
                instance.config["image.architecture"] = os.architecture;
            }
            if (!os.name.empty()) instance.config["image.os"] = os.name;
            if (!os.version_id.empty()) instance.config["image.version"] = os.version_id;
            if (!os.version_codename.empty()) instance.config["image.release"] = os.version_codename;
            instance.config["image.description"] = "migrated with lodge migrate (" + std::to_string(fixups.size()) +
                                                   " fixups)";
        });
}

} // namespace lodge::daemon
