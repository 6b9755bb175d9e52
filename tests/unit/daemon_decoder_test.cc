// Raw ring-buffer records -> typed records: size checks, bounded strings, argv split.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "userspace/daemon/event_decoder.h"

using namespace jvmwatch::daemon;

namespace {
template <class T> std::vector<uint8_t> bytes(const T& e) {
    std::vector<uint8_t> b(sizeof e);
    std::memcpy(b.data(), &e, sizeof e);
    return b;
}
jw_event_hdr hdr(uint32_t type) {
    jw_event_hdr h{};
    h.type = type;
    h.pid = 42;
    h.tid = 43;
    h.uid = 1000;
    h.gid = 1001;
    h.ppid = 1;
    h.ts_ns = 123;
    std::memcpy(h.comm, "bash", 4);
    return h;
}
}  // namespace

TEST(DaemonDecoder, ExecSplitsArgsAndKeepsIdentity) {
    jw_exec_event e{};
    e.hdr = hdr(JW_EV_EXEC);
    const char args[] = "java\0-cp\0x\0Main";   // last arg unterminated (cut)
    std::memcpy(e.args, args, sizeof args - 1);
    e.args_len = sizeof args - 1;
    std::strcpy(e.filename, "/usr/bin/java");
    e.start_time_ns = 5'000'000'000ull;
    DecodeError err;
    auto r = decode_event(bytes(e).data(), sizeof e, &err);
    ASSERT_TRUE(r);
    auto& x = std::get<ExecRecord>(*r);
    EXPECT_EQ(x.who.pid, 42);
    EXPECT_EQ(x.who.uid, 1000u);
    EXPECT_EQ(x.who.comm, "bash");
    EXPECT_EQ(x.filename, "/usr/bin/java");
    EXPECT_EQ(x.args, (std::vector<std::string>{"java", "-cp", "x", "Main"}));
    EXPECT_EQ(x.start_ticks, ns_to_clock_ticks(5'000'000'000ull));
    EXPECT_GT(x.start_ticks, 0u);
}

TEST(DaemonDecoder, RejectsShortRecordsOfEveryType) {
    for (uint32_t t = JW_EV_EXEC; t <= JW_EV_SOCK_CLOSE; ++t) {
        jw_exec_event big{};   // the largest struct but one: enough bytes for any header
        big.hdr = hdr(t);
        auto b = bytes(big);
        DecodeError err;
        // Header only: every type needs more.
        EXPECT_FALSE(decode_event(b.data(), sizeof(jw_event_hdr), &err)) << t;
        EXPECT_EQ(err, DecodeError::too_short) << t;
    }
    DecodeError err;
    EXPECT_FALSE(decode_event(nullptr, 0, &err));
    EXPECT_EQ(err, DecodeError::too_short);
    uint8_t tiny[8] = {};
    EXPECT_FALSE(decode_event(tiny, sizeof tiny, &err));
}

TEST(DaemonDecoder, RejectsUnknownTypeAndBadLengths) {
    jw_sock_data_event e{};
    e.hdr = hdr(77);
    DecodeError err;
    EXPECT_FALSE(decode_event(bytes(e).data(), sizeof e, &err));
    EXPECT_EQ(err, DecodeError::unknown_type);
    e.hdr = hdr(JW_EV_SOCK_WRITE);
    e.len = JW_DATA_LEN + 1;
    EXPECT_FALSE(decode_event(bytes(e).data(), sizeof e, &err));
    EXPECT_EQ(err, DecodeError::bad_length);
    jw_exec_event x{};
    x.hdr = hdr(JW_EV_EXEC);
    x.args_len = JW_ARGS_LEN + 5;
    EXPECT_FALSE(decode_event(bytes(x).data(), sizeof x, &err));
    EXPECT_EQ(err, DecodeError::bad_length);
}

TEST(DaemonDecoder, StringsAreBoundedWithoutNul) {
    jw_connect_event e{};
    e.hdr = hdr(JW_EV_CONNECT);
    std::memset(e.hdr.comm, 'A', sizeof e.hdr.comm);   // no NUL
    std::memset(e.path, 'p', sizeof e.path);
    e.path_len = JW_PATH_LEN;
    auto r = decode_event(bytes(e).data(), sizeof e);
    ASSERT_TRUE(r);
    auto& c = std::get<ConnectRecord>(*r);
    EXPECT_EQ(c.who.comm, std::string(JW_COMM_LEN, 'A'));
    EXPECT_EQ(c.path.size(), size_t{JW_PATH_LEN});
    EXPECT_EQ(c.target_nspid, 0);
}

TEST(DaemonDecoder, ConnectFallsBackToPidInPath) {
    jw_connect_event e{};
    e.hdr = hdr(JW_EV_CONNECT);
    std::strcpy(e.path, "/proc/9/root/tmp/.java_pid77");
    auto r = decode_event(bytes(e).data(), sizeof e);
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<ConnectRecord>(*r).target_nspid, 77);
}

TEST(DaemonDecoder, SockDataKeepsBinaryBytesAndDirection) {
    jw_sock_data_event e{};
    e.hdr = hdr(JW_EV_SOCK_READ);
    std::memcpy(e.data, "0\n\0x", 4);
    e.len = 4;
    e.total_len = 9000;
    auto r = decode_event(bytes(e).data(), sizeof e);
    ASSERT_TRUE(r);
    auto& d = std::get<SockDataRecord>(*r);
    EXPECT_FALSE(d.is_write);
    EXPECT_EQ(d.data, std::string("0\n\0x", 4));
    EXPECT_EQ(d.total_len, 9000u);
}

TEST(DaemonDecoder, PidFromSocketName) {
    EXPECT_EQ(pid_from_socket_name("/tmp/.java_pid123", ".java_pid"), 123);
    EXPECT_EQ(pid_from_socket_name(".java_pid5", ".java_pid"), 5);
    EXPECT_EQ(pid_from_socket_name("/tmp/.java_pid123.tmp", ".java_pid"), 0);
    EXPECT_EQ(pid_from_socket_name("/tmp/.java_pid", ".java_pid"), 0);
    EXPECT_EQ(pid_from_socket_name("/tmp/x.java_pid1", ".java_pid"), 0);
    EXPECT_EQ(pid_from_socket_name("/tmp/.java_pid99999999999", ".java_pid"), 0);
    EXPECT_EQ(pid_from_socket_name("/proc/1/cwd/.attach_pid42", ".attach_pid"), 42);
}
