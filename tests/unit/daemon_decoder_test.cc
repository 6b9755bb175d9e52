// Raw ring-buffer records -> typed records: size checks, bounded strings, argv split.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/unit/daemon_test_support.h"
#include "userspace/daemon/event_decoder.h"
#include "userspace/daemon/raw_event_json.h"

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

namespace {
jw_identity_event identity_event() {
    jw_identity_event e{};
    e.hdr = hdr(JW_EV_IDENTITY);
    e.hdr.ts_ns = 9'000;
    e.hdr.uid = 0;   // setuid since exec: the header says who it is now
    e.hdr.ppid = 1;  // reparented since exec
    std::memcpy(e.hdr.comm, "renamed", 7);
    e.hdr.cgroup_id = 77;
    e.trigger = JW_ID_SIGQUIT;
    jw_exec_image& x = e.exec;
    x.exec_ts_ns = 8'000;
    x.start_time_ns = 5'000'000'000ull;
    x.ppid = 4000;
    x.uid = 1000;
    x.gid = 1001;
    std::strcpy(x.comm, "jattach");
    std::strcpy(x.parent_comm, "bash");
    std::strcpy(x.filename, "/usr/bin/jattach");
    const char args[] = "jattach\0" "3374\0properties";
    std::memcpy(x.args, args, sizeof args);
    x.args_len = sizeof args;
    return e;
}
}  // namespace

TEST(DaemonDecoder, IdentityCarriesTheStoredExecAndTheActorNow) {
    auto e = identity_event();
    DecodeError err;
    auto r = decode_event(bytes(e).data(), sizeof e, &err);
    ASSERT_TRUE(r) << to_string(err);
    auto& id = std::get<IdentityRecord>(*r);
    EXPECT_EQ(id.who.pid, 42);
    EXPECT_EQ(id.who.uid, 0u);
    EXPECT_EQ(id.who.comm, "renamed");
    EXPECT_EQ(id.trigger, uint32_t{JW_ID_SIGQUIT});
    EXPECT_STREQ(identity_trigger_name(id.trigger), "sigquit");
    EXPECT_EQ(id.exec_ts_ns, 8'000u);
    EXPECT_EQ(id.start_ticks, ns_to_clock_ticks(5'000'000'000ull));
    EXPECT_EQ(id.exec_ppid, 4000);
    EXPECT_EQ(id.exec_uid, 1000u);
    EXPECT_EQ(id.exec_comm, "jattach");
    EXPECT_EQ(id.parent_comm, "bash");
    EXPECT_EQ(id.filename, "/usr/bin/jattach");
    EXPECT_EQ(id.args, (std::vector<std::string>{"jattach", "3374", "properties"}));
    EXPECT_FALSE(id.args_truncated);

    // What the exec event would have said at exec time.
    ExecRecord x = id.as_exec();
    EXPECT_EQ(x.who.pid, 42);
    EXPECT_EQ(x.who.tid, 42);
    EXPECT_EQ(x.who.ts_ns, 8'000u);
    EXPECT_EQ(x.who.ppid, 4000);
    EXPECT_EQ(x.who.uid, 1000u);
    EXPECT_EQ(x.who.gid, 1001u);
    EXPECT_EQ(x.who.comm, "jattach");
    EXPECT_EQ(x.who.cgroup_id, 77u);
    EXPECT_EQ(x.start_ticks, id.start_ticks);
    EXPECT_EQ(x.filename, id.filename);
    EXPECT_EQ(x.args, id.args);
}

TEST(DaemonDecoder, IdentityRejectsShortRecordsAndBadArgsLength) {
    auto e = identity_event();
    auto b = bytes(e);
    DecodeError err;
    EXPECT_FALSE(decode_event(b.data(), sizeof e - 1, &err));
    EXPECT_EQ(err, DecodeError::too_short);
    // An exec event's size is not enough for an identity.
    EXPECT_FALSE(decode_event(b.data(), sizeof(jw_exec_event), &err));
    EXPECT_EQ(err, DecodeError::too_short);
    e.exec.args_len = JW_ARGS_LEN + 1;
    EXPECT_FALSE(decode_event(bytes(e).data(), sizeof e, &err));
    EXPECT_EQ(err, DecodeError::bad_length);
    // A full args buffer without a final NUL was cut by the kernel.
    e = identity_event();
    std::memset(e.exec.args, 'a', JW_ARGS_LEN);
    e.exec.args_len = JW_ARGS_LEN;
    auto r = decode_event(bytes(e).data(), sizeof e, &err);
    ASSERT_TRUE(r);
    EXPECT_TRUE(std::get<IdentityRecord>(*r).args_truncated);
    EXPECT_STREQ(identity_trigger_name(99), "unknown");
}

TEST(DaemonDecoder, IdentityRoundTripsThroughRecordRawJson) {
    auto e = identity_event();
    auto j = raw_event_to_json(&e, sizeof e);
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["kind"], "identity");
    EXPECT_EQ((*j)["filename"], "/usr/bin/jattach");
    EXPECT_EQ((*j)["parent_comm"], "bash");
    std::string err;
    auto raw = raw_event_from_json(*j, &err);
    ASSERT_TRUE(raw) << err;
    ASSERT_EQ(raw->size(), sizeof e);
    auto a = decode_event(&e, sizeof e);
    auto b = decode_event(raw->data(), raw->size());
    ASSERT_TRUE(a && b);
    const auto& x = std::get<IdentityRecord>(*a);
    const auto& y = std::get<IdentityRecord>(*b);
    EXPECT_EQ(y.who.pid, x.who.pid);
    EXPECT_EQ(y.who.comm, x.who.comm);
    EXPECT_EQ(y.trigger, x.trigger);
    EXPECT_EQ(y.exec_ts_ns, x.exec_ts_ns);
    EXPECT_EQ(y.start_ticks, x.start_ticks);
    EXPECT_EQ(y.exec_ppid, x.exec_ppid);
    EXPECT_EQ(y.exec_uid, x.exec_uid);
    EXPECT_EQ(y.exec_gid, x.exec_gid);
    EXPECT_EQ(y.exec_comm, x.exec_comm);
    EXPECT_EQ(y.parent_comm, x.parent_comm);
    EXPECT_EQ(y.filename, x.filename);
    EXPECT_EQ(y.args, x.args);
    // Wrong field types are refused with the field's name.
    (*j)["exec_ppid"] = "x";
    EXPECT_FALSE(raw_event_from_json(*j, &err));
    EXPECT_NE(err.find("exec_ppid"), std::string::npos) << err;
}

// A default-mode recording by the current kernel side: jattach sends no exec event, only
// its stored identity just before its SIGQUIT.  Replayed over a /proc that does not exist,
// the attach record still names jattach, its arguments and its parent.
TEST(DaemonDecoder, IdentityFixtureDescribesAnAttacherWithoutExecOrProc) {
    jvmwatch::test::Replay r;
    auto evs = jvmwatch::test::load_fixture("jattach_identity.jsonl");
    pid_t attacher = 0, jvm = 0;
    for (const auto& e : evs) {
        EXPECT_FALSE(e["kind"] == "exec" && e["filename"] == "/usr/bin/jattach") << "not a new-style recording";
        if (e["kind"] == "identity") attacher = e["pid"];
        if (e["kind"] == "exec" && e["filename"].get<std::string>().size() > 5) jvm = e["pid"];
    }
    ASSERT_NE(attacher, 0) << "no identity event in the fixture";
    ASSERT_NE(jvm, 0);
    r.feed_all(evs);
    r.advance(5'000'000'000ull);
    auto attaches = r.sink.of_type("attach");
    ASSERT_EQ(attaches.size(), 1u);
    const auto& a = attaches[0]["attacher"];
    EXPECT_EQ(a["pid"], attacher);
    EXPECT_EQ(a["exe"], "/usr/bin/jattach");
    EXPECT_EQ(a["comm"], "jattach");
    EXPECT_EQ(a["cmdline"], nlohmann::json({"jattach", std::to_string(jvm), "properties"}));
    EXPECT_EQ(a["identity_from"], "exec");
    EXPECT_FALSE(a.value("parent_comm", std::string()).empty()) << a.dump();
    EXPECT_EQ(attaches[0]["target"]["pid"], jvm);
    auto stats = r.proc->stats_event({}, 0, true, 1.0);
    EXPECT_EQ(stats["userspace"]["events_identity"], 1);
}
