// Waiting for an operation with its download progress shown, as lxc does
// for image copies and launches from image servers.
#pragma once

#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace lodge::cli {

// Waits for the operation an async answer started; on a terminal its
// "*_progress" metadata ("download_progress", "vm_import_progress") shows on one line ("Copying the image: rootfs: 45%
// (12.30MB/s)"), cleared at the end. Nothing extra when stdout is not a
// terminal. The final operation; Error with its err when it failed.
nlohmann::json wait_with_progress(Context& ctx, ApiClient& api, const nlohmann::json& answer,
                                  const std::string& label);

} // namespace lodge::cli
