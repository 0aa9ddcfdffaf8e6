// SQLite connection and statements; errors become lodge::Error (500) naming
// the statement, since a failing query is a bug or a broken disk, not bad input.
#include "daemon/db/database.hpp"

#include "common/error.hpp"

#include <spdlog/spdlog.h>

namespace lodge::daemon::db {

namespace {

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
    throw Error(500, "database: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

} // namespace

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
        fail(db_, "prepare \"" + std::string(sql) + "\"");
}

Statement::~Statement() {
    if (stmt_) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::string_view value) {
    if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) != SQLITE_OK)
        fail(db_, "bind");
    return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
    if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) fail(db_, "bind");
    return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
    if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) fail(db_, "bind");
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, std::string("step \"") + sqlite3_sql(stmt_) + "\"");
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int column) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::optional<std::string> Statement::optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Database::Database(const std::string& path) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw Error(500, "database: open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    if (path != ":memory:") {
        // WAL lets readers (an admin's sqlite3 shell, a backup) run beside
        // lodged's writer; NORMAL sync is durable across crashes of lodged
        // and only loses the last commits on power loss.
        auto st = prepare("PRAGMA journal_mode=WAL");
        if (!st.step() || st.text(0) != "wal") spdlog::warn("database {}: WAL mode not available", path);
        exec("PRAGMA synchronous=NORMAL");
    }
    exec("PRAGMA foreign_keys=ON");
}

Database::~Database() { sqlite3_close(db_); }

void Database::exec(std::string_view sql) {
    char* err = nullptr;
    std::string s(sql);
    if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        throw Error(500, "database: " + msg);
    }
}

void Database::begin() {
    if (in_transaction_) throw Error(500, "database: nested transaction");
    exec("BEGIN IMMEDIATE");
    in_transaction_ = true;
}

void Database::commit() {
    exec("COMMIT");
    in_transaction_ = false;
}

void Database::rollback() noexcept {
    in_transaction_ = false;
    if (sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK)
        spdlog::error("database: rollback failed: {}", sqlite3_errmsg(db_));
}

} // namespace lodge::daemon::db
