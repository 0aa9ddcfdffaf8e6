// Table output against what `lxc` (tablewriter) prints, byte for byte:
// the expected texts were recorded from Debian's lxc 5.0.2.
#include "cli/table.hpp"

#include <gtest/gtest.h>

namespace lodge::cli {
namespace {

const Row remote_headers{"NAME", "URL", "PROTOCOL", "AUTH TYPE", "PUBLIC", "STATIC", "GLOBAL"};
const std::vector<Row> remote_rows{
    {"local (current)", "unix://", "lxd", "file access", "NO", "YES", "NO"},
    {"prod", "https://127.0.0.1:8443", "lxd", "tls", "NO", "NO", "NO"},
};

TEST(CliTable, BoxedMatchesLxc) {
    // `lxc remote list` with the same two remotes.
    EXPECT_EQ(render_boxed(remote_headers, remote_rows),
              "+-----------------+------------------------+----------+-------------+--------+--------+--------+\n"
              "|      NAME       |          URL           | PROTOCOL |  AUTH TYPE  | PUBLIC | STATIC | GLOBAL |\n"
              "+-----------------+------------------------+----------+-------------+--------+--------+--------+\n"
              "| local (current) | unix://                | lxd      | file access | NO     | YES    | NO     |\n"
              "+-----------------+------------------------+----------+-------------+--------+--------+--------+\n"
              "| prod            | https://127.0.0.1:8443 | lxd      | tls         | NO     | NO     | NO     |\n"
              "+-----------------+------------------------+----------+-------------+--------+--------+--------+\n");
}

TEST(CliTable, CompactMatchesLxc) {
    EXPECT_EQ(render_compact(remote_headers, remote_rows),
              "       NAME                 URL            PROTOCOL   AUTH TYPE   PUBLIC  STATIC  GLOBAL  \n"
              "  local (current)  unix://                 lxd       file access  NO      YES     NO      \n"
              "  prod             https://127.0.0.1:8443  lxd       tls          NO      NO      NO      \n");
}

TEST(CliTable, EmptyTableIsTheHeaderAlone) {
    // `lxc list` on a server without instances.
    EXPECT_EQ(render_boxed({"NAME", "STATE", "IPV4", "IPV6", "TYPE", "SNAPSHOTS"}, {}),
              "+------+-------+------+------+------+-----------+\n"
              "| NAME | STATE | IPV4 | IPV6 | TYPE | SNAPSHOTS |\n"
              "+------+-------+------+------+------+-----------+\n");
    EXPECT_EQ(render_compact({"NAME", "STATE"}, {}), "  NAME  STATE  \n");
    EXPECT_EQ(render_csv({}), "");
}

TEST(CliTable, MultiLineCellsMakeTallRows) {
    EXPECT_EQ(render_boxed({"NAME", "IPV4"}, {{"web", "10.0.0.9 (eth1)\n10.0.0.5 (eth0)"}, {"db", ""}}),
              "+------+-----------------+\n"
              "| NAME |      IPV4       |\n"
              "+------+-----------------+\n"
              "| web  | 10.0.0.9 (eth1) |\n"
              "|      | 10.0.0.5 (eth0) |\n"
              "+------+-----------------+\n"
              "| db   |                 |\n"
              "+------+-----------------+\n");
}

TEST(CliTable, CsvQuotesLikeGo) {
    EXPECT_EQ(render_csv({{"a", "b,c", "say \"hi\"", "two\nlines", " lead", ""}}),
              "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",\" lead\",\n");
}

TEST(CliTable, HeadersAreTitledAsTablewriterDoes) {
    // -c user.role gives the header "USER ROLE" in lxc.
    auto out = render_compact({"user.role", "limits_cpu"}, {});
    EXPECT_EQ(out, "  USER ROLE  LIMITS CPU  \n");
}

TEST(CliTable, SortsNamesNaturally) {
    std::vector<Row> rows{{"c10"}, {"c2"}, {"b"}, {""}, {"c02"}, {"a1"}};
    sort_by_name(rows);
    std::vector<std::string> names;
    for (const auto& r : rows) names.push_back(r[0]);
    EXPECT_EQ(names, (std::vector<std::string>{"a1", "b", "c2", "c02", "c10", ""}));
}

TEST(CliTable, FormatsAreChecked) {
    EXPECT_EQ(check_format("csv"), "");
    EXPECT_NE(check_format("xml"), "");
    EXPECT_EQ(render_table("json", {"NAME"}, {}, nlohmann::json::array()), "[]\n");
    EXPECT_EQ(render_table("yaml", {"NAME"}, {}, nlohmann::json::array()), "[]\n");
}

} // namespace
} // namespace lodge::cli
