// The JVM-side uprobes on real JDKs, seen from the observer alone: the request the
// attach listener read (op, args, the real peer), agent loads and diagnostic commands.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "attach/safe_fs.h"
#include "tests/common/jdk_copy.h"
#include "tests/common/support.h"
#include "tests/integration/observer_harness.h"

namespace jvmwatch::test {
namespace {

namespace fs = std::filesystem;

const std::string kJdk17 = "/usr/lib/jvm/java-17-openjdk-amd64";

// Places the JVM-side probes on JAVA_HOME's libjvm.so and libinstrument.so.
std::vector<std::unique_ptr<obs::JvmProbeLinks>> probe_jdk(obs::Observer& o,
                                                          const std::string& home) {
    std::vector<std::unique_ptr<obs::JvmProbeLinks>> out;
    for (auto [rel, lib] : {std::pair{"/lib/server/libjvm.so", obs::JdkLibrary::libjvm},
                            std::pair{"/lib/libinstrument.so", obs::JdkLibrary::libinstrument}}) {
        safefs::Failure f;
        safefs::UniqueFd root = safefs::open_proc_root("/proc", getpid());
        safefs::UniqueFd fd = safefs::open_path(root.get(), safefs::relative_to_root(home + rel),
                                                safefs::Resolve::in_root, {}, nullptr, &f);
        EXPECT_TRUE(fd) << home << rel << ": " << f.why;
        if (!fd) continue;
        auto probes = obs::resolve_probes(safefs::reopen_for_read(fd.get()).get(), lib);
        std::string err;
        auto links = o.attach_jvm_probes(fd.get(), probes, &err);
        EXPECT_TRUE(links) << home << rel << ": " << err;
        if (links) out.push_back(std::move(links));
    }
    return out;
}

Child start_java(const std::string& home, const std::vector<std::string>& jvm_args = {}) {
    Child::Spec spec = java_spec(jvm_args, "jw.test.Sleeper");
    spec.argv[0] = home + "/bin/java";
    return Child(spec);
}

std::string jvm_attach_dump(const jw_jvm_attach_event& e) {
    std::string s = "op=" + obs::fixed_string(e.name) + " peer=" + std::to_string(e.peer_pid) +
                    " flags=" + std::to_string(e.flags) + " layout=" + std::to_string(e.layout);
    for (int i = 0; i < JW_JVM_ARGS; i++) s += " arg" + std::to_string(i) + "=" + obs::fixed_string(e.args[i]);
    return s;
}

class ObserverJvmProbes : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        JW_REQUIRE_ROOT();
        home_ = GetParam() == "17" ? kJdk17 : other_jdk(kJdk17);
        if (home_.empty()) GTEST_SKIP() << "no second JDK in /usr/lib/jvm";
    }
    std::string home_;
};

// `jvmwatch attach PID properties` and a jcmd-style `jcmd` op: each read request is
// reported from inside the JVM with its op, args and the real connecting process.
TEST_P(ObserverJvmProbes, RequestsAreSeenFromInsideWithTheirPeer) {
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    auto links = probe_jdk(rec.observer(), home_);
    ASSERT_FALSE(links.empty());
    Child jvm = start_java(home_, {"-Xmx64m"});
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();

    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "attach", std::to_string(jvm.pid()), "jcmd",
                           "VM.version"}, &out), 0) << out;
    auto ev = rec.wait_for([&](const RecordedEvent& e) {
        auto* a = e.as<jw_jvm_attach_event>();
        return a && a->hdr.pid == static_cast<uint32_t>(jvm.pid()) &&
               obs::fixed_string(a->name) == "jcmd";
    });
    ASSERT_TRUE(ev) << "no JVM-side request";
    auto* a = ev->as<jw_jvm_attach_event>();
    EXPECT_EQ(obs::fixed_string(a->args[0]), "VM.version") << jvm_attach_dump(*a);
    EXPECT_TRUE(a->flags & JW_JA_PEER_KNOWN) << jvm_attach_dump(*a);
    EXPECT_TRUE(a->flags & JW_JA_OP_READ);
    EXPECT_FALSE(a->flags & JW_JA_SELF);
    EXPECT_EQ(a->peer_uid, 0u);
    EXPECT_NE(a->peer_pid, 0u);
    EXPECT_NE(a->peer_pid, static_cast<uint32_t>(jvm.pid()));
    EXPECT_EQ(obs::fixed_string(a->hdr.comm), "Attach Listener");
    // The diagnostic command itself, with its source.
    auto dc = rec.wait_for([&](const RecordedEvent& e) {
        auto* d = e.as<jw_jvm_dcmd_event>();
        return d && d->hdr.pid == static_cast<uint32_t>(jvm.pid());
    });
    ASSERT_TRUE(dc);
    EXPECT_EQ(dc->as<jw_jvm_dcmd_event>()->source, static_cast<uint32_t>(JW_DCMD_ATTACH));
    EXPECT_EQ(obs::fixed_string(dc->as<jw_jvm_dcmd_event>()->cmdline), "VM.version");
}

// A java agent loaded through the attach mechanism: the load function and libinstrument
// both report the jar.
TEST_P(ObserverJvmProbes, AgentLoadIsSeenInTheJvm) {
    EventRecorder rec;
    ASSERT_TRUE(rec.ok()) << rec.error();
    auto links = probe_jdk(rec.observer(), home_);
    Child jvm = start_java(home_, {"-Xmx64m", "-XX:+EnableDynamicAgentLoading"});
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    std::string jar = java_jar("marker");
    std::string out;
    run_command({bin_path("jvmwatch"), "attach", std::to_string(jvm.pid()), "load", "instrument",
                 "false", jar + "=hello"}, &out);
    auto lib = rec.wait_for([&](const RecordedEvent& e) {
        auto* g = e.as<jw_jvm_agent_event>();
        return g && g->hdr.pid == static_cast<uint32_t>(jvm.pid()) &&
               g->via != JW_AGENT_VIA_ON_ATTACH;
    });
    ASSERT_TRUE(lib) << out;
    auto* g = lib->as<jw_jvm_agent_event>();
    EXPECT_EQ(obs::fixed_string(g->agent), "instrument");
    EXPECT_EQ(obs::fixed_string(g->options), jar + "=hello");
    EXPECT_EQ(g->absolute, 0u);
    auto ia = rec.wait_for([&](const RecordedEvent& e) {
        auto* x = e.as<jw_jvm_agent_event>();
        return x && x->hdr.pid == static_cast<uint32_t>(jvm.pid()) && x->via == JW_AGENT_VIA_ON_ATTACH;
    });
    ASSERT_TRUE(ia);
    EXPECT_EQ(obs::fixed_string(ia->as<jw_jvm_agent_event>()->options), jar + "=hello");
}

INSTANTIATE_TEST_SUITE_P(Jdks, ObserverJvmProbes, ::testing::Values("17", "other"));

}  // namespace
}  // namespace jvmwatch::test
