// The integration suite's entry: it needs root and the fixtures; it builds
// the fixtures when they are missing (cached under /var/cache/lodge-test).
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (::geteuid() != 0 && !::testing::GTEST_FLAG(list_tests)) {
        std::fprintf(stderr, "the integration tests need root\n");
        return 1;
    }
    // Monitors leave their starter behind by design; as a subreaper this
    // process inherits them and reaps them (harness.cpp), so no test leaves
    // a zombie on hosts whose init does not reap.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    return RUN_ALL_TESTS();
}
