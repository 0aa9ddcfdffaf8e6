// Sizes as LXD writes them in config ("10GiB", "500MB", "1048576").
#pragma once

#include <cstdint>
#include <string>

namespace lodge::storage {

// Bytes in `text`: a whole or decimal number with an optional unit, B, kB/MB/
// GB/TB/PB/EB (powers of 1000) or KiB/MiB/GiB/TiB/PiB/EiB (powers of 1024).
// Error(400) naming the text when it is not a size or overflows 64 bits.
std::uint64_t parse_size(const std::string& text);

// The size in the largest binary unit that divides it exactly ("5GiB").
std::string format_size(std::uint64_t bytes);

} // namespace lodge::storage
