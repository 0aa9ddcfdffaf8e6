// Simplestreams remotes on the client side: the catalog as LXD image
// objects (LXD's simplestreams client converts the same way).
#include "cli/simplestreams_remote.hpp"

#include "cli/error.hpp"
#include "common/error.hpp"

namespace lodge::cli {

namespace {

nlohmann::json image_object(const simplestreams::Catalog& catalog, const simplestreams::Image& image) {
    auto aliases = nlohmann::json::array();
    for (const auto& a : catalog.aliases_of(image)) aliases.push_back({{"name", a}, {"description", ""}});
    const auto created = api::format_time(image.created_at);
    return {{"auto_update", false},
            {"properties", image.properties},
            {"public", true},
            {"expires_at", "1970-01-01T00:00:00Z"},
            {"profiles", nullptr},
            {"aliases", aliases},
            {"architecture", image.architecture},
            {"cached", false},
            {"filename", image.filename()},
            {"fingerprint", image.fingerprint},
            {"size", image.size()},
            {"type", "container"},
            {"created_at", created},
            {"last_used_at", api::zero_time},
            {"uploaded_at", created}};
}

} // namespace

nlohmann::json simplestreams_images(const Remote& remote) {
    const auto catalog = simplestreams::fetch_catalog(remote.addr);
    auto out = nlohmann::json::array();
    for (const auto& image : catalog.images()) out.push_back(image_object(catalog, image));
    return out;
}

nlohmann::json simplestreams_image(const Remote& remote, const std::string& name) {
    const auto catalog = simplestreams::fetch_catalog(remote.addr);
    try {
        return image_object(catalog, catalog.resolve(name));
    } catch (const lodge::Error& e) {
        throw Error(std::string(e.what()) + " (" + remote.addr + ")");
    }
}

} // namespace lodge::cli
