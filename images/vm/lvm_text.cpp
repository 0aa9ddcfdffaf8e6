// A recursive-descent parser for LVM2's text metadata, bounded in depth,
// list size and number range.
#include "images/vm/detail/lvm_text.hpp"

#include "common/error.hpp"

#include <fmt/format.h>

#include <cctype>

namespace lodge::vm::detail {

namespace {

constexpr int max_depth = 32;
constexpr std::size_t max_list = 100000;

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    LvmSection document() {
        LvmSection root = body(0);
        skip();
        if (pos_ < text_.size()) fail("unexpected '}'");
        return root;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        std::size_t line = 1;
        for (std::size_t i = 0; i < pos_ && i < text_.size(); ++i) line += text_[i] == '\n';
        throw Error(400, fmt::format("LVM metadata is malformed: {} at line {}", what, line));
    }

    void skip() {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c == '#') {
                while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
            } else if (std::isspace(static_cast<unsigned char>(c))) {
                ++pos_;
            } else {
                break;
            }
        }
    }

    static bool name_char(char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '+' ||
               c == '/' || c == '@';
    }

    std::string name() {
        std::size_t start = pos_;
        while (pos_ < text_.size() && name_char(text_[pos_])) ++pos_;
        if (pos_ == start) fail("expected a name");
        return std::string(text_.substr(start, pos_ - start));
    }

    // Statements until '}' (depth > 0) or the end of the text.
    LvmSection body(int depth) {
        if (depth > max_depth) fail("sections nested too deeply");
        LvmSection section;
        for (;;) {
            skip();
            if (pos_ >= text_.size() || text_[pos_] == '}') return section;
            std::string key = name();
            skip();
            if (pos_ < text_.size() && text_[pos_] == '{') {
                ++pos_;
                LvmSection child = body(depth + 1);
                if (pos_ >= text_.size()) fail("missing '}'");
                ++pos_;
                section.sections.emplace_back(std::move(key), std::move(child));
            } else if (pos_ < text_.size() && text_[pos_] == '=') {
                ++pos_;
                skip();
                section.values.emplace_back(std::move(key), value(true));
            } else {
                fail("expected '=' or '{' after '" + key + "'");
            }
        }
    }

    LvmValue value(bool list_allowed) {
        if (pos_ >= text_.size()) fail("missing value");
        char c = text_[pos_];
        LvmValue v;
        if (c == '"') {
            v.kind = LvmValue::Kind::string;
            ++pos_;
            while (pos_ < text_.size() && text_[pos_] != '"') {
                if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
                v.str += text_[pos_++];
            }
            if (pos_ >= text_.size()) fail("unterminated string");
            ++pos_;
        } else if (c == '[' && list_allowed) {
            v.kind = LvmValue::Kind::list;
            ++pos_;
            for (;;) {
                skip();
                if (pos_ < text_.size() && text_[pos_] == ']') {
                    ++pos_;
                    break;
                }
                if (!v.list.empty()) {
                    if (pos_ >= text_.size() || text_[pos_] != ',') fail("expected ',' in a list");
                    ++pos_;
                    skip();
                }
                if (v.list.size() >= max_list) fail("list too long");
                v.list.push_back(value(false));
            }
        } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
            bool negative = c == '-';
            if (negative) ++pos_;
            std::size_t start = pos_;
            std::uint64_t n = 0;
            while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
                if (n > (std::uint64_t(INT64_MAX) - 9) / 10) fail("number out of range");
                n = n * 10 + std::uint64_t(text_[pos_++] - '0');
            }
            if (pos_ == start) fail("expected a number");
            // Fractions appear in no field we read; skip them.
            if (pos_ < text_.size() && text_[pos_] == '.') {
                ++pos_;
                while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
            }
            v.num = negative ? -std::int64_t(n) : std::int64_t(n);
        } else {
            fail("expected a value");
        }
        return v;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

} // namespace

const LvmValue* LvmSection::value(std::string_view key) const {
    for (const auto& [k, v] : values)
        if (k == key) return &v;
    return nullptr;
}

const LvmSection* LvmSection::section(std::string_view name) const {
    for (const auto& [k, s] : sections)
        if (k == name) return &s;
    return nullptr;
}

std::string LvmSection::string(std::string_view key, const std::string& where) const {
    const LvmValue* v = value(key);
    if (!v || v->kind != LvmValue::Kind::string)
        throw Error(400, fmt::format("LVM metadata is malformed: {} has no string '{}'", where, key));
    return v->str;
}

std::int64_t LvmSection::number(std::string_view key, const std::string& where) const {
    const LvmValue* v = value(key);
    if (!v || v->kind != LvmValue::Kind::number)
        throw Error(400, fmt::format("LVM metadata is malformed: {} has no number '{}'", where, key));
    return v->num;
}

std::uint64_t LvmSection::unsigned_number(std::string_view key, const std::string& where) const {
    std::int64_t n = number(key, where);
    if (n < 0) throw Error(400, fmt::format("LVM metadata is malformed: {} has a negative '{}'", where, key));
    return std::uint64_t(n);
}

std::vector<std::string> LvmSection::strings(std::string_view key) const {
    std::vector<std::string> out;
    if (const LvmValue* v = value(key); v && v->kind == LvmValue::Kind::list)
        for (const auto& item : v->list)
            if (item.kind == LvmValue::Kind::string) out.push_back(item.str);
    return out;
}

LvmSection parse_lvm_text(std::string_view text) { return Parser(text).document(); }

} // namespace lodge::vm::detail
