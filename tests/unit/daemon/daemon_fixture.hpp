// A Daemon on a throwaway state directory and an in-memory database, driven
// through its router without a socket: what the endpoint tests share.
#pragma once

#include "daemon/daemon.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace lodge::test {

class DaemonFixture : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/lodge-unit-daemon-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        daemon_ = std::make_unique<daemon::Daemon>(dir_, ":memory:");
    }
    void TearDown() override {
        daemon_.reset();
        std::filesystem::remove_all(dir_);
    }

    daemon::HttpResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                              std::map<std::string, std::string> query = {}, bool trusted = true) {
        daemon::Request r;
        r.method = method;
        r.path = path;
        r.body = body;
        r.query = std::move(query);
        r.trusted = trusted;
        return daemon_->router().dispatch(r);
    }

    std::string dir_;
    std::unique_ptr<daemon::Daemon> daemon_;
};

} // namespace lodge::test
