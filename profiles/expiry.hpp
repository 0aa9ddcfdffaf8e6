// LXD's expiry expressions (snapshots.expiry, core.remote_token_expiry).
#pragma once

#include "api/time.hpp"

#include <optional>
#include <string>

namespace lodge::profiles {

// LXD's expiry expression ("1H", "2d 12H",
// units S M H d w m y, each at most once) added to from; nullopt for "".
// Error(400) for anything else.
std::optional<api::Time> expiry_after(api::Time from, const std::string& expression);

} // namespace lodge::profiles
