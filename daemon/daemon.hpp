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
#include "daemon/instances/schedule.hpp"
#include "daemon/networks/networks.hpp"
#include "daemon/operation_sockets.hpp"
#include "daemon/operations.hpp"
#include "daemon/storage/pools.hpp"

#include <functional>
#include <memory>
#include <thread>
#include <mutex>
#include <set>
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
    // inserts the defaults. Makes the server certificate (server.crt and
    // server.key in the state directory) on first start.
    explicit Daemon(std::string state_dir, std::string database_path = "");

    const std::string& state_dir() const { return state_dir_; }
    std::string socket_path() const { return state_dir_ + "/unix.socket"; }
    std::string certificate_path() const { return state_dir_ + "/server.crt"; }
    std::string key_path() const { return state_dir_ + "/server.key"; }
    // VM disk uploads and imports in progress: emptied at every start (a
    // killed import leaves its converted disk and work files here).
    std::string vm_import_dir() const { return state_dir_ + "/vm-import"; }
    const api::ServerEnvironment& environment() const { return environment_; }
    Router& router() { return router_; }
    Operations& operations() { return operations_; }
    EventHub& events() { return events_; }
    Instances& instances() { return *instances_; }
    ImageStore& images() { return *images_; }
    Pools& pools() { return *pools_; }
    Networks& networks() { return *networks_; }
    OperationSockets& operation_sockets() { return operation_sockets_; }

    // Managed networks brought up (their dnsmasq adopted or started), on a
    // new database the default network made (unless default_network is
    // false), and the running instances' proxies checked; lodged's, not
    // unit tests'.
    void start_networks(bool default_network);
    // lodged's background tasks (scheduled snapshots and their expiry);
    // not started for unit tests' daemons.
    void start_background_tasks();

    // Whether a client certificate's SHA-256 fingerprint is in the trust
    // store (the certificates table).
    bool is_trusted_certificate(const std::string& fingerprint);

    // The HTTPS listener, when there is one (lodged's, not unit tests'):
    // called with core.https_address whenever it is to change, before the
    // change is stored; it throws when the address cannot be used.
    void set_https_listener(std::function<void(const std::string& address)> listener) {
        https_listener_ = std::move(listener);
    }
    void listen_https(const std::string& address) {
        if (https_listener_) https_listener_(address);
    }

    // Runs f(db) holding the database lock; every database use goes through here.
    template <typename F>
    auto with_db(F&& f) {
        std::lock_guard lock(db_->mutex());
        return f(*db_);
    }

private:
    void remove_vm_import_leftovers();
    void record(const api::Operation& op);

    std::string state_dir_;
    std::unique_ptr<db::Database> db_;
    api::ServerEnvironment environment_;
    Router router_;
    std::function<void(const std::string&)> https_listener_;
    EventHub events_;
    std::mutex recorded_mutex_;
    std::set<std::string> recorded_running_; // operations recorded as running
    std::unique_ptr<ImageStore> images_;
    std::unique_ptr<Pools> pools_;
    std::unique_ptr<Instances> instances_;
    std::unique_ptr<Networks> networks_;
    bool new_database_ = false;
    std::unique_ptr<SnapshotScheduler> scheduler_; // after instances_: stopped before they go
    std::jthread autostart_;                       // likewise: joined before instances_ go
    // Last: destroyed first, so running work finishes while the database
    // and the events hub live.
    Operations operations_;
    // After operations_: destroyed before it, so the exec and console
    // channels end (and end their operations) while the registry lives.
    OperationSockets operation_sockets_;
};

} // namespace lodge::daemon
