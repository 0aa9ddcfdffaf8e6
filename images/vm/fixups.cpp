// run_fixups: the order in which the fixups change a guest root, and the
// text helpers they share.
#include "images/vm/fixups.hpp"

#include "images/vm/fixups/steps.hpp"

namespace lodge::vm {

void run_fixups(int root_fd, const FixupOptions& options, std::vector<PlanFixup>& out) {
    detail::Guest guest(root_fd, options, out);
    // fstab first: the units fixup masks the swap units fstab no longer names.
    detail::fix_fstab(guest);
    detail::fix_network(guest);
    detail::fix_udev(guest);
    detail::fix_units(guest);
    detail::fix_machine_id(guest);
    detail::note_ssh_host_keys(guest);
    detail::fix_cloud_init(guest);
    detail::note_boot(guest);
}

namespace detail {

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) {
            lines.push_back(text.substr(pos));
            break;
        }
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

bool ends_with_newline(const std::string& text) { return !text.empty() && text.back() == '\n'; }

std::string join_lines(const std::vector<std::string>& lines, bool trailing_newline) {
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        out += lines[i];
        if (i + 1 < lines.size() || trailing_newline) out += '\n';
    }
    return out;
}

void comment_out_entries(Guest& guest, const std::string& fixup, const std::string& path,
                         const std::function<std::optional<CommentOut>(const std::string& entry)>& why) {
    auto text = guest.read(fixup, path);
    if (!text) return;
    auto lines = split_lines(*text);
    bool changed = false;
    for (auto& line : lines) {
        const std::string entry = trim(line);
        if (entry.empty() || entry[0] == '#') continue;
        auto out = why(entry);
        if (!out) continue;
        guest.record(fixup, path, out->action);
        line = commented(out->reason, line);
        changed = true;
    }
    if (changed) guest.replace(path, join_lines(lines, ends_with_newline(*text)));
}

std::vector<std::string> split_fields(const std::string& line) {
    std::vector<std::string> fields;
    size_t pos = 0;
    while (pos < line.size()) {
        size_t start = line.find_first_not_of(" \t\r", pos);
        if (start == std::string::npos) break;
        size_t end = line.find_first_of(" \t\r", start);
        if (end == std::string::npos) end = line.size();
        fields.push_back(line.substr(start, end - start));
        pos = end;
    }
    return fields;
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    size_t e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

} // namespace detail

} // namespace lodge::vm
