// The pure /proc text parsers behind the readers (the fuzz targets in tests/fuzz feed
// them arbitrary bytes; these pin the expected results on hostile-looking text).
#include <gtest/gtest.h>

#include "attach/procfs.h"

namespace jvmwatch::proc {
namespace {

using namespace std::string_literals;
using Strings = std::vector<std::string>;

TEST(ProcfsParse, NulListKeepsEmptyStringsAndAnUnterminatedLast) {
    EXPECT_EQ(parse_nul_list("java\0-jar\0app.jar\0"s), (Strings{"java", "-jar", "app.jar"}));
    EXPECT_EQ(parse_nul_list("\0\0x"s), (Strings{"", "", "x"}));
    EXPECT_EQ(parse_nul_list(""), Strings{});
}

TEST(ProcfsParse, CgroupTakesTheFirstV2Line) {
    EXPECT_EQ(parse_cgroup_v2("12:pids:/docker/a\n0::/system.slice/x.scope\n0::/second\n"),
              "/system.slice/x.scope");
    EXPECT_EQ(parse_cgroup_v2("1:name=systemd:/0::/not-v2\n"), "");
    EXPECT_EQ(parse_cgroup_v2("0::/no/newline"), "/no/newline");
}

TEST(ProcfsParse, MapsPathsAreDistinctMatchingAndCutOfDeleted) {
    std::string maps =
        "7f00-7f01 r-xp 00000000 08:01 11 /opt/jdk/lib/server/libjvm.so\n"
        "7f01-7f02 r--p 00001000 08:01 11 /opt/jdk/lib/server/libjvm.so\n"
        "7f02-7f03 r-xp 00000000 08:01 12 /tmp/a b/libjvm.so (deleted)\n"
        "7f03-7f04 rw-p 00000000 00:00 0 [heap]\n"
        "7f04-7f05 r-xp 00000000 08:01 13 /usr/lib/libjvm.so.bak\n";
    auto jvm = [](std::string_view base) { return base == "libjvm.so"; };
    EXPECT_EQ(parse_maps_paths(maps, jvm), (Strings{"/opt/jdk/lib/server/libjvm.so", "/tmp/a b/libjvm.so"}));
    EXPECT_EQ(parse_maps_paths("", jvm), Strings{});
}

}  // namespace
}  // namespace jvmwatch::proc
