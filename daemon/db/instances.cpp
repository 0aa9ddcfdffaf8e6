// Instances table access.
#include "daemon/db/instances.hpp"

namespace lodge::daemon::db {

std::vector<std::string> instance_names(Database& db, std::int64_t project_id) {
    auto st = db.prepare("SELECT name FROM instances WHERE project_id = ? ORDER BY name");
    st.bind(1, project_id);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

} // namespace lodge::daemon::db
