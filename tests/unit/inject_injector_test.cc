// The injector's decisions, retries, journal and restart logic, with a fake attach engine
// and this test process (or children) standing in for JVMs.  No root, no real attach.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <yaml-cpp/yaml.h>

#include "attach/procfs.h"
#include "jvmwatch/events.h"
#include "tests/common/support.h"

using jvmwatch::test::Child;
#include "userspace/inject/injector.h"
#include "userspace/policy/policy_parser.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::inject {
namespace {

using nlohmann::json;
using test::eventually;
using test::TempDir;

class RecordingSink : public audit::EventSink {
public:
    void emit(json ev) override {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(std::move(ev));
    }
    std::vector<json> of(const std::string& type) const {
        std::lock_guard<std::mutex> lock(mu_);
        std::vector<json> out;
        for (auto& e : events_) if (e["type"] == type) out.push_back(e);
        return out;
    }
    size_t count(const std::string& type) const { return of(type).size(); }

private:
    mutable std::mutex mu_;
    std::vector<json> events_;
};

class RecordingRegistry : public daemon::OwnAttachRegistry {
public:
    void expect_own_attach(pid_t pid, const std::string& rule) override {
        std::lock_guard<std::mutex> lock(mu);
        log.push_back("expect " + std::to_string(pid) + " " + rule);
    }
    void own_attach_done(pid_t pid) override {
        std::lock_guard<std::mutex> lock(mu);
        log.push_back("done " + std::to_string(pid));
    }
    std::mutex mu;
    std::vector<std::string> log;
};

// A scripted attach engine: answers from `outcomes` in turn (then ok), records requests.
class FakeEngine {
public:
    AttachFn fn() {
        return [this](pid_t pid, const attach::Request& r, const attach::Options& o) {
            std::lock_guard<std::mutex> lock(mu_);
            calls.push_back({pid, r, o});
            attach::Result res;
            res.outcome = next_ < outcomes.size() ? outcomes[next_++] : attach::Outcome::ok;
            res.detail = res.outcome == attach::Outcome::ok ? "" : detail;
            return res;
        };
    }
    size_t count() const { std::lock_guard<std::mutex> lock(mu_); return calls.size(); }
    struct Call { pid_t pid; attach::Request req; attach::Options opts; };
    std::vector<Call> calls;
    std::vector<attach::Outcome> outcomes;
    std::string detail = "scripted";

private:
    mutable std::mutex mu_;
    size_t next_ = 0;
};

Child::Spec sleeper() {
    Child::Spec s;
    s.argv = {"sleep", "30"};
    return s;
}

jvm::JvmProcess fake_jvm(pid_t pid, const std::string& main,
                         std::vector<std::string> extra_flags = {}) {
    jvm::JvmProcess j;
    j.pid = pid;
    j.nspid = pid;
    j.start_time_ticks = proc::read_stat("/proc", pid)->start_time_ticks;
    j.kind = jvm::Kind::hotspot;
    j.euid = geteuid();
    j.egid = getegid();
    j.user = "tester";
    j.main = main;
    j.exe = "/usr/bin/java";
    j.jdk_version = "17.0.15";
    j.cmdline = {"java"};
    for (auto& f : extra_flags) j.cmdline.push_back(f);
    j.cmdline.push_back(main);
    j.flags = jvm::parse_attach_flags(j.cmdline, {});
    return j;
}

class InjectInjector : public ::testing::Test {
protected:
    void SetUp() override {
        chmod(dir_.path().c_str(), 0755);
        agent_ = dir_.file("agent.jar");
        std::ofstream(agent_) << "PK fake agent";
        chmod(agent_.c_str(), 0644);
        state_ = dir_.file("state");
    }
    std::shared_ptr<const policy::Policy> make_policy(const std::string& rules,
                                                      const std::string& globals = "") {
        std::vector<std::string> errors;
        policy::ParseOptions o;
        o.trusted_uid = geteuid();
        std::string y = "state_dir: " + state_ + "\n" +
                        (globals.find("rate_limit") == std::string::npos ? "rate_limit: 1000\n" : "") +
                        globals + "rules:\n" + rules;
        auto p = policy::parse_policy(YAML::Load(y), "test.yaml", &errors, o);
        EXPECT_TRUE(p) << (errors.empty() ? "" : errors[0]);
        return std::make_shared<const policy::Policy>(p ? *p : policy::Policy{});
    }
    std::string rule(const std::string& name, const std::string& extra = "") {
        return "  - name: " + name + "\n    match: {main: \"jw.inject.*\"}\n    agent: {jar: " +
               agent_ + ", options: \"k=v\"}\n    backoff_ms: 10\n" + extra;
    }
    std::unique_ptr<Injector> start(std::shared_ptr<const policy::Policy> p, size_t max_tracked = 8192) {
        InjectorDeps d;
        d.max_tracked = max_tracked;
        d.sink = &sink_;
        d.registry = &registry_;
        d.attach = engine_.fn();
        d.vm_initialized_thread = "";  // our fake JVMs have no such thread
        d.agent_owner = geteuid();     // as the parser's trusted_uid above
        d.agents_of = agents_of_;
        std::string err;
        auto inj = Injector::create(std::move(p), d, &err);
        EXPECT_TRUE(inj) << err;
        return inj;
    }
    // The journal as a previous daemon left it (a file of ours, 0600).
    void write_journal(const std::string& text) {
        int fd = open((state_ + "/inject.journal").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
        close(fd);
    }
    void ready(Injector& inj, const jvm::JvmProcess& j) {
        inj.on_jvm_milestone(j.pid, j.start_time_ticks, JW_MS_SIGNAL_DISPATCH, 0);
    }

    TempDir dir_{"jw-inject"};
    std::string agent_, state_;
    RecordingSink sink_;
    RecordingRegistry registry_;
    FakeEngine engine_;
    std::function<std::optional<daemon::AgentInventory>(pid_t, uint64_t)> agents_of_;
};

TEST_F(InjectInjector, AttachesMatchingJvmOnceSignalDispatchIsUp) {
    auto inj = start(make_policy(rule("apm")));
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.matched") == 1; }));
    // Not before the JVM serves SIGQUIT: a thread dump or a dead JVM otherwise.
    usleep(100 * 1000);
    EXPECT_EQ(engine_.count(), 0u);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 1; }));
    ASSERT_EQ(engine_.count(), 1u);
    EXPECT_EQ(engine_.calls[0].req.op, "load");
    // The JVM is given the agent store's copy, named by its content, not the config's path.
    std::string stored = state_ + "/agents/" + policy::sha256_hex("PK fake agent") + ".jar";
    EXPECT_EQ(engine_.calls[0].req.args,
              (std::vector<std::string>{"instrument", "false", stored + "=k=v"}));
    auto ok = sink_.of("inject.ok")[0];
    EXPECT_EQ(ok["agent_path"], stored);
    EXPECT_FALSE(ok["staged"].get<bool>());
    // Identity travels: the engine gets the start time the daemon reported.
    EXPECT_EQ(engine_.calls[0].opts.expect_start_ticks, j.start_time_ticks);
    EXPECT_LE(engine_.calls[0].opts.max_output, 4096u);
    EXPECT_EQ(ok["rule"], "apm");
    EXPECT_EQ(ok["attempts"], 1);
    EXPECT_EQ(ok["jvm"]["pid"], getpid());
    EXPECT_EQ(ok["pid"], getpid());  // top-level, as docs/events.schema.json requires
    // Announced as our own attach, before and after.
    std::lock_guard<std::mutex> lock(registry_.mu);
    EXPECT_EQ(registry_.log, (std::vector<std::string>{"expect " + std::to_string(getpid()) + " apm",
                                                        "done " + std::to_string(getpid())}));
}

TEST_F(InjectInjector, MilestoneBeforeStartStillAttaches) {
    auto inj = start(make_policy(rule("apm")));
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    ready(*inj, j);
    inj->on_jvm_started(j, 0, false);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 1; }));
}

TEST_F(InjectInjector, NonMatchingJvmIsLeftAlone) {
    auto inj = start(make_policy(rule("apm")));
    auto j = fake_jvm(getpid(), "org.other.Main");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    usleep(200 * 1000);
    EXPECT_EQ(engine_.count(), 0u);
    EXPECT_EQ(sink_.count("inject.matched"), 0u);
}

TEST_F(InjectInjector, ExcludedDisabledAndNoDynamicLoadingAreSkippedWithReason) {
    auto inj = start(make_policy(rule("apm", "    exclude: {args: \"--no-agent\"}\n")));
    Child a(sleeper());
    Child b(sleeper());
    auto j1 = fake_jvm(getpid(), "jw.inject.InjectApp", {"--no-agent"});  // before main: still an arg
    auto j2 = fake_jvm(a.pid(), "jw.inject.InjectApp", {"-XX:+DisableAttachMechanism"});
    auto j3 = fake_jvm(b.pid(), "jw.inject.InjectApp", {"-XX:-EnableDynamicAgentLoading"});
    for (auto* j : {&j1, &j2, &j3}) {
        inj->on_jvm_started(*j, 0, false);
        ready(*inj, *j);
    }
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 3; }));
    std::set<std::string> reasons;
    for (auto& e : sink_.of("inject.skipped")) reasons.insert(e["reason"]);
    EXPECT_EQ(reasons, (std::set<std::string>{"excluded", "attach_disabled", "dynamic_loading_disabled"}));
    EXPECT_EQ(engine_.count(), 0u);
}

TEST_F(InjectInjector, DryRunReportsAndAttachesNothing) {
    auto inj = start(make_policy(rule("apm"), "dry_run: true\n"));
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 1; }));
    auto e = sink_.of("inject.skipped")[0];
    EXPECT_EQ(e["reason"], "dry_run");
    EXPECT_EQ(e["agent"]["path"], agent_);
    EXPECT_EQ(engine_.count(), 0u);
}

TEST_F(InjectInjector, RetriesTransientFailuresWithBackoff) {
    engine_.outcomes = {attach::Outcome::unsafe_target, attach::Outcome::timed_out};
    auto inj = start(make_policy(rule("apm", "    retries: 3\n")));
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 1; }));
    EXPECT_EQ(engine_.count(), 3u);
    EXPECT_EQ(sink_.of("inject.ok")[0]["attempts"], 3);
}

TEST_F(InjectInjector, GivesUpAfterRetriesWithTheEngineOutcome) {
    engine_.outcomes = std::vector<attach::Outcome>(5, attach::Outcome::timed_out);
    auto inj = start(make_policy(rule("apm", "    retries: 1\n")));
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.failed") == 1; }));
    auto e = sink_.of("inject.failed")[0];
    EXPECT_EQ(e["outcome"], "timed_out");
    EXPECT_EQ(e["attempts"], 2);
    EXPECT_EQ(engine_.count(), 2u);
}

TEST_F(InjectInjector, AgentErrorIsNotRetried) {
    engine_.outcomes = {attach::Outcome::agent_error};
    auto inj = start(make_policy(rule("apm", "    retries: 5\n")));
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.failed") == 1; }));
    usleep(100 * 1000);
    EXPECT_EQ(engine_.count(), 1u);
    EXPECT_EQ(sink_.of("inject.failed")[0]["outcome"], "agent_error");
}

TEST_F(InjectInjector, WaitsForTheRulesMilestoneAndDelay) {
    auto inj = start(make_policy(rule("m", "    when: {milestone: main}\n") +
                                 "  - name: d\n    match: {main: \"org.*\"}\n    agent: {jar: " +
                                 agent_ + "}\n    when: {delay_ms: 300}\n"));
    Child c(sleeper());
    auto jm = fake_jvm(getpid(), "jw.inject.InjectApp");
    auto jd = fake_jvm(c.pid(), "org.x.Main");
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t exec_ns = uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
    auto t0 = std::chrono::steady_clock::now();
    inj->on_jvm_started(jm, 0, false);
    inj->on_jvm_started(jd, exec_ns, false);
    ready(*inj, jm);
    ready(*inj, jd);
    ASSERT_TRUE(eventually([&] { return engine_.count() == 1; }));
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, std::chrono::milliseconds(290));
    EXPECT_EQ(engine_.calls[0].pid, c.pid());  // the delay rule, not the milestone one
    inj->on_jvm_milestone(jm.pid, jm.start_time_ticks, JW_MS_MAIN, 0);
    ASSERT_TRUE(eventually([&] { return engine_.count() == 2; }));
}

TEST_F(InjectInjector, ExistingJvmsFollowIncludeExisting) {
    auto inj = start(make_policy(rule("no") ));
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, true);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 1; }));
    EXPECT_EQ(sink_.of("inject.skipped")[0]["reason"], "existing");
    EXPECT_EQ(engine_.count(), 0u);
}

TEST_F(InjectInjector, DoneInJournalIsNotAttachedAgainAfterRestart) {
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    {
        auto inj = start(make_policy(rule("apm")));
        inj->on_jvm_started(j, 0, false);
        ready(*inj, j);
        ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 1; }));
    }  // clean stop
    auto inj = start(make_policy(rule("apm", "    include_existing: true\n")));
    inj->on_jvm_started(j, 0, true);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 1; }));
    EXPECT_EQ(sink_.of("inject.skipped")[0]["reason"], "already_injected");
    EXPECT_EQ(engine_.count(), 1u);
}

// A journal as a crashed daemon leaves it: a session without stop, an attach in progress.
std::string crashed_journal(const jvm::JvmProcess& j, const std::string& host_path,
                            int64_t t_ms = 1) {
    std::string boot = *proc::read_file("/proc/sys/kernel/random/boot_id");
    boot = boot.substr(0, boot.find('\n'));
    json s{{"session", "start"}, {"boot", boot}, {"since", 0}, {"t", 1}};
    json e{{"pid", j.pid}, {"start", j.start_time_ticks}, {"boot", boot}, {"state", "in_progress"},
           {"rule", "apm"}, {"agent", host_path}, {"host_path", host_path}, {"t", t_ms}};
    return s.dump() + "\n" + e.dump() + "\n";
}

TEST_F(InjectInjector, InProgressAfterCrashIsConfirmedAgainstTheJvm) {
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    mkdir(state_.c_str(), 0700);
    write_journal(crashed_journal(j, agent_));
    // "The JVM" (this process) holds the agent open, as a JVM that loaded it does.
    int fd = open(agent_.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    auto inj = start(make_policy(rule("apm")));
    inj->on_jvm_started(j, 0, true);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 1; }));
    close(fd);
    auto e = sink_.of("inject.skipped")[0];
    EXPECT_EQ(e["reason"], "already_injected");
    EXPECT_EQ(e["detail"], "agent found loaded in the JVM");
    EXPECT_EQ(engine_.count(), 0u);
}

TEST_F(InjectInjector, InProgressAfterCrashNotLoadedIsAttached) {
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    mkdir(state_.c_str(), 0700);
    write_journal(crashed_journal(j, agent_));
    auto inj = start(make_policy(rule("apm")));  // include_existing: false, yet due
    inj->on_jvm_started(j, 0, true);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 1; }));
    EXPECT_EQ(engine_.count(), 1u);
}

TEST_F(InjectInjector, RecentInProgressWaitsForTheOldAttachToSettle) {
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    mkdir(state_.c_str(), 0700);
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    write_journal(crashed_journal(j, agent_, now_ms));
    auto inj = start(make_policy(rule("apm", "    timeout_ms: 100\n")));
    inj->on_jvm_started(j, 0, true);
    ready(*inj, j);
    // The dead daemon's request could still be served until t + timeout + 2 s.
    usleep(1500 * 1000);
    EXPECT_EQ(engine_.count(), 0u);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 1; }));
    EXPECT_EQ(sink_.count("inject.matched"), 1u);
}

TEST_F(InjectInjector, JvmStartedWhileCrashedDaemonWasDownIsNotMissed) {
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    mkdir(state_.c_str(), 0700);
    std::string journal = crashed_journal(j, agent_);
    write_journal(journal.substr(0, journal.find('\n') + 1));
    auto inj = start(make_policy(rule("apm")));
    inj->on_jvm_started(j, 0, true);  // "existing", but due to the crashed session
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 1; }));
}

TEST_F(InjectInjector, RateLimitSpacesAttaches) {
    auto inj = start(make_policy(rule("apm"), "rate_limit: 4\nmax_in_flight: 4\n"));
    std::vector<std::unique_ptr<Child>> kids;
    for (int i = 0; i < 6; ++i) kids.push_back(std::make_unique<Child>(sleeper()));
    auto t0 = std::chrono::steady_clock::now();
    for (auto& k : kids) {
        auto j = fake_jvm(k->pid(), "jw.inject.InjectApp");
        inj->on_jvm_started(j, 0, false);
        ready(*inj, j);
    }
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 6; }));
    // Burst of 4, then 4/s: the last two need >= ~0.5 s.
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(400));
}

TEST_F(InjectInjector, ExitedJvmIsSkipped) {
    auto inj = start(make_policy(rule("apm", "    when: {delay_ms: 200}\n")));
    auto c = std::make_unique<Child>(sleeper());
    auto j = fake_jvm(c->pid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    c.reset();  // killed and reaped
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 1; }));
    EXPECT_EQ(sink_.of("inject.skipped")[0]["reason"], "exited");
    EXPECT_EQ(engine_.count(), 0u);
}

TEST_F(InjectInjector, FullTableSweepsJvmsWhoseExitWasMissed) {
    auto inj = start(make_policy(rule("apm")), 1);
    auto gone = std::make_unique<Child>(sleeper());
    auto jg = fake_jvm(gone->pid(), "org.other.Main");
    inj->on_jvm_started(jg, 0, false);
    usleep(50 * 1000);
    gone.reset();  // exits; nobody calls on_jvm_exited
    Child c(sleeper());
    auto j = fake_jvm(c.pid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 1; }));
    EXPECT_EQ(sink_.count("inject.skipped"), 0u);
    // Still full with a live JVM: the next one is reported, not silently lost.
    Child c2(sleeper());
    inj->on_jvm_started(fake_jvm(c2.pid(), "jw.inject.InjectApp"), 0, false);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 1; }));
    EXPECT_EQ(sink_.of("inject.skipped")[0]["reason"], "overloaded");
    EXPECT_EQ(inj->stats().dropped, 1u);
}

TEST_F(InjectInjector, ReloadAppliesNewRules) {
    auto inj = start(make_policy(rule("old")));
    inj->set_policy(make_policy("  - name: new\n    match: {main: \"jw.inject.*\"}\n    agent: {jar: " +
                                agent_ + "}\n"));
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 1; }));
    EXPECT_EQ(sink_.of("inject.ok")[0]["rule"], "new");
}

// The agent file is checked and hashed again at every attach: content other than what the
// loaded config accepted is reported and not loaded, until a reload accepts it.
TEST_F(InjectInjector, AgentChangedAfterLoadIsNotLoadedUntilAReloadAcceptsIt) {
    auto inj = start(make_policy(rule("apm")));
    std::ofstream(agent_) << "PK other bytes";  // replaced by root after the load
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 1; }));
    auto e = sink_.of("inject.skipped")[0];
    EXPECT_EQ(e["reason"], "agent_changed");
    std::string detail = e["detail"];
    EXPECT_NE(detail.find("has sha256 " + policy::sha256_hex("PK other bytes") + " now, the loaded config accepted " +
                          policy::sha256_hex("PK fake agent")),
              std::string::npos) << detail;
    EXPECT_EQ(engine_.count(), 0u);
    // Nothing of the new content was put in the store either.
    EXPECT_FALSE(std::filesystem::exists(state_ + "/agents/" + policy::sha256_hex("PK other bytes") + ".jar"));
    // A reload accepts the new content: the next JVM gets it.
    inj->set_policy(make_policy(rule("apm")));
    Child c(sleeper());
    auto j2 = fake_jvm(c.pid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j2, 0, false);
    ready(*inj, j2);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 1; }));
    std::string stored = state_ + "/agents/" + policy::sha256_hex("PK other bytes") + ".jar";
    EXPECT_EQ(sink_.of("inject.ok")[0]["agent_path"], stored);
}

// A sha256 pin is checked again at attach time, not only at load.
TEST_F(InjectInjector, PinIsCheckedAgainAtAttach) {
    std::string pin = policy::sha256_hex("PK fake agent");
    auto inj = start(make_policy("  - name: apm\n    match: {main: \"jw.inject.*\"}\n    agent: {jar: " +
                                 agent_ + ", sha256: \"" + pin + "\"}\n"));
    std::ofstream(agent_) << "PK evil agent";
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 1; }));
    auto e = sink_.of("inject.skipped")[0];
    EXPECT_EQ(e["reason"], "agent_changed");
    EXPECT_NE(e["detail"].get<std::string>().find("the rule pins " + pin), std::string::npos) << e["detail"];
    EXPECT_EQ(engine_.count(), 0u);
}

// An agent made unsafe after load (group-writable) is refused at attach too.
TEST_F(InjectInjector, AgentMadeWritableAfterLoadIsRefused) {
    auto inj = start(make_policy(rule("apm")));
    chmod(agent_.c_str(), 0666);
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 1; }));
    auto e = sink_.of("inject.skipped")[0];
    EXPECT_EQ(e["reason"], "agent_changed");
    EXPECT_NE(e["detail"].get<std::string>().find("writable by group or others"), std::string::npos) << e["detail"];
    EXPECT_EQ(engine_.count(), 0u);
}

// A JVM's whole reply does not go into one event: a few KiB at most.
TEST_F(InjectInjector, FailedEventCarriesABoundedDetail) {
    engine_.outcomes = {attach::Outcome::agent_error};
    engine_.detail = std::string(1 << 20, 'x');
    auto inj = start(make_policy(rule("apm")));
    auto j = fake_jvm(getpid(), "jw.inject.InjectApp");
    inj->on_jvm_started(j, 0, false);
    ready(*inj, j);
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.failed") == 1; }));
    std::string detail = sink_.of("inject.failed")[0]["detail"];
    EXPECT_LE(detail.size(), 4096u);
    EXPECT_GE(detail.size(), 1024u);
    EXPECT_EQ(detail.substr(detail.size() - 12), " [truncated]");
}

// Malformed journal lines reach the injector's stats (and the daemon's log).
TEST_F(InjectInjector, MalformedJournalLinesAreCountedInStats) {
    mkdir(state_.c_str(), 0700);
    write_journal("{\"pid\": \"x\", \"state\": \"done\"}\n{broken\n");
    auto inj = start(make_policy(rule("apm")));
    ASSERT_TRUE(inj);
    EXPECT_EQ(inj->stats().journal_lines_skipped, 2u);
}

// The daemon's inventory of a JVM's agents, as agents_of would answer.
daemon::AgentInventory inventory_with(const std::string& path, const std::string& sha) {
    daemon::StaticAgent a;
    a.kind = "java";
    a.path = path;
    a.file = artifacts::AgentArtifact{};
    a.file->found = true;
    a.file->sha256 = sha;
    daemon::AgentInventory inv;
    inv.static_agents = daemon::StaticAgents{{a}, 0};
    return inv;
}

TEST_F(InjectInjector, JvmCarryingTheAgentOrAConflictIsSkipped) {
    Child other(sleeper());
    std::string ours = policy::sha256_hex("PK fake agent");
    agents_of_ = [&](pid_t pid, uint64_t) -> std::optional<daemon::AgentInventory> {
        if (pid == getpid()) return inventory_with("/elsewhere/copy.jar", ours);
        return inventory_with("/opt/dd/dd-java-agent.jar", std::string(64, 'b'));
    };
    auto inj = start(make_policy(rule("apm", "    conflicts: [\"*/dd-java-agent*.jar\"]\n")));
    auto j1 = fake_jvm(getpid(), "jw.inject.InjectApp");
    auto j2 = fake_jvm(other.pid(), "jw.inject.InjectApp");
    for (auto* j : {&j1, &j2}) {
        inj->on_jvm_started(*j, 0, false);
        ready(*inj, *j);
    }
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 2; }));
    std::map<std::string, std::string> by_reason;
    for (auto& e : sink_.of("inject.skipped")) by_reason[e["reason"]] = e["detail"];
    ASSERT_EQ(by_reason.size(), 2u);
    EXPECT_NE(by_reason["already_present"].find("-javaagent:/elsewhere/copy.jar"), std::string::npos);
    EXPECT_NE(by_reason["conflict"].find("/opt/dd/dd-java-agent.jar"), std::string::npos);
    EXPECT_EQ(engine_.count(), 0u);
}

TEST_F(InjectInjector, OkSaysWhetherTheAgentsWereKnownAndWhetherJep451Warns) {
    Child other(sleeper());
    agents_of_ = [&](pid_t pid, uint64_t) -> std::optional<daemon::AgentInventory> {
        if (pid == getpid()) return inventory_with("/opt/unrelated.jar", std::string(64, 'c'));
        return std::nullopt;  // enrichment failed: unknown
    };
    auto inj = start(make_policy(rule("apm")));
    auto j1 = fake_jvm(getpid(), "jw.inject.InjectApp");
    j1.jdk_version = "25";
    auto j2 = fake_jvm(other.pid(), "jw.inject.InjectApp", {"-XX:+EnableDynamicAgentLoading"});
    j2.jdk_version = "21.0.4";
    for (auto* j : {&j1, &j2}) {
        inj->on_jvm_started(*j, 0, false);
        ready(*inj, *j);
    }
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.ok") == 2; }));
    for (auto& e : sink_.of("inject.ok")) {
        bool first = e["jvm"]["pid"] == getpid();
        EXPECT_EQ(e["dynamic_load_warning"], first) << e.dump();
        EXPECT_EQ(e["agent_inventory"], first ? "checked" : "unknown") << e.dump();
    }
}

TEST_F(InjectInjector, RuleMaySkipJvmsThatWouldPrintTheJep451Warning) {
    Child other(sleeper());
    auto inj = start(make_policy(rule("apm", "    on_dynamic_load_warning: skip\n")));
    auto j1 = fake_jvm(getpid(), "jw.inject.InjectApp");
    j1.jdk_version = "25.0.1";
    auto j2 = fake_jvm(other.pid(), "jw.inject.InjectApp");  // 17: no warning
    for (auto* j : {&j1, &j2}) {
        inj->on_jvm_started(*j, 0, false);
        ready(*inj, *j);
    }
    ASSERT_TRUE(eventually([&] { return sink_.count("inject.skipped") == 1 && sink_.count("inject.ok") == 1; }));
    auto e = sink_.of("inject.skipped")[0];
    EXPECT_EQ(e["reason"], "dynamic_load_warning");
    EXPECT_EQ(e["jvm"]["pid"], getpid());
    EXPECT_NE(e["detail"].get<std::string>().find("JEP 451"), std::string::npos);
    EXPECT_EQ(sink_.of("inject.ok")[0]["jvm"]["pid"], other.pid());
}

}  // namespace
}  // namespace jvmwatch::inject
