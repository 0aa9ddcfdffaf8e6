// What the daemon's integration tests share: a temporary state directory,
// a lodged process that is stopped however a test ends, and a minimal
// HTTP/1.1 client over a unix socket.
#pragma once

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <csignal>

#include <map>
#include <string>
#include <vector>

namespace lodge::test {

// A directory under /var/tmp, removed with everything in it on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "lodge-daemon");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

struct HttpReply {
    int status = 0;
    std::map<std::string, std::string> headers; // names lower-cased
    std::string body;
    nlohmann::json json() const { return nlohmann::json::parse(body); }
};

// One request on a fresh connection (Connection: close); throws
// std::runtime_error when the socket cannot be reached or the answer is not HTTP.
HttpReply unix_http(const std::string& socket_path, const std::string& method, const std::string& target,
                    const std::string& body = "");

// A kept-open connection (HTTP/1.1 keep-alive), as LXD's clients use.
class HttpConnection {
public:
    explicit HttpConnection(const std::string& socket_path);
    ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    HttpReply request(const std::string& method, const std::string& target, const std::string& body = "");
    // True when the server has closed the connection (reads EOF within timeout_s).
    bool closed_by_server(double timeout_s);

private:
    int fd_ = -1;
    std::string pending_; // bytes read past the last response
};

// The build's lodged on a state directory. The constructor returns once the
// socket answers (or throws with the daemon's log); the destructor stops it
// by PID: SIGTERM, then SIGKILL after a grace period.
class Lodged {
public:
    // launcher: a command lodged runs under, e.g. systemd-socket-activate.
    explicit Lodged(std::string state_dir, std::vector<std::string> extra_args = {"--debug"},
                    std::vector<std::string> launcher = {});
    ~Lodged();
    Lodged(const Lodged&) = delete;
    Lodged& operator=(const Lodged&) = delete;

    // Sends sig and waits for the exit; returns the exit code (128+signal
    // when killed). Idempotent: later calls return the first result.
    int stop(int sig = SIGTERM, double grace_s = 10);

    pid_t pid() const { return pid_; }
    const std::string& state_dir() const { return state_dir_; }
    std::string socket() const { return state_dir_ + "/unix.socket"; }
    std::string log() const; // its stderr so far
    // How many /1.0/events listeners have subscribed so far (from the
    // debug log): a test starting a monitor waits for this to grow.
    std::size_t event_subscriptions() const;

    HttpReply request(const std::string& method, const std::string& target, const std::string& body = "") const {
        return unix_http(socket(), method, target, body);
    }

private:
    std::string state_dir_;
    std::string log_path_;
    pid_t pid_ = -1;
    int exit_status_ = -1;
};

// A command running in the background (e.g. `lxc monitor`) whose output
// is read while it runs; killed by PID on destruction.
class Background {
public:
    explicit Background(const std::vector<std::string>& argv);
    ~Background();
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;

    // Collects what it has written (stdout and stderr) until `needle`
    // appears or timeout_s passes; returns whether it appeared.
    bool wait_for_output(const std::string& needle, double timeout_s);
    // Waits for the exit; the exit code, or -1 when it still runs after timeout_s.
    int wait_exit(double timeout_s);
    const std::string& output() const { return output_; }
    // Sends sig to the command (by its PID, while it runs).
    void signal(int sig);

private:
    void drain(int timeout_ms);
    pid_t pid_ = -1;
    int fd_ = -1;
    int status_ = -1;
    std::string output_;
};

// A loopback TCP port nothing listens on right now (for HTTPS listeners).
int free_loopback_port();

// Force-stops every container lodged on state_dir has in its run
// directory: what a test that failed halfway leaves running.
void stop_all_containers(const std::string& state_dir);

// The path of LXD's `lxc` client (Debian's lxd-client), or "" when it is
// not installed.
std::string lxc_binary();

// A unified LXD image (gzip tar: metadata.yaml with architecture x86_64,
// creation_date and properties, templates/, rootfs/ = the busybox fixture,
// ownership and modes as cached) for `lxc image import` and POST
// /1.0/images. Built once per process in a temporary directory that goes
// away at exit; throws std::runtime_error when tar fails.
std::string busybox_image_tarball();

// `lxc image info` walks the properties map in Go's random order; lodge
// sorts them. Sorting the block makes the two comparable.
std::string sorted_properties(const std::string& info);
// The same for the debian fixture (scripts/pack-image), once per process.
std::string debian_image_tarball();
// The debian-net fixture (networkd, resolved, udev) likewise.
std::string debian_net_image_tarball();

} // namespace lodge::test
