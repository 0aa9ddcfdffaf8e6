// The fixups run_fixups applies, in order; each one is a file of its own in
// images/vm/fixups/.
#pragma once

#include "images/vm/fixups/guest_files.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lodge::vm::detail {

void fix_fstab(Guest& guest);
void fix_network(Guest& guest);
void fix_udev(Guest& guest);
void fix_units(Guest& guest);
void fix_machine_id(Guest& guest);
void note_ssh_host_keys(Guest& guest);
void fix_cloud_init(Guest& guest);
void note_boot(Guest& guest);

// Lines of a text file, without their '\n'; a last line without one is
// kept, and join() puts back exactly what split removed.
std::vector<std::string> split_lines(const std::string& text);
std::string join_lines(const std::vector<std::string>& lines, bool trailing_newline);
bool ends_with_newline(const std::string& text);
// Fields split on spaces and tabs.
std::vector<std::string> split_fields(const std::string& line);
std::string trim(const std::string& s);
bool starts_with(const std::string& s, const std::string& prefix);

// "a, b, c": the names a record lists.
inline std::string join_words(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
    return out;
}

// The prefix every line a fixup comments out gets, followed by the reason.
inline std::string commented(const std::string& reason, const std::string& line) {
    return "# lodge: " + reason + ": " + line;
}

// Comments out the entries of a line-based file (blank lines and comments
// passed over) that `why` finds a reason for, records each, and rewrites the
// file once if any was. `why` gets the trimmed entry.
struct CommentOut {
    std::string action; // the record: "commented out /boot (...)"
    std::string reason; // after "# lodge: " in the file
};
void comment_out_entries(Guest& guest, const std::string& fixup, const std::string& path,
                         const std::function<std::optional<CommentOut>(const std::string& entry)>& why);

} // namespace lodge::vm::detail
