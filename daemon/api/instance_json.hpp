// Instance objects written straight to JSON text, without building a
// document first: lists of thousands of instances are mostly allocation
// when they go through nlohmann::json. Produces exactly what
// to_json(api::Instance) then dump() produces (tested).
#pragma once

#include "api/instance.hpp"

#include <string>

namespace lodge::daemon {

void append_instance_json(std::string& out, const api::Instance& instance);

} // namespace lodge::daemon
