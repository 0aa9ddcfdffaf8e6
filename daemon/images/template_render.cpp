// Rendering the pongo2 subset of image templates (see template_render.hpp):
// the source is split into text, {{ output }} and {% tag %} tokens, tags
// are nested into if-blocks, and expressions are evaluated as they are met.
#include "daemon/images/template_render.hpp"

#include "common/error.hpp"

#include <cctype>
#include <memory>
#include <optional>
#include <vector>

namespace lodge::daemon {

namespace {

struct Token {
    enum Kind { Text, Output, Tag } kind;
    std::string text; // the text, or the expression / tag without delimiters
    int line;
};

// Fails with the template's name and the line, as pongo2 does.
[[noreturn]] void fail(const std::string& name, int line, const std::string& what) {
    throw Error(400, "Template '" + name + "' line " + std::to_string(line) + ": " + what);
}

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

void trim_right(std::string& s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
}

std::vector<Token> tokenize(const std::string& name, const std::string& src) {
    std::vector<Token> out;
    size_t pos = 0;
    int line = 1;
    bool trim_next = false; // the previous tag ended with "-%}": strip leading whitespace
    auto count_lines = [&](size_t from, size_t to) {
        for (size_t i = from; i < to; ++i) line += src[i] == '\n';
    };
    while (pos < src.size()) {
        size_t open = src.find('{', pos);
        while (open != std::string::npos && open + 1 < src.size() && src[open + 1] != '{' && src[open + 1] != '%' &&
               src[open + 1] != '#')
            open = src.find('{', open + 1);
        if (open + 1 >= src.size()) open = std::string::npos;
        std::string text = src.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
        if (trim_next) {
            size_t b = 0;
            while (b < text.size() && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
            text.erase(0, b);
            trim_next = false;
        }
        const int text_line = line;
        count_lines(pos, open == std::string::npos ? src.size() : open);
        if (open == std::string::npos) {
            if (!text.empty()) out.push_back({Token::Text, text, text_line});
            break;
        }
        const char kind = src[open + 1];
        const std::string closer = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
        size_t close = src.find(closer, open + 2);
        if (close == std::string::npos) fail(name, line, std::string("'{") + kind + "' is never closed");
        std::string inner = src.substr(open + 2, close - open - 2);
        if (!inner.empty() && inner.front() == '-') {
            trim_right(text);
            inner.erase(0, 1);
        }
        if (!inner.empty() && inner.back() == '-' && kind != '#') {
            trim_next = true;
            inner.pop_back();
        }
        if (!text.empty()) out.push_back({Token::Text, text, text_line});
        if (kind != '#') out.push_back({kind == '{' ? Token::Output : Token::Tag, trim(inner), line});
        count_lines(open, close + 2);
        pos = close + 2;
    }
    return out;
}

struct Value {
    std::string str;
    bool defined = false;
    bool is_bool = false;
    bool b = false;

    static Value of(std::string s) { return {std::move(s), true, false, false}; }
    static Value boolean(bool v) { return {"", true, true, v}; }
    bool truthy() const { return is_bool ? b : defined && !str.empty(); }
    std::string text() const { return is_bool ? (b ? "True" : "False") : str; }
    bool operator==(const Value& o) const {
        if (is_bool || o.is_bool) return is_bool == o.is_bool && b == o.b;
        return str == o.str;
    }
};

// An expression's evaluation over its text: recursive descent, lowest
// precedence first (or, and, not, comparison, filter, primary).
class Expression {
public:
    Expression(const std::string& name, int line, const std::string& text, const RenderContext& ctx)
        : name_(name), line_(line), s_(text), ctx_(ctx) {}

    Value evaluate() {
        auto v = parse_or();
        skip_space();
        if (pos_ != s_.size()) fail(name_, line_, "unexpected '" + s_.substr(pos_) + "' in '" + s_ + "'");
        return v;
    }

private:
    void skip_space() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    bool eat(const std::string& tok, bool word = false) {
        skip_space();
        if (s_.compare(pos_, tok.size(), tok) != 0) return false;
        if (word && pos_ + tok.size() < s_.size() && is_ident(s_[pos_ + tok.size()])) return false;
        pos_ += tok.size();
        return true;
    }
    static bool is_ident(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
    std::string identifier() {
        skip_space();
        size_t start = pos_;
        while (pos_ < s_.size() && is_ident(s_[pos_])) ++pos_;
        if (start == pos_) fail(name_, line_, "expected a name in '" + s_ + "'");
        return s_.substr(start, pos_ - start);
    }

    Value parse_or() {
        auto v = parse_and();
        while (eat("or", true) || eat("||")) {
            auto r = parse_and();
            v = Value::boolean(v.truthy() || r.truthy());
        }
        return v;
    }
    Value parse_and() {
        auto v = parse_not();
        while (eat("and", true) || eat("&&")) {
            auto r = parse_not();
            v = Value::boolean(v.truthy() && r.truthy());
        }
        return v;
    }
    Value parse_not() {
        if (eat("not", true) || (peek('!') && !peek_at(1, '=') && eat("!"))) return Value::boolean(!parse_not().truthy());
        return parse_comparison();
    }
    bool peek(char c) {
        skip_space();
        return pos_ < s_.size() && s_[pos_] == c;
    }
    bool peek_at(size_t off, char c) const { return pos_ + off < s_.size() && s_[pos_ + off] == c; }
    Value parse_comparison() {
        auto v = parse_filtered();
        if (eat("==")) return Value::boolean(v == parse_filtered());
        if (eat("!=") || eat("<>")) return Value::boolean(!(v == parse_filtered()));
        return v;
    }
    Value parse_filtered() {
        auto v = parse_primary();
        while (eat("|")) {
            auto filter = identifier();
            std::optional<Value> arg;
            if (eat(":")) arg = parse_primary();
            v = apply_filter(filter, v, arg);
        }
        return v;
    }
    Value apply_filter(const std::string& filter, const Value& v, const std::optional<Value>& arg) {
        if (filter == "safe") return v; // output is never escaped anyway
        if (filter == "default") return v.truthy() ? v : arg.value_or(Value::of(""));
        if (filter == "default_if_none") return v.defined ? v : arg.value_or(Value::of(""));
        if (filter == "lower" || filter == "upper") {
            auto s = v.text();
            for (auto& c : s)
                c = static_cast<char>(filter == "lower" ? std::tolower(static_cast<unsigned char>(c))
                                                        : std::toupper(static_cast<unsigned char>(c)));
            return Value::of(s);
        }
        if (filter == "trim" || filter == "striptags") return Value::of(trim(v.text()));
        fail(name_, line_, "unsupported filter '" + filter + "'");
    }
    Value parse_string() {
        const char quote = s_[pos_++];
        std::string out;
        while (pos_ < s_.size() && s_[pos_] != quote) {
            char c = s_[pos_++];
            if (c == '\\' && pos_ < s_.size()) {
                c = s_[pos_++];
                if (c == 'n') c = '\n';
                if (c == 't') c = '\t';
            }
            out += c;
        }
        if (pos_ >= s_.size()) fail(name_, line_, "unterminated string in '" + s_ + "'");
        ++pos_;
        return Value::of(out);
    }
    Value parse_primary() {
        skip_space();
        if (pos_ >= s_.size()) fail(name_, line_, "expression ends early: '" + s_ + "'");
        const char c = s_[pos_];
        if (c == '"' || c == '\'') return parse_string();
        if (c == '(') {
            ++pos_;
            auto v = parse_or();
            if (!eat(")")) fail(name_, line_, "missing ')' in '" + s_ + "'");
            return v;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
            size_t start = pos_++;
            while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.')) ++pos_;
            return Value::of(s_.substr(start, pos_ - start));
        }
        auto word = identifier();
        if (word == "true" || word == "True") return Value::boolean(true);
        if (word == "false" || word == "False") return Value::boolean(false);
        if (word == "nil" || word == "None") return Value{};
        if (eat("(")) return call(word);
        if (eat(".")) {
            auto key = identifier();
            auto obj = ctx_.objects.find(word);
            if (obj == ctx_.objects.end()) return Value{};
            auto it = obj->second.find(key);
            return it == obj->second.end() ? Value{} : Value::of(it->second);
        }
        auto it = ctx_.values.find(word);
        return it == ctx_.values.end() ? Value{} : Value::of(it->second);
    }
    Value call(const std::string& function) {
        std::vector<Value> args;
        if (!eat(")")) {
            do args.push_back(parse_or());
            while (eat(","));
            if (!eat(")")) fail(name_, line_, "missing ')' after the arguments of " + function);
        }
        if (function != "config_get") fail(name_, line_, "unsupported function '" + function + "'");
        if (args.size() != 2) fail(name_, line_, "config_get takes a key and a default");
        auto it = ctx_.config.find(args[0].text());
        if (it == ctx_.config.end()) return args[1];
        // LXD strips trailing newlines of the value.
        auto value = it->second;
        while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
        return Value::of(value);
    }

    const std::string& name_;
    int line_;
    const std::string& s_;
    const RenderContext& ctx_;
    size_t pos_ = 0;
};

// Renders tokens[i..] until a tag in `stops` (returned, i left on it) or
// the end ("" returned).
class Renderer {
public:
    Renderer(const std::string& name, std::vector<Token> tokens, const RenderContext& ctx)
        : name_(name), tokens_(std::move(tokens)), ctx_(ctx) {}

    std::string run() {
        std::string out;
        auto stop = block(out, true, {});
        if (!stop.empty()) fail(name_, tokens_[i_].line, "'" + stop + "' without a matching 'if'");
        return out;
    }

private:
    static std::string tag_word(const std::string& tag) { return tag.substr(0, tag.find_first_of(" \t\n")); }
    static std::string tag_rest(const std::string& tag) {
        auto sp = tag.find_first_of(" \t\n");
        return sp == std::string::npos ? "" : trim(tag.substr(sp));
    }
    Value eval(const std::string& text, int line) { return Expression(name_, line, text, ctx_).evaluate(); }

    std::string block(std::string& out, bool emit, const std::vector<std::string>& stops) {
        for (; i_ < tokens_.size(); ++i_) {
            const auto& t = tokens_[i_];
            if (t.kind == Token::Text) {
                if (emit) out += t.text;
                continue;
            }
            if (t.kind == Token::Output) {
                if (emit) out += eval(t.text, t.line).text();
                continue;
            }
            const auto word = tag_word(t.text);
            for (const auto& s : stops)
                if (word == s) return word;
            if (word == "if") {
                if_block(out, emit);
            } else if (word == "autoescape" || word == "endautoescape") {
                // Output is never escaped here; LXD wraps every template in autoescape off.
            } else if (word == "elif" || word == "else" || word == "endif") {
                return word;
            } else {
                fail(name_, t.line, "unsupported tag '" + word + "'");
            }
        }
        return "";
    }

    // i_ is on the "if" tag; leaves it on the matching "endif".
    void if_block(std::string& out, bool emit) {
        const int line = tokens_[i_].line;
        bool taken = false;
        bool cond = emit && eval(tag_rest(tokens_[i_].text), line).truthy();
        for (;;) {
            ++i_;
            auto stop = block(out, emit && cond && !taken, {"elif", "else", "endif"});
            if (stop.empty()) fail(name_, line, "'if' without 'endif'");
            taken = taken || cond;
            const auto& t = tokens_[i_];
            if (stop == "endif") return;
            if (stop == "elif")
                cond = emit && !taken && eval(tag_rest(t.text), t.line).truthy();
            else
                cond = !taken;
        }
    }

    const std::string& name_;
    std::vector<Token> tokens_;
    const RenderContext& ctx_;
    size_t i_ = 0;
};

} // namespace

std::string render_template(const std::string& name, const std::string& source, const RenderContext& context) {
    return Renderer(name, tokenize(name, source), context).run();
}

} // namespace lodge::daemon
