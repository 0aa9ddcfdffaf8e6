// Operations history table access.
#include "daemon/db/operations.hpp"

namespace lodge::daemon::db {

namespace {

api::Operation load(Statement& st) {
    api::Operation op;
    op.id = st.text(0);
    op.description = st.text(1);
    op.operation_class = st.text(2);
    op.status_code = static_cast<api::StatusCode>(st.integer(3));
    op.err = st.text(4);
    auto resources = nlohmann::json::parse(st.text(5), nullptr, false);
    if (resources.is_object() && !resources.empty())
        op.resources = resources.get<std::map<std::string, std::vector<std::string>>>();
    api::parse_time(st.text(6), op.created_at);
    api::parse_time(st.text(7), op.updated_at);
    return op;
}

constexpr std::string_view select_operations =
    "SELECT uuid, description, class, status, err, resources, created_at, updated_at FROM operations";

} // namespace

void record_operation(Database& db, const api::Operation& op) {
    db.prepare("INSERT INTO operations (uuid, description, class, status, err, resources, created_at, updated_at)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO UPDATE SET status = excluded.status,"
               " err = excluded.err, updated_at = excluded.updated_at")
        .bind_all(op.id, op.description, op.operation_class, static_cast<int>(op.status_code), op.err,
                  op.resources ? nlohmann::json(*op.resources).dump() : std::string("{}"),
                  api::format_time(op.created_at), api::format_time(op.updated_at))
        .run();
}

std::vector<std::string> fail_interrupted_operations(Database& db) {
    std::vector<std::string> ids;
    db.transaction([&] {
        auto st = db.prepare("SELECT uuid FROM operations WHERE status = ?");
        st.bind(1, static_cast<int>(api::StatusCode::Running));
        while (st.step()) ids.push_back(st.text(0));
        db.prepare("UPDATE operations SET status = ?, err = ?, updated_at = ? WHERE status = ?")
            .bind_all(static_cast<int>(api::StatusCode::Failure), std::string(interrupted_error),
                      api::format_time(api::now()), static_cast<int>(api::StatusCode::Running))
            .run();
        db.prepare("DELETE FROM operations WHERE created_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')").run();
    });
    return ids;
}

std::optional<api::Operation> recorded_operation(Database& db, const std::string& id) {
    auto st = db.prepare(std::string(select_operations) + " WHERE uuid = ?");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return load(st);
}

std::vector<api::Operation> interrupted_operations(Database& db) {
    auto st = db.prepare(std::string(select_operations) + " WHERE err = ?");
    st.bind(1, std::string(interrupted_error));
    std::vector<api::Operation> out;
    while (st.step()) out.push_back(load(st));
    return out;
}

} // namespace lodge::daemon::db
