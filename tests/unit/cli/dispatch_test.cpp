// The command line: verbs, groups, aliases, flags, and the errors people
// see when they mistype one ("did you mean …").
#include "cli/dispatch.hpp"
#include "cli/error.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace lodge::cli {
namespace {

Parsed parse(std::vector<std::string> argv) { return parse_command_line(command_table(), argv); }

std::string parse_error(std::vector<std::string> argv) {
    try {
        parse(argv);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(CliEditDistance, CountsTranspositionAsOneEdit) {
    EXPECT_EQ(edit_distance("lsit", "list"), 1u);
    EXPECT_EQ(edit_distance("list", "list"), 0u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(edit_distance("storge", "storage"), 1u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(CliSuggest, PicksTheClosestCloseEnoughCandidate) {
    std::vector<std::string> verbs{"config", "info", "list", "profile", "remote", "storage", "version"};
    EXPECT_EQ(suggest("lsit", verbs), "list");
    EXPECT_EQ(suggest("remot", verbs), "remote");
    EXPECT_EQ(suggest("prof", verbs), "profile"); // a prefix is close
    EXPECT_EQ(suggest("xyzzy", verbs), "");
    EXPECT_EQ(suggest("q", verbs), ""); // one letter suggests nothing
}

TEST(CliParse, ResolvesVerbsGroupsAndAliases) {
    EXPECT_EQ(parse({"list"}).command->path, "list");
    EXPECT_EQ(parse({"ls"}).command->path, "list");
    EXPECT_EQ(parse({"remote", "ls"}).command->path, "remote list");
    EXPECT_EQ(parse({"remote", "mv", "a", "b"}).command->path, "remote rename");
    EXPECT_EQ(parse({"remote", "set-default", "a"}).command->path, "remote switch");
    EXPECT_EQ(parse({"profile", "show", "default"}).args.positional, std::vector<std::string>{"default"});
}

TEST(CliParse, ReadsFlagsInEverySpellingAndPlace) {
    auto p = parse({"list", "-c", "ns", "--format=csv", "web"});
    EXPECT_EQ(p.args.value("columns"), "ns");
    EXPECT_EQ(p.args.value("format"), "csv");
    EXPECT_EQ(p.args.positional, std::vector<std::string>{"web"});
    p = parse({"list", "-cn4", "-f", "json"});
    EXPECT_EQ(p.args.value("columns"), "n4");
    EXPECT_EQ(p.args.value("format"), "json");
    p = parse({"list"});
    EXPECT_EQ(p.args.value("format"), "table"); // defaults filled in
    EXPECT_FALSE(p.args.has("format"));
    p = parse({"list", "--", "-odd-name"});
    EXPECT_EQ(p.args.positional, std::vector<std::string>{"-odd-name"});
}

TEST(CliParse, MistypedVerbsAndFlagsGetHints) {
    EXPECT_EQ(parse_error({"lsit"}), "unknown command 'lsit'; did you mean 'list'?");
    EXPECT_EQ(parse_error({"remote", "lsit"}), "unknown command 'remote lsit'; did you mean 'remote list'?");
    EXPECT_EQ(parse_error({"storage", "shwo", "x"}), "unknown command 'storage shwo'; did you mean 'storage show'?");
    EXPECT_EQ(parse_error({"list", "--formt", "csv"}), "unknown flag '--formt' for 'lodge list'; did you mean '--format'?");
    EXPECT_EQ(parse_error({"frobnicate"}), "unknown command 'frobnicate' (see 'lodge --help')");
    EXPECT_EQ(parse_error({"list", "--format"}), "flag '--format' needs a value");
    EXPECT_NE(parse_error({"remote", "rename", "a"}).find("takes 2, got 1"), std::string::npos);
    EXPECT_NE(parse_error({"remote", "get-default", "extra"}).find("Invalid number of arguments"), std::string::npos);
}

TEST(CliParse, HelpAnywhereAndBareGroups) {
    EXPECT_TRUE(parse({}).help);
    EXPECT_TRUE(parse({"--help"}).help);
    auto p = parse({"remote"});
    EXPECT_TRUE(p.help);
    EXPECT_EQ(p.group, "remote");
    p = parse({"list", "--help"});
    EXPECT_TRUE(p.help);
    EXPECT_EQ(p.command->path, "list");
    EXPECT_EQ(parse({"--version"}).command->path, "version");
}

TEST(CliRun, PrintsErrorsOnStderrWithStatusOne) {
    std::ostringstream out, err;
    EXPECT_EQ(run_cli({"lsit"}, out, err), 1);
    EXPECT_EQ(err.str(), "Error: unknown command 'lsit'; did you mean 'list'?\n");
    EXPECT_EQ(out.str(), "");
}

TEST(CliRun, HelpListsEveryVerbOfTheSlice) {
    std::ostringstream out, err;
    EXPECT_EQ(run_cli({"--help"}, out, err), 0);
    for (const char* verb : {"list", "info", "config", "profile", "remote", "storage", "version"})
        EXPECT_NE(out.str().find(std::string("  ") + verb + " "), std::string::npos) << verb;
    std::ostringstream out2;
    EXPECT_EQ(run_cli({"remote", "rename", "--help"}, out2, err), 0);
    EXPECT_NE(out2.str().find("Usage: lodge remote rename <remote> <new-name>"), std::string::npos);
}

} // namespace
} // namespace lodge::cli

namespace lodge::cli {
namespace {

TEST(CliNestedGroups, ImageAliasVerbsParseWithTheirAliases) {
    auto p = parse({"image", "alias", "ls", "--format", "csv"});
    ASSERT_NE(p.command, nullptr);
    EXPECT_EQ(p.command->path, "image alias list");
    EXPECT_EQ(p.args.value("format"), "csv");
    EXPECT_EQ(parse({"image", "rm", "a", "b"}).command->path, "image delete");
    auto help = parse({"image", "alias"});
    EXPECT_TRUE(help.help);
    EXPECT_EQ(help.group, "image alias");
    EXPECT_NE(usage_text(command_table(), "image").find("  alias         Manage image aliases\n"), std::string::npos);
    EXPECT_NE(parse_error({"image", "alias", "lsit"}).find("list"), std::string::npos);
}

TEST(CliRepeatableFlag, KeepsEveryValue) {
    auto p = parse({"image", "import", "f.tar.gz", "--alias", "a", "--alias=b"});
    EXPECT_EQ(p.args.value("alias"), "a\nb");
    EXPECT_EQ(parse({"image", "import", "f.tar.gz"}).args.value("alias"), "");
}

} // namespace
} // namespace lodge::cli
