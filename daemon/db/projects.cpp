// Projects table access.
#include "daemon/db/projects.hpp"

#include "common/error.hpp"

#include "daemon/db/key_values.hpp"


namespace lodge::daemon::db {

std::optional<std::int64_t> project_id(Database& db, const std::string& name) {
    auto st = db.prepare("SELECT id FROM projects WHERE name = ?");
    st.bind(1, name);
    if (!st.step()) return std::nullopt;
    return st.integer(0);
}

std::string project_name(Database& db, std::int64_t id) {
    auto st = db.prepare("SELECT name FROM projects WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw Error(404, "Project not found");
    return st.text(0);
}

std::vector<std::string> project_names(Database& db) {
    auto st = db.prepare("SELECT name FROM projects ORDER BY name");
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

std::optional<api::Project> get_project(Database& db, const std::string& name) {
    auto st = db.prepare("SELECT id, description FROM projects WHERE name = ?");
    st.bind(1, name);
    if (!st.step()) return std::nullopt;
    api::Project p;
    const auto id = st.integer(0);
    p.name = name;
    p.description = st.text(1);
    p.config = load_key_values(db, "projects_config", "project_id", id);
    // What lives in the project, as LXD lists it: instances, then profiles.
    auto inst = db.prepare("SELECT name FROM instances WHERE project_id = ? ORDER BY name");
    inst.bind(1, id);
    while (inst.step()) p.used_by.push_back("/1.0/instances/" + inst.text(0));
    auto prof = db.prepare("SELECT name FROM profiles WHERE project_id = ? ORDER BY name");
    prof.bind(1, id);
    while (prof.step()) p.used_by.push_back("/1.0/profiles/" + prof.text(0));
    return p;
}

std::int64_t create_project(Database& db, const api::Project& project) {
    db.prepare("INSERT INTO projects (name, description) VALUES (?, ?)")
        .bind_all(project.name, project.description)
        .run();
    const auto id = db.last_insert_id();
    store_key_values(db, "projects_config", "project_id", id, project.config);
    return id;
}

} // namespace lodge::daemon::db
