// Progress of a server's operation on one terminal line, as lxc's
// ProgressRenderer draws it from the operation's "*_progress" metadata.
#include "cli/progress.hpp"

#include "cli/error.hpp"

#include <unistd.h>

#include <algorithm>
#include <ostream>

namespace lodge::cli {

nlohmann::json wait_with_progress(Context& ctx, ApiClient& api, const nlohmann::json& answer, const std::string& label) {
    if (!::isatty(1)) return api.wait(answer);
    const auto url = answer.value("operation", "");
    if (url.empty()) throw Error("the server answered without an operation");
    size_t shown = 0;
    auto clear = [&] {
        if (shown) ctx.out << "\r" << std::string(shown, ' ') << "\r" << std::flush;
        shown = 0;
    };
    for (;;) {
        auto op = api.get(url + "/wait?timeout=0.5");
        if (op.value("status", "") != "Running") {
            clear();
            if (op.value("status", "") != "Success") {
                auto err = op.value("err", "");
                throw Error(err.empty() ? "operation " + op.value("status", "") : err);
            }
            return op;
        }
        auto metadata = op.contains("metadata") && op["metadata"].is_object() ? op["metadata"] : nlohmann::json::object();
        // As lxc's renderer: whichever "*_progress" key the operation sets
        // (download_progress, vm_import_progress …).
        std::string text;
        for (const auto& [key, value] : metadata.items())
            if (key.size() > 9 && key.compare(key.size() - 9, 9, "_progress") == 0 && value.is_string())
                text = value.get<std::string>();
        if (text.empty()) continue;
        auto line = label + ": " + text;
        ctx.out << "\r" << line << (line.size() < shown ? std::string(shown - line.size(), ' ') : "") << std::flush;
        shown = std::max(shown, line.size());
    }
}

} // namespace lodge::cli
