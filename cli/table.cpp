// Table rendering byte for byte like the tablewriter package that `lxc`
// uses (github.com/olekukonko/tablewriter v0.0.5 with lxc's settings:
// left-aligned cells, centred headers, no wrapping, a line between rows).
#include "cli/table.hpp"

#include <algorithm>
#include <cctype>

namespace lodge::cli {

namespace {

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> lines;
    size_t pos = 0;
    for (;;) {
        size_t nl = s.find('\n', pos);
        lines.push_back(s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
        if (nl == std::string::npos) return lines;
        pos = nl + 1;
    }
}

// tablewriter's Title(): '_' and word-separating '.' become spaces, then
// upper case ("user.comment" → "USER COMMENT", "1.5" stays).
std::string title(const std::string& h) {
    std::string s = h;
    auto num_or_space = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == ' '; };
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '_') s[i] = ' ';
        else if (s[i] == '.' && ((i != 0 && !num_or_space(h[i - 1])) || (i + 1 != s.size() && !num_or_space(h[i + 1]))))
            s[i] = ' ';
    }
    s.erase(0, s.find_first_not_of(' '));
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (s.empty() && !h.empty()) s = " ";
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string pad_right(const std::string& s, size_t width) {
    size_t w = display_width(s);
    return w >= width ? s : s + std::string(width - w, ' ');
}

std::string pad_center(const std::string& s, size_t width) {
    size_t w = display_width(s);
    if (w >= width) return s;
    size_t gap = width - w, left = gap / 2;
    return std::string(left, ' ') + s + std::string(gap - left, ' ');
}

struct Layout {
    Row headers;                                  // after title()
    std::vector<std::vector<std::vector<std::string>>> cells; // row → column → lines
    std::vector<size_t> widths;
};

Layout layout(const Row& headers, const std::vector<Row>& rows) {
    Layout l;
    for (const auto& h : headers) {
        l.headers.push_back(title(h));
        l.widths.push_back(display_width(l.headers.back()));
    }
    for (const auto& row : rows) {
        auto& cells = l.cells.emplace_back();
        for (size_t c = 0; c < row.size(); ++c) {
            cells.push_back(split_lines(row[c]));
            if (c >= l.widths.size()) l.widths.push_back(0);
            for (const auto& line : cells.back()) l.widths[c] = std::max(l.widths[c], display_width(line));
        }
    }
    return l;
}

std::string border_line(const std::vector<size_t>& widths) {
    std::string out = "+";
    for (auto w : widths) out += std::string(w + 2, '-') + "+";
    return out + "\n";
}

// One table row (possibly several lines high). `left`, `sep` and `right`
// are what tablewriter writes before the first cell, between cells and
// after the last one.
std::string row_lines(const std::vector<std::vector<std::string>>& cells, const std::vector<size_t>& widths,
                      const std::string& left, const std::string& sep, const std::string& right) {
    size_t height = 1;
    for (const auto& c : cells) height = std::max(height, c.size());
    std::string out;
    for (size_t line = 0; line < height; ++line) {
        for (size_t c = 0; c < widths.size(); ++c) {
            std::string text = c < cells.size() && line < cells[c].size() ? cells[c][line] : "";
            out += (c == 0 ? left : sep) + " " + pad_right(text, widths[c]) + " ";
        }
        out += right + "\n";
    }
    return out;
}

std::string header_line(const Layout& l, const std::string& left, const std::string& sep, const std::string& last) {
    std::string out = left;
    for (size_t c = 0; c < l.widths.size(); ++c)
        out += " " + pad_center(c < l.headers.size() ? l.headers[c] : "", l.widths[c]) + " " +
               (c + 1 == l.widths.size() ? last : sep);
    return out + "\n";
}

bool csv_needs_quotes(const std::string& f) {
    // encoding/csv's fieldNeedsQuotes.
    if (f.empty()) return false;
    if (f == "\\.") return true;
    if (f.find_first_of(",\"\r\n") != std::string::npos) return true;
    return f.front() == ' ' || f.front() == '\t';
}

} // namespace

size_t display_width(const std::string& s) {
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string check_format(const std::string& format) {
    for (const char* f : {"table", "compact", "csv", "json", "yaml"})
        if (format == f) return "";
    return "Invalid format \"" + format + "\" (use table, compact, csv, json or yaml)";
}

std::string render_boxed(const Row& headers, const std::vector<Row>& rows) {
    auto l = layout(headers, rows);
    std::string line = border_line(l.widths);
    std::string out = line + header_line(l, "|", "|", "|") + line;
    for (const auto& cells : l.cells) out += row_lines(cells, l.widths, "|", "|", "|") + line;
    return out;
}

std::string render_compact(const Row& headers, const std::vector<Row>& rows) {
    auto l = layout(headers, rows);
    std::string out = header_line(l, " ", "", " ");
    for (const auto& cells : l.cells) out += row_lines(cells, l.widths, " ", "", " ");
    return out;
}

std::string render_csv(const std::vector<Row>& rows) {
    std::string out;
    for (const auto& row : rows) {
        for (size_t c = 0; c < row.size(); ++c) {
            if (c) out += ",";
            if (!csv_needs_quotes(row[c])) {
                out += row[c];
                continue;
            }
            out += "\"";
            for (char ch : row[c]) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
            out += "\"";
        }
        out += "\n";
    }
    return out;
}

std::string render_table(const std::string& format, const Row& headers, const std::vector<Row>& rows,
                         const nlohmann::json& raw, const KeyOrder& order) {
    if (format == "table") return render_boxed(headers, rows);
    if (format == "compact") return render_compact(headers, rows);
    if (format == "csv") return render_csv(rows);
    if (format == "json") return raw.dump() + "\n"; // Go's json.Encoder: compact, one line
    if (format == "yaml") return to_yaml(raw, order);
    return "";
}

namespace {

// fvbommel/sortorder's NaturalLess: digit runs compare by value (then by
// length, so "01" sorts after "1"), everything else byte-wise.
bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            size_t si = i, sj = j;
            while (si < a.size() && a[si] == '0') ++si;
            while (sj < b.size() && b[sj] == '0') ++sj;
            size_t ei = si, ej = sj;
            while (ei < a.size() && digit(a[ei])) ++ei;
            while (ej < b.size() && digit(b[ej])) ++ej;
            if (ei - si != ej - sj) return ei - si < ej - sj;
            if (int cmp = a.compare(si, ei - si, b, sj, ej - sj); cmp != 0) return cmp < 0;
            if (ei - i != ej - j) return ei - i < ej - j; // fewer leading zeros first
            i = ei;
            j = ej;
            continue;
        }
        if (a[i] != b[j]) return a[i] < b[j];
        ++i;
        ++j;
    }
    return a.size() - i < b.size() - j;
}

} // namespace

void sort_by_name(std::vector<Row>& rows) {
    std::stable_sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
        for (size_t k = 0; k < x.size() && k < y.size(); ++k) {
            if (x[k] == y[k]) continue;
            if (x[k].empty()) return false;
            if (y[k].empty()) return true;
            return natural_less(x[k], y[k]);
        }
        return false;
    });
}

} // namespace lodge::cli
