// multipart/form-data: just what file uploads and downloads need (no nested
// multiparts, no transfer encodings: Go's mime/multipart sends none).
#include "daemon/http/multipart.hpp"

#include "common/error.hpp"

#include <random>

namespace lodge::daemon {

namespace {

// The value of `key` in a header's parameters (key="value" or key=value).
std::string parameter(std::string_view header, const std::string& key) {
    size_t pos = 0;
    while ((pos = header.find(key + "=", pos)) != std::string_view::npos) {
        // Only at the start of a parameter: not "filename=" for "name=".
        if (pos > 0 && header[pos - 1] != ';' && header[pos - 1] != ' ') {
            ++pos;
            continue;
        }
        auto value = header.substr(pos + key.size() + 1);
        if (!value.empty() && value.front() == '"') {
            auto end = value.find('"', 1);
            return std::string(value.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1));
        }
        return std::string(value.substr(0, value.find(';')));
    }
    return "";
}

} // namespace

std::vector<FormPart> parse_multipart(const std::string& content_type, std::string_view body) {
    auto boundary = parameter(content_type, "boundary");
    if (boundary.empty()) throw Error(400, "multipart body without a boundary");
    const std::string delimiter = "--" + boundary;
    auto bad = [] { return Error(400, "Invalid multipart body"); };
    size_t pos = body.find(delimiter);
    if (pos == std::string_view::npos) throw bad();
    std::vector<FormPart> parts;
    for (;;) {
        pos += delimiter.size();
        if (body.substr(pos, 2) == "--") return parts; // the closing delimiter
        if (body.substr(pos, 2) != "\r\n") throw bad();
        pos += 2;
        auto head_end = body.find("\r\n\r\n", pos);
        if (head_end == std::string_view::npos) throw bad();
        FormPart part;
        auto head = body.substr(pos, head_end - pos);
        for (size_t line = 0; line < head.size();) {
            auto eol = head.find("\r\n", line);
            auto text = head.substr(line, eol == std::string_view::npos ? std::string_view::npos : eol - line);
            std::string name(text.substr(0, text.find(':')));
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (name == "content-disposition") {
                part.name = parameter(text, "name");
                part.filename = parameter(text, "filename");
            }
            if (eol == std::string_view::npos) break;
            line = eol + 2;
        }
        auto data_start = head_end + 4;
        auto next = body.find("\r\n" + delimiter, data_start);
        if (next == std::string_view::npos) throw bad();
        part.data = std::string(body.substr(data_start, next - data_start));
        parts.push_back(std::move(part));
        pos = next + 2;
    }
}

std::pair<std::string, std::string> write_multipart(const std::vector<FormPart>& parts) {
    std::random_device rd;
    std::string boundary;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 60; ++i) boundary += hex[rd() % 16];
    std::string body;
    for (const auto& p : parts) {
        body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"; filename=\"" +
                p.filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
        body += p.data;
        body += "\r\n";
    }
    body += "--" + boundary + "--\r\n";
    return {body, "multipart/form-data; boundary=" + boundary};
}

} // namespace lodge::daemon
