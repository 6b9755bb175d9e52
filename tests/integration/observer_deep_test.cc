// Root tests of the observer's deep mode (syscall tracepoints: trigger files, request and
// reply bytes) and of the forced fallback hooks (classic tracepoints, sys_enter_connect).
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "tests/common/support.h"
#include "tests/integration/observer_harness.h"

namespace jvmwatch::test {
namespace {

constexpr auto kJvmTimeout = std::chrono::seconds(60);

Child start_idle_jvm() { return Child(java_spec({"-Xmx64m"}, "jw.observer.Idle", {"120"})); }

TEST(ObserverDeep, JattachLoadShowsTriggerRequestReplyAndClose) {
    JW_REQUIRE_ROOT();
    obs::Options opts;
    opts.deep = true;
    EventRecorder rec(opts);
    ASSERT_TRUE(rec.ok()) << rec.error();
    Child jvm = start_idle_jvm();
    // A fresh JVM has no listener: jattach must create the trigger file and signal.
    ASSERT_TRUE(rec.wait_for(milestone_of(jvm.pid(), JW_MS_SIGNAL_DISPATCH), kJvmTimeout));
    ASSERT_TRUE(jvm.wait_for_output("ready", kJvmTimeout));
    std::string out;
    run_command({"jattach", std::to_string(jvm.pid()), "load", "instrument", "false", "/x.jar=a"},
                &out);   // fails (no such jar): what matters is what went over the socket

    const uint32_t target = static_cast<uint32_t>(jvm.pid());
    auto trig = rec.wait_for([&](const RecordedEvent& e) {
        auto* t = e.as<jw_trigger_event>();
        return t && t->target_pid == target;
    });
    ASSERT_TRUE(trig) << "no trigger event; jattach said: " << out;
    const uint32_t client = trig->hdr()->pid;
    EXPECT_EQ(obs::fixed_string(trig->hdr()->comm), "jattach");
    EXPECT_EQ(obs::parse_attach_pid(obs::fixed_string(trig->as<jw_trigger_event>()->path)), target);

    ASSERT_TRUE(rec.wait_for([&](const RecordedEvent& e) {
        auto* c = e.as<jw_sock_close_event>();
        return c && c->hdr.pid == client;
    })) << "no close event";
    std::string request, reply;
    for (const auto& e : rec.events()) {
        auto* d = e.data();
        if (!d || d->hdr.pid != client) continue;
        (d->hdr.type == JW_EV_SOCK_WRITE ? request : reply) += std::string(obs::sock_data(*d));
    }
    static const char kWant[] = "1\0load\0instrument\0false\0/x.jar=a\0";   // protocol v1
    EXPECT_EQ(request, std::string(kWant, sizeof(kWant) - 1));
    EXPECT_EQ(reply.substr(0, 2), "0\n") << reply;   // the JVM answered; the agent failed
    EXPECT_NE(reply.find("return code"), std::string::npos) << reply;
    // The connect (cgroup hook) and the SIGQUIT came from the same client.
    EXPECT_TRUE(rec.wait_for([&](const RecordedEvent& e) {
        auto* c = e.as<jw_connect_event>();
        return c && c->hdr.pid == client && c->target_pid == target;
    }));
    EXPECT_TRUE(rec.wait_for([&](const RecordedEvent& e) {
        auto* q = e.as<jw_sigquit_event>();
        return q && q->hdr.pid == client && q->target_pid == target;
    }));
}

TEST(ObserverFallback, ClassicTracepointsAndSyscallConnect) {
    JW_REQUIRE_ROOT();
    obs::Options opts;
    opts.force_fallback = true;
    EventRecorder rec(opts);
    ASSERT_TRUE(rec.ok()) << rec.error();
    for (const auto& h : rec.observer().hooks())
        EXPECT_EQ(h.hook.rfind("tracepoint/", 0), 0u) << obs::to_string(h.kind) << "=" << h.hook;

    Child jvm = start_idle_jvm();
    const uint32_t target = static_cast<uint32_t>(jvm.pid());
    auto exec = rec.wait_for([&](const RecordedEvent& e) {
        auto* x = e.as<jw_exec_event>();
        return x && x->hdr.pid == target;
    });
    ASSERT_TRUE(exec) << "no exec event from tracepoint/sched/sched_process_exec";
    EXPECT_NE(obs::fixed_string(exec->as<jw_exec_event>()->filename).find("java"), std::string::npos);
    ASSERT_TRUE(rec.wait_for(milestone_of(jvm.pid(), JW_MS_SIGNAL_DISPATCH), kJvmTimeout));
    ASSERT_TRUE(jvm.wait_for_output("ready", kJvmTimeout));

    std::string out;
    ASSERT_EQ(run_command({"jcmd", std::to_string(jvm.pid()), "VM.version"}, &out), 0) << out;
    auto conn = rec.wait_for([&](const RecordedEvent& e) {
        auto* c = e.as<jw_connect_event>();
        return c && c->target_pid == target;
    });
    ASSERT_TRUE(conn) << "no connect event from sys_enter_connect";
    EXPECT_GE(conn->as<jw_connect_event>()->fd, 0);   // the syscall hook knows the fd
    EXPECT_EQ(obs::fixed_string(conn->hdr()->comm), "jcmd");
    auto sig = rec.wait_for([&](const RecordedEvent& e) {
        auto* q = e.as<jw_sigquit_event>();
        return q && q->target_pid == target;
    });
    ASSERT_TRUE(sig) << "no sigquit from tracepoint/signal/signal_generate";
    EXPECT_EQ(obs::fixed_string(sig->hdr()->comm), "jcmd");

    jvm.kill(SIGKILL);
    EXPECT_TRUE(rec.wait_for(exit_of(jvm.pid()))) << "no exit from tracepoint/sched/sched_process_exit";
}

}  // namespace
}  // namespace jvmwatch::test
