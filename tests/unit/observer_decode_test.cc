// Observer decoding helpers: checked casts, fixed strings, argv, socket names.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "userspace/observer/observer.h"

namespace obs = jvmwatch::observer;

JW_ASSERT_EVENT_SIZES();

namespace {

TEST(ObserverDecode, EventLayoutMatchesTheBpfSide) {
    // Offsets the BPF programs write at; a reorder breaks decoding silently otherwise.
    EXPECT_EQ(offsetof(jw_event_hdr, ts_ns), 8u);
    EXPECT_EQ(offsetof(jw_event_hdr, comm), 56u);
    EXPECT_EQ(offsetof(jw_exec_event, filename), JW_EVENT_HDR_SIZE + 16u);
    EXPECT_EQ(offsetof(jw_exec_event, args), JW_EVENT_HDR_SIZE + 16u + JW_PATH_LEN);
    EXPECT_EQ(offsetof(jw_sock_data_event, data), JW_EVENT_HDR_SIZE + 16u);
    EXPECT_EQ(offsetof(jw_connect_event, path), JW_EVENT_HDR_SIZE + 16u);
    EXPECT_LT(static_cast<int>(JW_STAT_EXEC_DROPS), static_cast<int>(JW_STAT_MAX));
}

TEST(ObserverDecode, EventCastChecksTypeAndSize) {
    jw_exec_event e{};
    e.hdr.type = JW_EV_EXEC;
    EXPECT_EQ(obs::event_cast<jw_exec_event>(&e.hdr, sizeof(e)), &e);
    EXPECT_EQ(obs::event_cast<jw_exec_event>(&e.hdr, sizeof(e) - 1), nullptr);
    EXPECT_EQ(obs::event_cast<jw_exit_event>(&e.hdr, sizeof(e)), nullptr);
    EXPECT_EQ(obs::event_cast<jw_exec_event>(nullptr, sizeof(e)), nullptr);
}

TEST(ObserverDecode, IdentityCastAndArgs) {
    jw_identity_event e{};
    e.hdr.type = JW_EV_IDENTITY;
    const char args[] = "kill\0-QUIT\0" "42";
    std::memcpy(e.exec.args, args, sizeof args - 1);
    e.exec.args_len = sizeof args - 1;
    ASSERT_EQ(obs::event_cast<jw_identity_event>(&e.hdr, sizeof e), &e);
    EXPECT_EQ(obs::event_cast<jw_identity_event>(&e.hdr, sizeof e - 1), nullptr);
    EXPECT_EQ(obs::event_cast<jw_exec_event>(&e.hdr, sizeof e), nullptr);
    EXPECT_EQ(obs::exec_args(e.exec), (std::vector<std::string>{"kill", "-QUIT", "42"}));
}

TEST(ObserverDecode, SockDataCastTakesWritesAndReadsOnly) {
    jw_sock_data_event d{};
    d.hdr.type = JW_EV_SOCK_WRITE;
    d.len = 3;
    std::memcpy(d.data, "1\0x", 3);
    ASSERT_EQ(obs::sock_data_cast(&d.hdr, sizeof(d)), &d);
    EXPECT_EQ(obs::sock_data(d), std::string_view("1\0x", 3));
    d.hdr.type = JW_EV_SOCK_READ;
    EXPECT_EQ(obs::sock_data_cast(&d.hdr, sizeof(d)), &d);
    d.hdr.type = JW_EV_SOCK_CLOSE;
    EXPECT_EQ(obs::sock_data_cast(&d.hdr, sizeof(d)), nullptr);
    d.hdr.type = JW_EV_SOCK_WRITE;
    d.len = JW_DATA_LEN + 1;   // corrupt length: refused
    EXPECT_EQ(obs::sock_data_cast(&d.hdr, sizeof(d)), nullptr);
}

TEST(ObserverDecode, FixedStringStopsAtNulOrCapacity) {
    char full[4] = {'a', 'b', 'c', 'd'};
    EXPECT_EQ(obs::fixed_string(full), "abcd");
    char part[8] = "ab";
    EXPECT_EQ(obs::fixed_string(part), "ab");
}

TEST(ObserverDecode, ExecArgsSplitAtNulAndKeepTruncatedLast) {
    jw_exec_event e{};
    const char argv[] = "java\0-cp\0/a b\0Mai";   // last arg cut by the kernel's bound
    std::memcpy(e.args, argv, sizeof(argv) - 1);
    e.args_len = sizeof(argv) - 1;
    auto a = obs::exec_args(e);
    ASSERT_EQ(a.size(), 4u);
    EXPECT_EQ(a[0], "java");
    EXPECT_EQ(a[2], "/a b");
    EXPECT_EQ(a[3], "Mai");
    e.args_len = 5;   // "java\0": exactly one arg
    EXPECT_EQ(obs::exec_args(e), std::vector<std::string>{"java"});
    e.args_len = 100000;   // never read past the array
    EXPECT_GE(obs::exec_args(e).size(), 4u);
}

TEST(ObserverDecode, JavaPidNamesFromEveryPathForm) {
    EXPECT_EQ(obs::parse_java_pid("/tmp/.java_pid123"), 123u);
    EXPECT_EQ(obs::parse_java_pid(".java_pid7"), 7u);                        // relative
    EXPECT_EQ(obs::parse_java_pid("/proc/4711/root/tmp/.java_pid1"), 1u);   // container
    EXPECT_EQ(obs::parse_java_pid("@.java_pid99"), 99u);                     // abstract
    EXPECT_EQ(obs::parse_java_pid("/tmp/.java_pid2147483647"), 2147483647u);
    EXPECT_EQ(obs::parse_java_pid("/tmp/.java_pid2147483648"), 0u);          // > INT32_MAX
    EXPECT_EQ(obs::parse_java_pid("/tmp/.java_pid12345678901"), 0u);         // 11 digits
    EXPECT_EQ(obs::parse_java_pid("/tmp/.java_pid123.tmp"), 0u);   // HotSpot's bind name
    EXPECT_EQ(obs::parse_java_pid("/tmp/.java_pid"), 0u);
    EXPECT_EQ(obs::parse_java_pid("/tmp/x.java_pid12"), 0u);
    EXPECT_EQ(obs::parse_java_pid("/tmp/.java_pid12/"), 0u);
    EXPECT_EQ(obs::parse_java_pid("/tmp/.java_pid1x2"), 0u);
    EXPECT_EQ(obs::parse_java_pid("/tmp/.attach_pid12"), 0u);
    EXPECT_EQ(obs::parse_attach_pid("/proc/9/cwd/.attach_pid12"), 12u);
    EXPECT_EQ(obs::parse_attach_pid("/tmp/.java_pid12"), 0u);
}

TEST(ObserverDecode, PathBasename) {
    EXPECT_EQ(obs::path_basename("/a/b/c"), "c");
    EXPECT_EQ(obs::path_basename("c"), "c");
    EXPECT_EQ(obs::path_basename("/a/b/"), "");
    EXPECT_EQ(obs::path_basename("@abstract/x"), "x");
}

TEST(ObserverDecode, NamesOfTypesAndMilestones) {
    EXPECT_EQ(obs::event_type_name(JW_EV_CONNECT), "connect");
    EXPECT_EQ(obs::event_type_name(JW_EV_SOCK_READ), "sock_read");
    EXPECT_EQ(obs::event_type_name(JW_EV_IDENTITY), "identity");
    EXPECT_EQ(obs::event_type_name(999), "unknown");
    EXPECT_EQ(obs::milestone_name(JW_MS_SIGNAL_DISPATCH), "signal_dispatcher");
    EXPECT_EQ(obs::milestone_name(JW_MS_ATTACH_LISTENER), "attach_listener");
    EXPECT_EQ(obs::milestone_name(77), "none");
}

TEST(ObserverDecode, StartTimeTicksMatchesProcStatUnits) {
    long hz = sysconf(_SC_CLK_TCK);
    ASSERT_GT(hz, 0);
    EXPECT_EQ(obs::start_time_ticks(5ull * 1000000000ull), static_cast<uint64_t>(5 * hz));
    EXPECT_EQ(obs::start_time_ticks(0), 0u);
}

}  // namespace
