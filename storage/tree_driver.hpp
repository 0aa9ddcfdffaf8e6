// What the dir and btrfs drivers do alike: volumes are directories (or
// subvolumes) under the pool's type directories, snapshots sit in
// <type>-snapshots/<volume>/, and deleting or renaming moves whole trees by
// rename(2) so that a crash leaves either the old state or temporary names
// for remove_leftovers(). They differ only in how a tree is removed.
#pragma once

#include "storage/driver.hpp"

#include "common/reverter.hpp"

namespace lodge::storage {

class TreeDriver : public Driver {
public:
    void delete_volume(const Volume& volume) override;
    void rename_volume(const Volume& volume, const std::string& new_name) override;
    void delete_snapshot(const Volume& snapshot) override;
    void rename_snapshot(const Volume& snapshot, const std::string& new_name) override;
    std::vector<std::string> remove_leftovers() override;

protected:
    using Driver::Driver;

    // Removes a tree whatever it holds (a btrfs tree may hold subvolumes).
    virtual void remove(const std::string& path) const = 0;

    // The end of creating a pool on a directory: `link` (<pools_dir>/<name>,
    // when the pool's source is elsewhere; "" otherwise) pointing at it, the
    // type directories, and "source" recorded. Each step goes into revert.
    void finish_directory_pool(Reverter& revert, const std::string& link);

    std::string snapshots_dir(const Volume& volume) const;
    void require(const Volume& volume) const; // Error(404) when absent
    static void check_snapshot(const Volume& snapshot);
    void make_snapshot_parent(const Volume& snapshot) const;
};

} // namespace lodge::storage
