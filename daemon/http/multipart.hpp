// multipart/form-data bodies (RFC 7578) as LXD's client sends split images
// and LXD answers their export: parsing an upload, writing a download.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lodge::daemon {

struct FormPart {
    std::string name;     // Content-Disposition name
    std::string filename; // Content-Disposition filename, "" when none
    std::string data;
};

// The parts of body, in order. Error(400) when content_type has no
// boundary or the body is not multipart with it.
std::vector<FormPart> parse_multipart(const std::string& content_type, std::string_view body);

// A body of the parts and the Content-Type header naming its boundary.
std::pair<std::string, std::string> write_multipart(const std::vector<FormPart>& parts);

} // namespace lodge::daemon
