// LXD-style sizes in storage config ("size", quotas).
#include "storage/size.hpp"

#include "common/error.hpp"

#include <gtest/gtest.h>

using lodge::storage::format_size;
using lodge::storage::parse_size;

TEST(StorageSize, ParsesLxdUnits) {
    EXPECT_EQ(parse_size("0"), 0u);
    EXPECT_EQ(parse_size("1048576"), 1048576u);
    EXPECT_EQ(parse_size("512B"), 512u);
    EXPECT_EQ(parse_size("10GiB"), 10ULL << 30);
    EXPECT_EQ(parse_size("5GB"), 5000000000ULL);
    EXPECT_EQ(parse_size("1.5MiB"), 3ULL << 19);
    EXPECT_EQ(parse_size("2 TiB"), 2ULL << 40);
    EXPECT_EQ(parse_size("100kB"), 100000u);
    EXPECT_EQ(parse_size("18446744073709551615"), UINT64_MAX);
}

TEST(StorageSize, RefusesWhatIsNotASize) {
    for (const char* bad : {"", "GiB", "-1GiB", "10 GiBs", "1e3", "10gib", "1.GiB", "18446744073709551616", "17EiB", "1,5GiB"}) {
        try {
            parse_size(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const lodge::Error& e) {
            EXPECT_EQ(e.status(), 400) << bad;
        }
    }
}

TEST(StorageSize, FormatsInTheLargestExactUnit) {
    EXPECT_EQ(format_size(5ULL << 30), "5GiB");
    EXPECT_EQ(format_size(300ULL << 20), "300MiB");
    EXPECT_EQ(format_size(1000), "1000B");
    EXPECT_EQ(format_size(0), "0B");
}
