// The daemon's side of storage: one driver per pool, made from the pool's
// database row, the cached image volumes on each pool, and the reconcile at
// start that removes what interrupted work left behind. The drivers
// (storage/) keep the bytes; this decides from the database what should
// exist.
#pragma once

#include "api/storage_pool.hpp"
#include "storage/driver.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace lodge::daemon {

class Daemon;

class Pools {
public:
    explicit Pools(Daemon& daemon);

    // At start: makes every pool usable (mounting loop-backed ones), then
    // removes volumes no database row accounts for and drivers' temporary
    // leftovers, logging each. A pool that cannot be mounted is logged and
    // skipped; its instances fail to start with the reason.
    void start();

    // The pool's driver; Error(404) for an unknown pool.
    storage::Driver& driver(const std::string& pool);

    // A volume's name on disk: LXD's "<project>_<name>" outside the default project.
    static std::string disk_name(const std::string& project, const std::string& name);

    // The pool's cached volume of an image, unpacked from the image store
    // the first time a pool needs it; later instances copy it (a snapshot
    // on btrfs). Serialised, so concurrent launches unpack once.
    storage::Volume image_volume(const std::string& pool, const std::string& fingerprint);
    // A volume filled some other way (a VM disk import) becomes the pool's
    // cached volume of the image: renamed to the fingerprint, with its row.
    void adopt_image_volume(const std::string& pool, const storage::Volume& filled, const std::string& fingerprint);
    // Removes an image's cached volumes from every pool (the image is gone).
    void remove_image_volumes(const std::string& fingerprint);

    // POST /1.0/storage-pools: makes the pool's storage, then its row.
    // Error(400) for bad names, drivers or config, 409 when it exists.
    api::StoragePool create_pool(api::StoragePool spec);
    // DELETE: Error(400) while anything uses it; removes what create made.
    void delete_pool(const std::string& name);

private:
    std::unique_ptr<storage::Driver> make(const api::StoragePool& pool) const;
    void reconcile(const std::string& pool, storage::Driver& driver);

    Daemon& daemon_;
    std::mutex mutex_;
    std::map<std::string, std::unique_ptr<storage::Driver>> drivers_;
    std::mutex image_mutex_;
};

} // namespace lodge::daemon
