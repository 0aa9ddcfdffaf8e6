// A stand-in lodged for running CLI verbs end to end in unit tests: a unix
// socket at DIR/unix.socket answering "METHOD /path" with canned LXD
// envelopes and recording each request with its body. While it lives,
// LODGE_DIR points at it and LODGE_CONF at an empty config directory, so
// the "local" remote is this server.
#pragma once

#include "tests/unit/temp_dir.hpp"

#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lodge::cli::test {

struct CannedRequest {
    std::string method, path, body;
};

class CannedServer {
public:
    // Answers: "GET /1.0/networks/x" → the metadata of a sync answer, or a
    // whole envelope as {"envelope": {...}}. Requests without an answer
    // get LXD's 404 envelope.
    explicit CannedServer(std::map<std::string, nlohmann::json> answers) : answers_(std::move(answers)) {
        path_ = dir_.path() + "/unix.socket";
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0)
            throw std::runtime_error("canned server: bind/listen failed");
        save_env("LODGE_DIR", dir_.path());
        save_env("LODGE_CONF", dir_.path() + "/conf");
        save_env("LODGE_REMOTE", "");
        thread_ = std::thread([this] { serve(); });
    }
    ~CannedServer() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
        for (const auto& [name, value] : saved_env_) {
            if (value.first) ::setenv(name.c_str(), value.second.c_str(), 1);
            else ::unsetenv(name.c_str());
        }
    }
    CannedServer(const CannedServer&) = delete;
    CannedServer& operator=(const CannedServer&) = delete;

    std::vector<CannedRequest> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    void save_env(const std::string& name, const std::string& value) {
        const char* old = ::getenv(name.c_str());
        saved_env_[name] = {old != nullptr, old ? old : ""};
        if (value.empty()) ::unsetenv(name.c_str());
        else ::setenv(name.c_str(), value.c_str(), 1);
    }

    // One connection after another, each kept alive until the client
    // closes it; the listening socket's shutdown ends the loop.
    void serve() {
        for (;;) {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            std::string buf;
            while (read_request(c, buf)) {
            }
            ::close(c);
        }
    }

    bool read_request(int c, std::string& buf) {
        auto more = [&] {
            char tmp[4096];
            ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
            if (n <= 0) return false;
            buf.append(tmp, static_cast<size_t>(n));
            return true;
        };
        while (buf.find("\r\n\r\n") == std::string::npos)
            if (!more()) return false;
        const auto end = buf.find("\r\n\r\n");
        const std::string head = buf.substr(0, end);
        size_t length = 0;
        for (const char* name : {"Content-Length: ", "content-length: "})
            if (auto at = head.find(name); at != std::string::npos) length = std::stoul(head.substr(at + 16));
        while (buf.size() < end + 4 + length)
            if (!more()) return false;
        CannedRequest r;
        const auto sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
        r.method = head.substr(0, sp1);
        r.path = head.substr(sp1 + 1, sp2 - sp1 - 1);
        r.body = buf.substr(end + 4, length);
        buf.erase(0, end + 4 + length);
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(r);
        }
        const std::string answer = envelope(r.method + " " + r.path);
        ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
        return true;
    }

    std::string envelope(const std::string& key) const {
        nlohmann::json body;
        int status = 200;
        if (auto it = answers_.find(key); it != answers_.end() && it->second.contains("envelope")) {
            body = it->second["envelope"]; // an async answer
            if (body.value("type", "") == "async") status = 202;
        } else if (it != answers_.end()) {
            body = {{"type", "sync"}, {"status", "Success"}, {"status_code", 200}, {"operation", ""},
                    {"error_code", 0},  {"error", ""},         {"metadata", it->second}};
        } else {
            status = 404;
            body = {{"type", "error"}, {"error", "Not Found"}, {"error_code", 404}, {"metadata", nullptr}};
        }
        const auto text = body.dump();
        return "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : status == 202 ? " Accepted" : " Not Found") +
               "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(text.size()) + "\r\n\r\n" +
               text;
    }

    TempDir dir_{"lodge-cli-canned"};
    std::string path_;
    int fd_ = -1;
    std::map<std::string, nlohmann::json> answers_;
    std::map<std::string, std::pair<bool, std::string>> saved_env_;
    std::mutex mutex_;
    std::vector<CannedRequest> requests_;
    std::thread thread_;
};

} // namespace lodge::cli::test
