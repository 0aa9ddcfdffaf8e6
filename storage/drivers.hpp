// The concrete drivers, for make_driver() only.
#pragma once

#include "storage/driver.hpp"

#include <memory>
#include <string>

namespace lodge::storage {

std::unique_ptr<Driver> make_dir_driver(PoolSpec spec, const std::string& pools_dir);
std::unique_ptr<Driver> make_btrfs_driver(PoolSpec spec, const std::string& pools_dir, const std::string& disks_dir);

} // namespace lodge::storage
