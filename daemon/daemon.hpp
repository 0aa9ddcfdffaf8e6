// lodged's state: the state directory, the database, the host environment
// and the routes. The HTTP listener is separate (http/server.hpp) so this
// can be driven directly by unit tests.
#pragma once

#include "api/server.hpp"
#include "daemon/db/database.hpp"
#include "daemon/events.hpp"
#include "daemon/http/router.hpp"
#include "daemon/images/store.hpp"
#include "daemon/instances/instances.hpp"
#include "daemon/operation_sockets.hpp"
#include "daemon/operations.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace lodge::daemon {

// --state-dir, else $LODGE_DIR, else /var/lib/lodge.
std::string default_state_dir(const char* flag_value);

class Daemon {
public:
    // Creates the state directory layout, opens (or creates) the database
    // at state_dir/database/lodge.db — or `database_path` when given, e.g.
    // ":memory:" in tests — runs the migrations and, on a new database,
    // inserts the defaults.
    explicit Daemon(std::string state_dir, std::string database_path = "");

    const std::string& state_dir() const { return state_dir_; }
    std::string socket_path() const { return state_dir_ + "/unix.socket"; }
    const api::ServerEnvironment& environment() const { return environment_; }
    Router& router() { return router_; }
    Operations& operations() { return operations_; }
    EventHub& events() { return events_; }
    Instances& instances() { return *instances_; }
    ImageStore& images() { return *images_; }
    OperationSockets& operation_sockets() { return operation_sockets_; }

    // Runs f(db) holding the database lock; every database use goes through here.
    template <typename F>
    auto with_db(F&& f) {
        std::lock_guard lock(db_->mutex());
        return f(*db_);
    }

private:
    std::string state_dir_;
    std::unique_ptr<db::Database> db_;
    api::ServerEnvironment environment_;
    Router router_;
    EventHub events_;
    std::unique_ptr<ImageStore> images_;
    std::unique_ptr<Instances> instances_;
    // Last: destroyed first, so running work finishes while the database
    // and the events hub live.
    Operations operations_;
    // After operations_: destroyed before it, so the exec and console
    // channels end (and end their operations) while the registry lives.
    OperationSockets operation_sockets_;
};

} // namespace lodge::daemon
