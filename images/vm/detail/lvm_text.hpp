// LVM2's text metadata format (lvm.conf syntax): nested `name { key = value }`
// sections with strings, numbers and lists. Parsed with caps on depth and
// size, as the text comes from an untrusted disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lodge::vm::detail {

struct LvmValue {
    enum class Kind { string, number, list } kind = Kind::number;
    std::string str;
    std::int64_t num = 0;
    std::vector<LvmValue> list;
};

struct LvmSection {
    std::vector<std::pair<std::string, LvmValue>> values;
    std::vector<std::pair<std::string, LvmSection>> sections;

    const LvmValue* value(std::string_view key) const;
    const LvmSection* section(std::string_view name) const;
    // The value as a string/number/list of strings; Error(400) naming `where`
    // when it is missing or of another kind.
    std::string string(std::string_view key, const std::string& where) const;
    std::int64_t number(std::string_view key, const std::string& where) const;
    std::uint64_t unsigned_number(std::string_view key, const std::string& where) const;
    std::vector<std::string> strings(std::string_view key) const; // [] when missing
};

// Error(400) "LVM metadata is malformed: …" on syntax errors.
LvmSection parse_lvm_text(std::string_view text);

} // namespace lodge::vm::detail
