// Recording an image the store has taken (see image_record.hpp).
#include "daemon/api/image_record.hpp"

#include "daemon/daemon.hpp"
#include "daemon/db/images.hpp"
#include "daemon/operations.hpp"

#include <spdlog/spdlog.h>

namespace lodge::daemon {

void record_image(Daemon& daemon, api::Image image, StoredImage stored,
                  const std::map<std::string, std::string>& extra, OperationContext& ctx,
                  const std::vector<api::ImageAlias>& aliases) {
    image.fingerprint = stored.fingerprint;
    image.size = stored.size;
    image.architecture = stored.architecture;
    if (image.created_at == api::Time{}) image.created_at = stored.created_at;
    image.expires_at = stored.expires_at;
    image.uploaded_at = api::now();
    image.properties = std::move(stored.properties);
    for (const auto& [k, v] : extra) image.properties[k] = v;
    try {
        daemon.with_db([&](db::Database& db) {
            db.transaction([&] {
                db::create_image(db, image);
                for (auto alias : aliases) {
                    alias.target = image.fingerprint;
                    db::create_alias(db, alias);
                }
            });
        });
    } catch (...) {
        daemon.images().remove(image.fingerprint);
        throw;
    }
    ctx.set_metadata({{"fingerprint", image.fingerprint}, {"size", std::to_string(image.size)}});
    spdlog::info("image {} imported ({} bytes)", image.fingerprint, image.size);
    daemon.events().lifecycle("image-created", "/1.0/images/" + image.fingerprint, {{"type", image.type}});
    for (const auto& alias : aliases)
        daemon.events().lifecycle("image-alias-created", "/1.0/images/aliases/" + alias.name,
                                  {{"target", image.fingerprint}});
}

} // namespace lodge::daemon
