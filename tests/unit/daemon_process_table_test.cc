// The process table: bounded LRU, identity from exec events and headers, /proc facts
// applied from enrichment (the table itself never reads a file).
#include <gtest/gtest.h>
#include <unistd.h>

#include "userspace/daemon/jvm_table.h"
#include "userspace/daemon/proc_enrichment.h"
#include "userspace/daemon/process_table.h"

using namespace jvmwatch::daemon;

namespace {
ExecRecord exec_of(pid_t pid, const std::string& comm) {
    ExecRecord e;
    e.who.pid = pid;
    e.who.ppid = 1;
    e.who.uid = 1000;
    e.who.comm = comm;
    e.filename = "/usr/bin/" + comm;
    e.args = {comm, "arg"};
    e.start_ticks = static_cast<uint64_t>(pid) * 10;
    return e;
}
}  // namespace

TEST(DaemonProcessTable, EvictsLeastRecentlyUsedAndCounts) {
    ProcessTable t(3, nullptr);
    for (pid_t p = 100; p < 110; ++p) t.on_exec(exec_of(p, "p" + std::to_string(p)));
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.evictions(), 7u);
    EXPECT_EQ(t.find(100), nullptr);
    ASSERT_NE(t.find(109), nullptr);
    EXPECT_EQ(t.find(109)->comm, "p109");
    EXPECT_EQ(t.find(109)->exe, "/usr/bin/p109");
    EXPECT_EQ(t.find(109)->start_ticks, 1090u);
}

TEST(DaemonProcessTable, UseKeepsAnEntryAlive) {
    ProcessTable t(2, nullptr);
    t.on_exec(exec_of(1, "a"));
    t.on_exec(exec_of(2, "b"));
    Actor a;
    a.pid = 1;
    t.ensure(a);               // touch 1: 2 is now the oldest
    t.on_exec(exec_of(3, "c"));
    EXPECT_NE(t.find(1), nullptr);
    EXPECT_EQ(t.find(2), nullptr);
}

TEST(DaemonProcessTable, UnknownPidTakesTheHeaderAndNeverReadsProc) {
    ProcessTable t(16, nullptr);
    Actor a;
    a.pid = getpid();
    a.uid = geteuid();
    a.comm = "x";
    const ProcessInfo& p = t.ensure(a);
    EXPECT_EQ(p.source, ProcessInfo::Source::event);
    EXPECT_TRUE(p.exe.empty());
    EXPECT_EQ(t.proc_reads(), 0u);
}

TEST(DaemonProcessTable, EnrichmentFillsWhatTheHeaderLacks) {
    CgroupPathCache cg(16);
    ProcessTable t(16, &cg);
    Actor a;
    a.pid = getpid();
    a.uid = 4321;          // the header is the truth at event time
    a.comm = "x";
    a.cgroup_id = 77;
    t.ensure(a);
    auto facts = jvmwatch::daemon::read_process("/proc", getpid());
    ASSERT_TRUE(facts);
    t.apply(*facts);
    const ProcessInfo* p = t.find(getpid());
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->source, ProcessInfo::Source::proc);
    EXPECT_FALSE(p->exe.empty());
    EXPECT_FALSE(p->cmdline.empty());
    EXPECT_GT(p->start_ticks, 0u);
    EXPECT_EQ(p->uid, 4321u);
    EXPECT_EQ(t.proc_reads(), 1u);
    if (!facts->cgroup.empty()) {
        EXPECT_EQ(cg.lookup(77), facts->cgroup);
    }
    // Facts of another process with the same pid (start time differs) are ignored.
    ProcessInfo other = *facts;
    other.start_ticks += 1;
    other.exe = "/other";
    t.apply(other);
    EXPECT_NE(t.find(getpid())->exe, "/other");
}

TEST(DaemonProcessTable, VanishedProcessKeepsEventIdentity) {
    ProcessTable t(16, nullptr);
    Actor a;
    a.pid = 4242;
    a.ppid = 7;
    a.uid = 33;
    a.gid = 34;
    a.comm = "jattach";
    const ProcessInfo& p = t.ensure(a);
    EXPECT_EQ(p.source, ProcessInfo::Source::event);
    EXPECT_EQ(p.comm, "jattach");
    EXPECT_EQ(p.uid, 33u);
    EXPECT_EQ(p.ppid, 7);
}

TEST(DaemonProcessTable, JvmTableIsBoundedAndFindsByNamespacePid) {
    JvmTable t(2);
    for (pid_t p = 10; p < 14; ++p) {
        JvmInfo j;
        j.proc.pid = p;
        j.proc.nspid = p - 9;
        j.pidns = 500;
        t.put(j);
    }
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.evictions(), 2u);
    ASSERT_NE(t.find_by_nspid(500, 4), nullptr);
    EXPECT_EQ(t.find_by_nspid(500, 4)->proc.pid, 13);
    EXPECT_EQ(t.find_by_nspid(501, 4), nullptr);
    EXPECT_EQ(t.find_by_nspid(500, 1), nullptr);
}

TEST(DaemonProcessTable, JavaLauncherNames) {
    EXPECT_TRUE(is_java_launcher("/usr/lib/jvm/java-17-openjdk-amd64/bin/java"));
    EXPECT_TRUE(is_java_launcher("java"));
    EXPECT_FALSE(is_java_launcher("/usr/bin/javac"));
    EXPECT_FALSE(is_java_launcher("/usr/bin/jcmd"));
    EXPECT_FALSE(is_java_launcher("/opt/java/bin/launcher"));
}
