// convert_to_raw: qemu-img convert with the image's format and "no backing"
// spelled out in a json: filename, so qemu neither probes the format nor
// opens a backing file even if probe_disk missed one; Landlock is the third
// line (qemu-img may read only the disk and write only the output).
#include "images/vm/convert.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/reverter.hpp"
#include "images/vm/confine.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/capability.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <regex>

namespace lodge::vm {

namespace {

// qemu-img -p prints "    (12.50/100%)" and redraws it after a \r.
std::optional<double> progress_of(std::string_view line) {
    static const std::regex re(R"(^\s*\((\d+(?:\.\d+)?)/100%\)\s*$)");
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_match(line.begin(), line.end(), m, re)) return std::nullopt;
    return std::strtod(m[1].str().c_str(), nullptr);
}

} // namespace

void convert_to_raw(const std::string& disk, const DiskInfo& info, const std::string& raw_path,
                    const std::function<void(double percent)>& progress) {
    if (info.format == DiskFormat::raw) throw Error(500, "convert_to_raw: a raw disk is used as it is");
    // Created here so that Landlock can give qemu-img this one file to write.
    UniqueFd out(::open(raw_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) throw_errno("creating " + raw_path);
    out.reset();
    Reverter revert;
    revert.add([&] { ::unlink(raw_path.c_str()); });

    nlohmann::json source = {{"driver", format_name(info.format)},
                             {"file", {{"driver", "file"}, {"filename", disk}}},
                             {"backing", nullptr}};
    std::vector<std::string> argv = {"qemu-img", "convert", "-p", "-O", "raw", "json:" + source.dump(), raw_path};
    std::string errors;
    // Landlock limits it to the disk and the output; reading an admin's disk
    // file owned by another user takes CAP_DAC_READ_SEARCH.
    Confinement confinement{{disk}, {raw_path}, {CAP_DAC_READ_SEARCH}};
    auto result = run_confined(argv, confinement, [&](std::string_view line) {
        if (auto percent = progress_of(line)) {
            if (progress) progress(*percent);
        } else if (errors.size() < 4096) {
            errors.append(line).append("\n");
        }
    });
    if (result.exit_status != 0) {
        while (!errors.empty() && errors.back() == '\n') errors.pop_back();
        throw Error(400, fmt::format("qemu-img could not convert the {} disk: {}", format_name(info.format),
                                     errors.empty() ? fmt::format("exit status {}", result.exit_status) : errors));
    }
    revert.success();
}

} // namespace lodge::vm
