// /proc parsing against the fixture tree tests/fixtures/proc.
#include <gtest/gtest.h>

#include "attach/procfs.h"
#include "tests/common/support.h"

namespace jvmwatch::proc {
namespace {

std::string fixture() { return test::source_dir() + "/tests/fixtures/proc"; }

TEST(ProcfsStatus, ParsesIdsNamespacesAndSignals) {
    auto st = read_status(fixture(), 4242);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->name, "java");
    EXPECT_EQ(st->state, 'S');
    EXPECT_EQ(st->tgid, 4242);
    EXPECT_EQ(st->ppid, 4200);
    EXPECT_EQ(st->nstgid, (std::vector<pid_t>{4242, 7}));
    EXPECT_EQ(st->nspid(), 7);
    EXPECT_EQ(st->ruid, 1000u);
    EXPECT_EQ(st->euid, 1001u);
    EXPECT_EQ(st->rgid, 2000u);
    EXPECT_EQ(st->egid, 2001u);
    EXPECT_EQ(st->sig_ign, 0u);
    EXPECT_EQ(st->sig_cgt, 0x2000000181005ccfULL);
    EXPECT_TRUE(st->sig_cgt & (1ULL << (3 - 1))) << "SIGQUIT caught";
}

TEST(ProcfsStatus, WithoutNStgidFallsBackToTgid) {
    auto st = parse_status("Name:\tx\nState:\tZ (zombie)\nTgid:\t55\nSigIgn:\t0000000000000004\n");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->state, 'Z');
    EXPECT_EQ(st->nspid(), 55);
    EXPECT_EQ(st->sig_ign, 4u);
}

TEST(ProcfsStatus, RejectsTextWithoutTgid) {
    EXPECT_FALSE(parse_status("Name:\tx\n"));
    EXPECT_FALSE(read_status(fixture(), 99999));
}

TEST(ProcfsStat, CommWithSpacesAndParens) {
    auto st = read_stat(fixture(), 4242);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->state, 'S');
    EXPECT_EQ(st->ppid, 4200);
    EXPECT_EQ(st->start_time_ticks, 123456u);
    auto odd = parse_stat("9 (a) R 1 (b)) Z 3 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0\n");
    ASSERT_TRUE(odd);
    EXPECT_EQ(odd->state, 'Z');
    EXPECT_EQ(odd->ppid, 3);
    EXPECT_EQ(odd->start_time_ticks, 4242u);
    EXPECT_FALSE(parse_stat("9 (truncated"));
    EXPECT_FALSE(parse_stat("9 (x) S 1 2 3"));
}

TEST(ProcfsFiles, CmdlineEnvironExeCgroupNs) {
    auto cmd = read_cmdline(fixture(), 4242);
    ASSERT_GE(cmd.size(), 7u);
    EXPECT_EQ(cmd[0], "java");
    EXPECT_EQ(cmd[6], "com.example.Main");
    auto env = read_environ(fixture(), 4242);
    ASSERT_EQ(env.size(), 3u);
    EXPECT_EQ(env[2], "HOME=/home/app");
    EXPECT_EQ(read_exe(fixture(), 4242), "/opt/jdk/bin/java");
    EXPECT_EQ(read_exe(fixture(), 99999), "");
    EXPECT_EQ(read_cgroup(fixture(), 4242), "/system.slice/app.service");
    EXPECT_EQ(read_ns_inode(fixture(), 4242, "mnt"), 4026532100u);
    EXPECT_FALSE(read_ns_inode(fixture(), 4343, "mnt"));
    EXPECT_TRUE(read_cmdline(fixture(), 99999).empty());
}

TEST(ProcfsFiles, ListPidsAndMaps) {
    EXPECT_EQ(list_pids(fixture()), (std::vector<pid_t>{4242, 4343, 4444, 4545}));
    EXPECT_TRUE(maps_library(fixture(), 4242, "libjvm.so"));
    EXPECT_FALSE(maps_library(fixture(), 4343, "libjvm.so"));
    EXPECT_FALSE(maps_library(fixture(), 4242, "jvm.so"));
    EXPECT_EQ(mapped_library_path(fixture(), 4242,
                                  [](std::string_view b) { return b == "libjvm.so"; }),
              "/opt/jdk/lib/server/libjvm.so");
}

TEST(ProcfsLive, ReadsOurOwnProcess) {
    auto st = read_status("/proc", getpid());
    ASSERT_TRUE(st);
    EXPECT_EQ(st->tgid, getpid());
    EXPECT_EQ(st->euid, geteuid());
    auto stat = read_stat("/proc", getpid());
    ASSERT_TRUE(stat);
    EXPECT_EQ(stat->ppid, getppid());
    EXPECT_TRUE(read_ns_inode("/proc", getpid(), "mnt"));
}

}  // namespace
}  // namespace jvmwatch::proc
