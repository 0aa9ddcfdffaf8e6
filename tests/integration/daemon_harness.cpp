// Daemon integration helpers: temp dirs, the lodged process, and an HTTP
// client small enough to trust (no keep-alive, no chunking: lodged always
// sends Content-Length).
#include "tests/integration/daemon_harness.hpp"

#include "common/file.hpp"

#include "tests/integration/harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace lodge::test {

TempDir::TempDir(const std::string& prefix) {
    std::string tmpl = "/var/tmp/" + prefix + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
    path_ = tmpl;
}

TempDir::~TempDir() {
    // Pools lodged mounted under the state directory (btrfs on a loop file)
    // go first, deepest first; a detached loop pool frees its loop device
    // once nothing uses it.
    std::vector<std::string> mounts;
    std::ifstream mountinfo("/proc/self/mountinfo");
    for (std::string line; std::getline(mountinfo, line);) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, target;
        fields >> id >> parent >> dev >> root >> target;
        if (target == path_ || target.rfind(path_ + "/", 0) == 0) mounts.push_back(target);
    }
    std::sort(mounts.begin(), mounts.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& m : mounts) ::umount2(m.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(path_, ec);
}

namespace {

int connect_unix(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        ::close(fd);
        throw std::runtime_error("connect " + path + ": " + std::strerror(err));
    }
    // A hung daemon fails the test instead of hanging it.
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

HttpReply parse_reply(const std::string& raw) {
    auto head_end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos)
        throw std::runtime_error("not an HTTP response: " + raw.substr(0, 200));
    HttpReply reply;
    reply.status = std::stoi(raw.substr(9, 3));
    std::istringstream head(raw.substr(0, head_end));
    std::string line;
    std::getline(head, line); // status line
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        reply.headers[name] = value;
    }
    reply.body = raw.substr(head_end + 4);
    if (reply.body.empty()) return reply; // the head alone (keep-alive reads)
    if (auto it = reply.headers.find("content-length"); it != reply.headers.end()) {
        auto length = std::stoul(it->second);
        if (reply.body.size() != length)
            throw std::runtime_error("body of " + std::to_string(reply.body.size()) + " bytes, Content-Length " +
                                     it->second);
    }
    return reply;
}

std::string format_request(const std::string& method, const std::string& target, const std::string& body,
                           bool keep_alive) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: unix.socket\r\nUser-Agent: lodge-tests\r\n";
    if (!keep_alive) req += "Connection: close\r\n";
    if (!body.empty() || method == "PUT" || method == "PATCH" || method == "POST")
        req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    return req + "\r\n" + body;
}

void send_all(int fd, const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
        ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break; // the server may answer early (413) and close
        sent += static_cast<size_t>(n);
    }
}

} // namespace

HttpConnection::HttpConnection(const std::string& socket_path) : fd_(connect_unix(socket_path)) {}

HttpConnection::~HttpConnection() { ::close(fd_); }

HttpReply HttpConnection::request(const std::string& method, const std::string& target, const std::string& body) {
    send_all(fd_, format_request(method, target, body, true));
    // Read the head, then exactly Content-Length bytes of body.
    char buf[65536];
    size_t head_end;
    while ((head_end = pending_.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) throw std::runtime_error("connection closed before a response");
        pending_.append(buf, static_cast<size_t>(n));
    }
    auto head = parse_reply(pending_.substr(0, head_end + 4));
    size_t length = std::stoul(head.headers.at("content-length"));
    while (pending_.size() < head_end + 4 + length) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) throw std::runtime_error("connection closed inside a response");
        pending_.append(buf, static_cast<size_t>(n));
    }
    auto reply = parse_reply(pending_.substr(0, head_end + 4 + length));
    pending_.erase(0, head_end + 4 + length);
    return reply;
}

bool HttpConnection::closed_by_server(double timeout_s) {
    timeval tv{static_cast<time_t>(timeout_s), static_cast<suseconds_t>((timeout_s - static_cast<long>(timeout_s)) * 1e6)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
}

HttpReply unix_http(const std::string& socket_path, const std::string& method, const std::string& target,
                    const std::string& body) {
    int fd = connect_unix(socket_path);
    send_all(fd, format_request(method, target, body, false));
    std::string raw;
    char buf[65536];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return parse_reply(raw);
}

Lodged::Lodged(std::string state_dir, std::vector<std::string> extra_args, std::vector<std::string> launcher)
    : state_dir_(std::move(state_dir)) {
    // The log sits beside the state directory so it outlives a removed state.
    log_path_ = state_dir_ + ".lodged.log";
    std::vector<std::string> argv = std::move(launcher);
    for (auto a : {bin("lodged"), std::string("--state-dir"), state_dir_}) argv.push_back(a);
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    // A lodged in the host's own network namespace must not make its
    // default bridge there; the network tests start theirs inside a test
    // namespace (nsenter --net=…), where it may.
    const bool own_netns = std::any_of(argv.begin(), argv.end(), [](const std::string& a) { return a.rfind("--net=", 0) == 0; });
    if (!own_netns) argv.push_back("--no-default-network");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (pid_ == 0) {
        int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(log, 2);
        ::setsid(); // a Ctrl-C on the test run reaches lodged only through the test's cleanup
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            throw std::runtime_error("lodged exited with " + std::to_string(exit_status_) + " before serving:\n" +
                                     log());
        }
        try {
            if (unix_http(socket(), "GET", "/").status == 200) return;
        } catch (const std::runtime_error&) {
            // not listening yet
        }
        if (std::chrono::steady_clock::now() > deadline) {
            stop(SIGKILL);
            throw std::runtime_error("lodged did not answer on " + socket() + " within 10 s:\n" + log());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

Lodged::~Lodged() {
    stop();
    std::error_code ec;
    fs::remove(log_path_, ec);
}

int Lodged::stop(int sig, double grace_s) {
    if (exit_status_ >= 0 || pid_ <= 0) return exit_status_;
    ::kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
    int status = 0;
    for (;;) {
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) break;
        if (r < 0) { // reaped elsewhere (a subreaper's sweep): the exit code is lost
            status = 0xff00;
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_status_;
}

std::string Lodged::log() const { return read_file_if_exists(log_path_); }

Background::Background(const std::vector<std::string>& argv) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_ = spawn(argv, null, pipefd[1], pipefd[1]);
    ::close(null);
    ::close(pipefd[1]);
    fd_ = pipefd[0];
}

Background::~Background() {
    if (status_ < 0 && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
}

void Background::signal(int sig) {
    if (status_ < 0 && pid_ > 0) ::kill(pid_, sig);
}

void Background::drain(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (fd_ < 0 || ::poll(&p, 1, timeout_ms) <= 0) return;
    char buf[4096];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
        output_.append(buf, static_cast<size_t>(n));
    } else {
        ::close(fd_);
        fd_ = -1;
    }
}

bool Background::wait_for_output(const std::string& needle, double timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (output_.find(needle) == std::string::npos) {
        if (std::chrono::steady_clock::now() > deadline || fd_ < 0) return output_.find(needle) != std::string::npos;
        drain(20);
    }
    return true;
}

int Background::wait_exit(double timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (status_ < 0) {
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) return -1;
        drain(20);
    }
    while (fd_ >= 0) drain(100); // the rest of its output
    return status_;
}

void stop_all_containers(const std::string& state_dir) {
    std::error_code ec;
    for (const auto& c : fs::directory_iterator(state_dir + "/run", ec))
        run({bin("lodge-runtime"), "--run-dir", state_dir + "/run", "stop", c.path().filename().string(), "--force"});
}

std::size_t Lodged::event_subscriptions() const {
    const auto text = log();
    std::size_t n = 0;
    for (auto at = text.find(" subscribed\n"); at != std::string::npos; at = text.find(" subscribed\n", at + 1))
        if (text.rfind("events: listener ", at) != std::string::npos) ++n;
    return n;
}

std::string lxc_binary() {
    for (const char* p : {"/usr/bin/lxc", "/usr/local/bin/lxc"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

namespace {

// A fixture packed as an LXD image once per process (scripts/pack-image).
std::string fixture_image_tarball(const std::string& fixture_name, const std::string& description) {
    static std::mutex mutex;
    static std::map<std::string, std::pair<std::unique_ptr<TempDir>, std::string>> packed;
    std::lock_guard lock(mutex);
    if (auto it = packed.find(fixture_name); it != packed.end()) return it->second.second;
    auto tmp = std::make_unique<TempDir>("lodge-" + fixture_name + "-image");
    const auto out = tmp->path() + "/" + fixture_name + ".tar.gz";
    auto r = run({std::string(LODGE_SOURCE_DIR) + "/scripts/pack-image", fixture(fixture_name), out, "debian", "12",
                  description},
                 "", 300);
    if (r.status != 0) throw std::runtime_error("building the " + fixture_name + " image failed: " + r.err);
    packed[fixture_name] = {std::move(tmp), out};
    return out;
}

} // namespace

std::string debian_image_tarball() { return fixture_image_tarball("debian", "Debian 12 test image"); }

std::string debian_net_image_tarball() {
    return fixture_image_tarball("debian-net", "Debian 12 test image with networkd");
}

} // namespace lodge::test

namespace lodge::test {

std::string sorted_properties(const std::string& info) {
    auto start = info.find("Properties:\n");
    auto end = info.find("Aliases:\n");
    if (start == std::string::npos || end == std::string::npos || end < start) return info;
    start += 12;
    std::vector<std::string> lines;
    std::istringstream in(info.substr(start, end - start));
    for (std::string line; std::getline(in, line);) lines.push_back(line + "\n");
    std::sort(lines.begin(), lines.end());
    std::string block;
    for (const auto& l : lines) block += l;
    return info.substr(0, start) + block + info.substr(end);
}

std::string busybox_image_tarball() {
    static std::mutex mutex;
    static std::unique_ptr<TempDir> dir; // destroyed at exit, taking the image along
    static std::string path;
    std::lock_guard lock(mutex);
    if (!path.empty()) return path;
    auto tmp = std::make_unique<TempDir>("lodge-busybox-image");
    const auto meta = tmp->path() + "/meta";
    fs::create_directories(meta + "/templates");
    std::ofstream(meta + "/metadata.yaml") << "architecture: x86_64\n"
                                              "creation_date: 1764000000\n"
                                              "properties:\n"
                                              "  description: BusyBox test image\n"
                                              "  os: busybox\n"
                                              "  release: \"1.36\"\n"
                                              "templates: {}\n";
    const auto rootfs = fixture("busybox");
    const auto out = tmp->path() + "/busybox.tar.gz";
    // rootfs/ is the fixture directory renamed on the way into the tarball.
    auto r = run({"tar", "--numeric-owner", "--xattrs", "-czf", out, "-C", meta, "metadata.yaml", "templates", "-C",
                  fs::path(rootfs).parent_path().string(), "--transform",
                  "s,^" + fs::path(rootfs).filename().string() + ",rootfs,S", fs::path(rootfs).filename().string()});
    if (r.status != 0) throw std::runtime_error("building the busybox image failed: " + r.err);
    dir = std::move(tmp);
    path = out;
    return path;
}

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

} // namespace lodge::test
