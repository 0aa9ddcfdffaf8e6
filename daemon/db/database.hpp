// A thin RAII wrapper over one SQLite connection: statements with typed
// binds and columns, and transactions that roll back on any exception.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace lodge::daemon::db {

class Statement {
public:
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement& operator=(Statement&&) = delete;

    // Binds are 1-based, as in SQLite.
    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value ? 1 : 0)); }
    Statement& bind(int index, std::nullptr_t);

    template <typename... Args>
    Statement& bind_all(const Args&... args) {
        int i = 0;
        (bind(++i, args), ...);
        return *this;
    }

    // Steps once: true while a row is available, false when done.
    bool step();
    // Steps to the end, for statements without rows.
    void run();
    // Makes the statement ready to run again with new binds.
    void reset();

    std::string text(int column) const; // NULL reads as ""
    std::optional<std::string> optional_text(int column) const;
    std::int64_t integer(int column) const;
    bool is_null(int column) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class Database {
public:
    // Opens (creating) a database file, or ":memory:"; sets WAL (files
    // only), foreign keys and a busy timeout so a second process (the sqlite3
    // shell of an admin) waits instead of failing.
    explicit Database(const std::string& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    void exec(std::string_view sql); // one or more statements, no rows
    Statement prepare(std::string_view sql) { return Statement(db_, sql); }
    std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
    int changes() const { return sqlite3_changes(db_); }

    // Runs f inside BEGIN IMMEDIATE ... COMMIT; any exception rolls back and
    // propagates. Not reentrant: nesting is a bug and throws.
    template <typename F>
    auto transaction(F&& f) -> decltype(f()) {
        begin();
        try {
            if constexpr (std::is_void_v<decltype(f())>) {
                f();
                commit();
            } else {
                auto result = f();
                commit();
                return result;
            }
        } catch (...) {
            rollback();
            throw;
        }
    }

    // lodged serves requests on several threads; every use of the
    // connection holds this lock (one writer at a time is SQLite's model anyway).
    std::mutex& mutex() { return mutex_; }

private:
    void begin();
    void commit();
    void rollback() noexcept;

    sqlite3* db_ = nullptr;
    bool in_transaction_ = false;
    std::mutex mutex_;
};

} // namespace lodge::daemon::db
