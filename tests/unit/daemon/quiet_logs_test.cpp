// The daemon code logs its progress at info level; in unit tests only
// warnings and errors are worth reading, and the router tests' expected
// failures are silenced where they provoke them.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace {

class QuietLogs : public ::testing::Environment {
public:
    void SetUp() override { spdlog::set_level(spdlog::level::warn); }
};

[[maybe_unused]] auto* const quiet = ::testing::AddGlobalTestEnvironment(new QuietLogs);

} // namespace
