// Hook choice from synthetic feature sets, and the mount-table helpers on fixtures.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "tests/common/support.h"
#include "userspace/observer/features.h"
#include "userspace/observer/mounts.h"

namespace obs = jvmwatch::observer;
using obs::EventKind;

namespace {

obs::Features modern() {
    obs::Features f;
    f.is_root = f.bpf_syscall = f.btf = f.ringbuf = true;
    f.tp_btf_sched_process_exec = f.tp_btf_sched_process_exit = true;
    f.tp_btf_task_rename = f.tp_btf_signal_generate = true;
    f.cgroup_unix_connect = true;
    f.cgroup2_root = "/sys/fs/cgroup/unified";
    f.tracefs_mountable = f.tracepoint_sched = f.syscall_tracepoints = true;
    f.classic_tracepoints_known = true;
    return f;
}

const obs::HookChoice& hook(const std::vector<obs::HookChoice>& hs, EventKind k) {
    for (const auto& h : hs)
        if (h.kind == k) return h;
    static obs::HookChoice missing{k, "MISSING", "", false, false};
    return missing;
}

TEST(ObserverHooks, ModernKernelDefaultModeHasNoSyscallTracepoint) {
    auto hs = obs::choose_hooks(modern(), false, false);
    ASSERT_EQ(hs.size(), 5u);
    EXPECT_EQ(hook(hs, EventKind::exec).hook, "tp_btf/sched_process_exec");
    EXPECT_EQ(hook(hs, EventKind::exit).hook, "tp_btf/sched_process_exit");
    EXPECT_EQ(hook(hs, EventKind::thread_name).hook, "tp_btf/task_rename");
    EXPECT_EQ(hook(hs, EventKind::sigquit).hook, "tp_btf/signal_generate");
    EXPECT_EQ(hook(hs, EventKind::connect).hook, "cgroup/connect_unix");
    for (const auto& h : hs) {
        EXPECT_FALSE(h.syscall_tracepoint) << h.hook;
        EXPECT_FALSE(h.needs_tracefs) << h.hook;
    }
    EXPECT_TRUE(obs::all_hooks_usable(hs));
}

TEST(ObserverHooks, DeepModeAddsSyscallTracepoints) {
    auto hs = obs::choose_hooks(modern(), true, false);
    ASSERT_EQ(hs.size(), 7u);
    EXPECT_EQ(hook(hs, EventKind::connect).hook, "cgroup/connect_unix");
    EXPECT_TRUE(hook(hs, EventKind::trigger).syscall_tracepoint);
    EXPECT_TRUE(hook(hs, EventKind::sock_data).needs_tracefs);
    EXPECT_NE(hook(hs, EventKind::trigger).hook.find("sys_enter_{openat"), std::string::npos);
}

TEST(ObserverHooks, OldKernelFallsBackPerKind) {
    auto f = modern();
    f.cgroup_unix_connect = false;       // < 6.7
    f.tp_btf_signal_generate = false;    // say, no BTF typedef for this one
    auto hs = obs::choose_hooks(f, false, false);
    EXPECT_EQ(hook(hs, EventKind::exec).hook, "tp_btf/sched_process_exec");
    EXPECT_EQ(hook(hs, EventKind::sigquit).hook, "tracepoint/signal/signal_generate");
    EXPECT_TRUE(hook(hs, EventKind::sigquit).needs_tracefs);
    EXPECT_NE(hook(hs, EventKind::sigquit).reason.find("btf_trace_signal_generate"),
              std::string::npos);
    const auto& c = hook(hs, EventKind::connect);
    EXPECT_EQ(c.hook, "tracepoint/syscalls/sys_enter_connect");
    EXPECT_TRUE(c.syscall_tracepoint);
    EXPECT_NE(c.reason.find("BPF_CGROUP_UNIX_CONNECT"), std::string::npos);
}

TEST(ObserverHooks, NoCgroup2MountMeansSyscallConnect) {
    auto f = modern();
    f.cgroup2_root.clear();
    auto hs = obs::choose_hooks(f, false, false);
    EXPECT_EQ(hook(hs, EventKind::connect).hook, "tracepoint/syscalls/sys_enter_connect");
    EXPECT_NE(hook(hs, EventKind::connect).reason.find("cgroup v2"), std::string::npos);
}

TEST(ObserverHooks, ForcedFallbackUsesClassicHooksEverywhere) {
    auto hs = obs::choose_hooks(modern(), false, true);
    for (const auto& h : hs) {
        EXPECT_EQ(h.hook.rfind("tracepoint/", 0), 0u) << h.hook;
        EXPECT_NE(h.reason.find("forced"), std::string::npos);
    }
}

TEST(ObserverHooks, NothingWithoutTracefsOrTpBtf) {
    auto f = modern();
    f.tp_btf_task_rename = false;
    f.tracepoint_sched = false;
    f.syscall_tracepoints = false;
    f.cgroup_unix_connect = false;
    auto hs = obs::choose_hooks(f, true, false);
    EXPECT_EQ(hook(hs, EventKind::exec).hook, "tp_btf/sched_process_exec");
    EXPECT_EQ(hook(hs, EventKind::thread_name).hook, "");
    EXPECT_EQ(hook(hs, EventKind::connect).hook, "");
    EXPECT_EQ(hook(hs, EventKind::trigger).hook, "");
    EXPECT_FALSE(obs::all_hooks_usable(hs));
    EXPECT_NE(obs::format_hooks_line(hs).find("thread_name=NONE"), std::string::npos);
}

TEST(ObserverHooks, UnusableBpfGivesTheCauseForEveryKind) {
    obs::Features f;   // not root: nothing works
    f.bpf_error = "bpf(BPF_MAP_CREATE) failed: Operation not permitted (run as root)";
    auto hs = obs::choose_hooks(f, false, false);
    ASSERT_EQ(hs.size(), 5u);
    for (const auto& h : hs) {
        EXPECT_TRUE(h.hook.empty());
        EXPECT_NE(h.reason.find("run as root"), std::string::npos) << h.reason;
    }
    auto no_btf = modern();
    no_btf.btf = false;
    EXPECT_NE(obs::choose_hooks(no_btf, false, false)[0].reason.find("BTF"), std::string::npos);
}

TEST(ObserverHooks, HooksLineNamesEveryKindOnce) {
    std::string line = obs::format_hooks_line(obs::choose_hooks(modern(), true, false));
    EXPECT_EQ(line.rfind("hooks: ", 0), 0u);
    for (const char* k : {"exec=", "exit=", "thread_name=", "sigquit=", "connect=", "trigger=",
                          "sock_data="})
        EXPECT_NE(line.find(k), std::string::npos) << k;
    EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(ObserverMounts, FindsMountsByTypeFromAFixture) {
    jvmwatch::test::TempDir proc;
    ASSERT_EQ(mkdir(proc.file("self").c_str(), 0755), 0);
    {
        std::ofstream m(proc.file("self/mounts"));
        m << "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
             "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
             "nodev /mnt/trace\\040dir tracefs rw 0 0\n"
             "cgroup2 /other cgroup2 rw 0 0\n";
        std::ofstream fs(proc.file("filesystems"));
        fs << "nodev\tsysfs\nnodev\ttracefs\n\text4\n";
    }
    EXPECT_EQ(obs::find_mount(proc.path(), "cgroup2"), "/sys/fs/cgroup/unified");
    EXPECT_EQ(obs::find_mount(proc.path(), "cgroup2", "/other"), "/other");
    EXPECT_EQ(obs::find_mount(proc.path(), "tracefs"), "/mnt/trace dir");
    EXPECT_EQ(obs::find_mount(proc.path(), "debugfs"), "");
    EXPECT_TRUE(obs::filesystem_supported(proc.path(), "tracefs"));
    EXPECT_TRUE(obs::filesystem_supported(proc.path(), "ext4"));
    EXPECT_FALSE(obs::filesystem_supported(proc.path(), "debugfs"));
}

}  // namespace
