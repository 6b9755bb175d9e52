// Auto-attach end to end: build/bin/jvmwatchd with an inject: policy, real JDK 17 JVMs,
// agents built from tests/java (jw.inject.*).  Root only.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attach/procfs.h"
#include "tests/common/http_get.h"
#include "tests/common/prom_text.h"
#include "tests/common/support.h"
#include "userspace/audit/json_schema.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// JVM options that let 50 JVMs share 2 cores and start quickly.
const std::vector<std::string> kSmallJvm = {"-Xmx32m", "-Xss256k", "-XX:TieredStopAtLevel=1",
                                            "-XX:+UseSerialGC", "-Xshare:auto"};

std::string abs_jar(const std::string& name) { return fs::canonical(java_jar(name)).string(); }

// A directory outside /tmp (a JVM with a private /tmp must still see it), removed at the end.
class SharedDir {
public:
    SharedDir() {
        char tmpl[] = "/var/tmp/jw-inject.XXXXXX";
        if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
        path_ = tmpl;
        chmod(path_.c_str(), 0755);
    }
    ~SharedDir() { std::error_code ec; fs::remove_all(path_, ec); }
    std::string file(const std::string& n) const { return path_ + "/" + n; }
    const std::string& path() const { return path_; }
private:
    std::string path_;
};

std::vector<json> read_events(const std::string& log) {
    std::vector<json> out;
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
        auto j = json::parse(line, nullptr, false);
        if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
}

std::vector<json> events_of(const std::string& log, const std::string& type, pid_t pid = 0) {
    std::vector<json> out;
    for (auto& e : read_events(log))
        if (e.value("type", "") == type && (pid == 0 || (e.contains("jvm") && e["jvm"].value("pid", 0) == pid)))
            out.push_back(e);
    return out;
}

// Lines "AGENT <nanos> <pid> <options>" of the marker agent, counted per pid.
std::map<long, int> marker_counts(const std::string& file) {
    std::map<long, int> out;
    std::ifstream in(file);
    std::string word;
    long nanos, pid;
    std::string rest;
    while (in >> word >> nanos >> pid && std::getline(in, rest)) ++out[pid];
    return out;
}

class InjectDaemon : public ::testing::Test {
protected:
    void SetUp() override {
        // App classes only: the agent classes must come from the agent jar (as for any
        // real agent), so the JVM holds the jar open and a restart can confirm it.
        fs::create_directories(dir_.file("cp/jw/inject"));
        for (auto c : {"InjectApp", "Work", "OtherApp"})
            fs::copy_file(java_classes() + "/jw/inject/" + c + ".class",
                          dir_.file(std::string("cp/jw/inject/") + c + ".class"));
        tag_ = fs::path(dir_.path()).filename().string();
        log_ = dir_.file("audit.jsonl");
        cfg_ = dir_.file("jvmwatchd.yaml");
    }

    // Every event the daemon wrote, inject.* included, must conform to the schema.
    void TearDown() override {
        if (!fs::exists(log_)) return;
        std::string err;
        auto schema = audit::JsonSchema::from_file(source_dir() + "/docs/events.schema.json", &err);
        ASSERT_TRUE(schema) << err;
        for (auto& e : read_events(log_)) {
            std::vector<std::string> errors;
            EXPECT_TRUE(schema->validate(e, &errors))
                << e.dump() << "\n" << (errors.empty() ? "" : errors[0]);
        }
    }

    // A policy whose rules only match JVMs of this test (by --tag), so concurrent runs
    // and other JVMs on the host are left alone.
    std::string policy(const std::string& agent_yaml, const std::string& extra_rule = "",
                       const std::string& globals = "") {
        return "inject:\n  state_dir: " + dir_.file("state") + "\n  max_in_flight: 2\n" + globals +
               "  rules:\n    - name: test-rule\n      match:\n        main: {glob: \"jw.inject.InjectApp\"}\n"
               "        args: {glob: \"" + tag_ + "\"}\n      agent: " + agent_yaml + "\n" + extra_rule;
    }
    std::string marker_agent(const std::string& marker, const std::string& more = "") {
        return "{jar: " + abs_jar("inject_marker") + ", options: \"marker=" + marker + more + "\"}";
    }
    void write_config(const std::string& text) { std::ofstream(cfg_) << text; }

    std::unique_ptr<Child> start_daemon() {
        Child::Spec s;
        s.argv = {bin_path("jvmwatchd"), "--config", cfg_, "--audit-log", log_, "--metrics-listen",
                  "127.0.0.1:0"};
        auto d = std::make_unique<Child>(s);
        EXPECT_TRUE(d->wait_for_output("watching:", std::chrono::seconds(60))) << d->output();
        return d;
    }
    void stop_daemon(std::unique_ptr<Child>& d) {
        d->kill(SIGTERM);
        EXPECT_TRUE(d->wait_exit(std::chrono::seconds(30)));
        d.reset();
    }
    std::unique_ptr<Child> start_app(const std::string& main = "jw.inject.InjectApp",
                                     std::vector<std::string> extra = {},
                                     std::optional<uid_t> uid = std::nullopt,
                                     const std::string& java = "java") {
        Child::Spec s;
        s.uid = uid;
        s.gid = uid;
        s.argv = {java};
        for (auto& f : kSmallJvm) s.argv.push_back(f);
        for (auto& f : extra) s.argv.push_back(f);
        for (auto& a : std::vector<std::string>{"-cp", dir_.file("cp"), main, "--tag", tag_, "--run-ms", "120000"})
            s.argv.push_back(a);
        s.cwd = dir_.path();  // attach trigger files go to the JVM's cwd: not the repo
        return std::make_unique<Child>(s);
    }

    SharedDir dir_;
    std::string tag_, log_, cfg_;
};

TEST_F(InjectDaemon, MainClassRuleInjectsOnlyTheMatchingJvmAndPassesOptions) {
    JW_REQUIRE_ROOT();
    std::string marker = dir_.file("marker");
    write_config(policy(marker_agent(marker, ",greeting=hello")));
    auto d = start_daemon();
    auto app = start_app();
    auto other = start_app("jw.inject.OtherApp");
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok", app->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    ASSERT_TRUE(other->wait_for_output("READY"));
    usleep(500 * 1000);  // room for a wrong attach to show up
    auto counts = marker_counts(marker);
    EXPECT_EQ(counts.size(), 1u);
    EXPECT_EQ(counts[app->pid()], 1);
    std::ifstream in(marker);
    std::string line;
    std::getline(in, line);
    EXPECT_NE(line.find("marker=" + marker + ",greeting=hello"), std::string::npos) << line;
    auto ok = events_of(log_, "inject.ok", app->pid())[0];
    EXPECT_EQ(ok["rule"], "test-rule");
    EXPECT_EQ(ok["attempts"], 1);
    EXPECT_TRUE(ok["ms_from_exec"].is_number());
    EXPECT_EQ(events_of(log_, "inject.matched", other->pid()).size(), 0u);
    // The daemon's own attach is labelled with the rule in the attach record.
    auto attaches = events_of(log_, "attach");
    bool own = false;
    for (auto& a : attaches)
        if (a.value("self", false) && a.value("rule", "") == "test-rule") own = true;
    EXPECT_TRUE(own);
    EXPECT_TRUE(app->alive());
    EXPECT_TRUE(other->alive());
    EXPECT_EQ(app->output().find("Full thread dump"), std::string::npos);
    stop_daemon(d);
}

TEST_F(InjectDaemon, JavassistAgentTracesApplicationMethods) {
    JW_REQUIRE_ROOT();
    write_config(policy("{jar: " + abs_jar("inject_trace") + ", options: \"class=jw.inject.Work\"}"));
    auto d = start_daemon();
    auto app = start_app();
    ASSERT_TRUE(app->wait_for_output("TraceAgent: instrumenting jw.inject.Work", std::chrono::seconds(60)))
        << app->output() << d->output();
    ASSERT_TRUE(app->wait_for_output("EXIT Work.step")) << app->output();
    std::string out = app->output();
    auto enter = out.find("ENTER Work.step");
    ASSERT_NE(enter, std::string::npos);
    // Nested and ordered: step enters, compute runs inside it, step exits.
    auto compute_in = out.find("ENTER Work.compute", enter);
    auto compute_out = out.find("EXIT Work.compute", compute_in);
    auto exit = out.find("EXIT Work.step", compute_out);
    EXPECT_NE(compute_in, std::string::npos);
    EXPECT_NE(compute_out, std::string::npos);
    EXPECT_NE(exit, std::string::npos);
    EXPECT_EQ(out.find("Full thread dump"), std::string::npos);
    stop_daemon(d);
}

TEST_F(InjectDaemon, FiftyJvmsStartedAtOnceAreEachInjectedExactlyOnce) {
    JW_REQUIRE_ROOT();
    std::string marker = dir_.file("marker");
    write_config(policy(marker_agent(marker), "      retries: 5\n      timeout_ms: 30000\n",
                        "  rate_limit: 100\n"));
    auto d = start_daemon();
    std::vector<std::unique_ptr<Child>> apps;
    for (int i = 0; i < 50; ++i) apps.push_back(start_app());
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok").size() >= 50; },
                           std::chrono::seconds(240)))
        << events_of(log_, "inject.ok").size() << " ok, failed: "
        << (events_of(log_, "inject.failed").empty() ? "" : events_of(log_, "inject.failed")[0].dump());
    usleep(500 * 1000);
    auto counts = marker_counts(marker);
    for (auto& a : apps) {
        auto oks = events_of(log_, "inject.ok", a->pid());
        EXPECT_EQ(counts[a->pid()], 1) << "pid " << a->pid() << ": " << json(oks).dump();
        EXPECT_TRUE(a->alive()) << "pid " << a->pid() << " died";
        EXPECT_EQ(a->output().find("Full thread dump"), std::string::npos) << a->output();
    }
    EXPECT_EQ(counts.size(), 50u);
    EXPECT_EQ(events_of(log_, "inject.ok").size(), 50u);
    EXPECT_EQ(events_of(log_, "inject.failed").size(), 0u);
    stop_daemon(d);
}

TEST_F(InjectDaemon, KillNineWhileJvmsStartThenRestartInjectsEachExactlyOnce) {
    JW_REQUIRE_ROOT();
    std::string marker = dir_.file("marker");
    // timeout_ms bounds how long the restarted daemon lets an in-progress attach settle.
    write_config(policy(marker_agent(marker), "      retries: 5\n      timeout_ms: 5000\n",
                        "  rate_limit: 100\n"));
    auto d = start_daemon();
    std::vector<std::unique_ptr<Child>> apps;
    for (int i = 0; i < 12; ++i) apps.push_back(start_app());
    // Crash in the middle: some JVMs injected, some in flight, some not yet seen.
    eventually([&] { return events_of(log_, "inject.ok").size() >= 3; }, std::chrono::seconds(60));
    d->kill(SIGKILL);
    d->wait_exit(std::chrono::seconds(10));
    d.reset();
    for (int i = 0; i < 6; ++i) apps.push_back(start_app());  // started while it is down
    for (auto& a : apps) ASSERT_TRUE(a->wait_for_output("READY", std::chrono::seconds(60)));
    auto d2 = start_daemon();
    ASSERT_TRUE(eventually([&] {
        auto c = marker_counts(marker);
        for (auto& a : apps) if (c[a->pid()] < 1) return false;
        return true;
    }, std::chrono::seconds(120))) << d2->output();
    usleep(3000 * 1000);  // room for a second (wrong) attach to show up
    auto counts = marker_counts(marker);
    // The restarted daemon knew some JVMs were done (journal or found loaded).
    auto skipped = events_of(log_, "inject.skipped");
    EXPECT_GE(skipped.size(), 1u);
    std::map<std::string, int> why;
    for (auto& e : skipped) ++why[e.value("reason", "") + " (" + e.value("detail", "") + ")"];
    for (auto& [k, n] : why) std::cout << "  after restart: " << n << " x skipped " << k << "\n";
    std::cout << "  inject.ok events in the log: " << events_of(log_, "inject.ok").size() << "\n";
    for (auto& a : apps) {
        EXPECT_EQ(counts[a->pid()], 1) << "pid " << a->pid();
        EXPECT_TRUE(a->alive());
        EXPECT_EQ(a->output().find("Full thread dump"), std::string::npos);
    }
    stop_daemon(d2);
}

// The java process of `unshare ... java --tag TAG`: in a new pid namespace, so found by
// its command line.
pid_t find_java_with(const std::string& tag) {
    for (pid_t p : proc::list_pids("/proc")) {
        auto cmd = proc::read_cmdline("/proc", p);
        if (cmd.empty() || cmd[0] != "java") continue;
        for (auto& a : cmd) if (a == tag) return p;
    }
    return 0;
}

TEST_F(InjectDaemon, JvmWithPrivateTmpInOwnNamespacesGetsAStagedCopy) {
    JW_REQUIRE_ROOT();
    std::string marker = dir_.file("marker");
    write_config(policy(marker_agent(marker)));
    auto d = start_daemon();
    std::string java = "exec java";
    for (auto& f : kSmallJvm) java += " " + f;
    java += " -cp " + dir_.file("cp") + " jw.inject.InjectApp --tag " + tag_ + " --run-ms 120000";
    Child::Spec s;
    s.argv = {"unshare", "--pid", "--mount", "--fork", "--mount-proc", "sh", "-c",
              "mount -t tmpfs tmpfs /tmp && " + java};
    s.cwd = dir_.path();
    Child ns(s);
    pid_t pid = 0;
    ASSERT_TRUE(eventually([&] { return (pid = find_java_with(tag_)) != 0; }, std::chrono::seconds(30)));
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok", pid).size() == 1; },
                           std::chrono::seconds(60))) << d->output() << ns.output();
    auto ok = events_of(log_, "inject.ok", pid)[0];
    EXPECT_TRUE(ok["staged"].get<bool>());
    std::string inside = ok["agent_path"];
    EXPECT_EQ(inside.rfind("/tmp/.jvmwatch-agent-", 0), 0u) << inside;
    // The copy lives in the JVM's private /tmp, not in ours.
    std::string host_view = "/proc/" + std::to_string(pid) + "/root" + inside;
    struct stat st;
    ASSERT_EQ(lstat(host_view.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_uid, 0u);  // the target's euid
    EXPECT_EQ(st.st_mode & 0777, 0444u);
    EXPECT_NE(lstat(inside.c_str(), &st), 0);
    auto counts = marker_counts(marker);
    EXPECT_EQ(counts.size(), 1u);  // the agent ran once (it reports its namespace pid)
    EXPECT_EQ(ns.output().find("Full thread dump"), std::string::npos);
    stop_daemon(d);
}

// A native (JVMTI) agent built here: Agent_OnAttach appends "NATIVE <options>" to the file
// named by its options.
std::string build_native_agent(const std::string& dir) {
    std::string src = dir + "/native_agent.c", so = dir + "/native_agent.so";
    std::ofstream(src) << "#include <stdio.h>\n"
                          "__attribute__((visibility(\"default\")))\n"
                          "int Agent_OnAttach(void* vm, char* options, void* reserved) {\n"
                          "    (void)vm; (void)reserved;\n"
                          "    FILE* f = fopen(options, \"a\");\n"
                          "    if (!f) return 1;\n"
                          "    fprintf(f, \"NATIVE %s\\n\", options);\n"
                          "    fclose(f);\n"
                          "    return 0;\n"
                          "}\n";
    std::string out;
    if (run_command({"gcc", "-shared", "-fPIC", "-O1", "-o", so, src}, &out) != 0) return "";
    chmod(so.c_str(), 0755);
    return so;
}

int count_lines(const std::string& file, const std::string& prefix) {
    std::ifstream in(file);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) n += line.rfind(prefix, 0) == 0;
    return n;
}

TEST_F(InjectDaemon, NativeAgentIsLoadedWithOptions) {
    JW_REQUIRE_ROOT();
    std::string so = build_native_agent(dir_.path());
    ASSERT_FALSE(so.empty()) << "gcc failed";
    std::string marker = dir_.file("native-marker");
    write_config(policy("{native: " + so + ", options: \"" + marker + "\"}"));
    auto d = start_daemon();
    auto app = start_app();
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok", app->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    EXPECT_EQ(count_lines(marker, "NATIVE " + marker), 1);
    EXPECT_EQ(events_of(log_, "inject.ok", app->pid())[0]["agent"]["kind"], "native");
    stop_daemon(d);
}

// With its journal gone, a restarted daemon (include_existing: true) must find the agent
// in the JVM itself (java agent: the jar among /proc/PID/fd; native: in /proc/PID/maps)
// instead of loading it a second time.
TEST_F(InjectDaemon, AgentFoundInTheJvmIsNotLoadedAgainWithoutJournal) {
    JW_REQUIRE_ROOT();
    std::string so = build_native_agent(dir_.path());
    ASSERT_FALSE(so.empty()) << "gcc failed";
    std::string jm = dir_.file("jar-marker"), nm = dir_.file("native-marker");
    std::string second = "    - name: native-rule\n      match:\n        main: {glob: \"jw.inject.OtherApp\"}\n"
                         "        args: {glob: \"" + tag_ + "\"}\n      agent: {native: " + so +
                         ", options: \"" + nm + "\"}\n";
    write_config(policy(marker_agent(jm), second, "  include_existing: true\n"));
    auto d = start_daemon();
    auto java_app = start_app();
    auto native_app = start_app("jw.inject.OtherApp");
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok").size() == 2; },
                           std::chrono::seconds(60))) << d->output();
    stop_daemon(d);
    fs::remove_all(dir_.file("state"));
    auto d2 = start_daemon();
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.skipped").size() == 2; },
                           std::chrono::seconds(60))) << d2->output();
    for (auto& e : events_of(log_, "inject.skipped")) {
        EXPECT_EQ(e["reason"], "already_injected");
        EXPECT_EQ(e["detail"], "agent found loaded in the JVM");
    }
    usleep(500 * 1000);
    EXPECT_EQ(marker_counts(jm)[java_app->pid()], 1);
    EXPECT_EQ(count_lines(nm, "NATIVE "), 1);
    EXPECT_EQ(events_of(log_, "inject.ok").size(), 2u);
    stop_daemon(d2);
}

TEST_F(InjectDaemon, JvmOfAnotherUserIsInjectedByUserRule) {
    JW_REQUIRE_ROOT();
    // The agent writes as the JVM's user (nobody): give it a writable directory.
    fs::create_directories(dir_.file("out"));
    chmod(dir_.file("out").c_str(), 0777);
    std::string marker = dir_.file("out/marker");
    write_config("inject:\n  state_dir: " + dir_.file("state") + "\n  rules:\n"
                 "    - name: by-user\n      match:\n        uid: 65534\n"
                 "        args: {glob: \"" + tag_ + "\"}\n      agent: " + marker_agent(marker) + "\n");
    auto d = start_daemon();
    auto mine = start_app();                                   // root: not matched
    auto theirs = start_app("jw.inject.InjectApp", {}, 65534);  // nobody
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok", theirs->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output() << theirs->output();
    ASSERT_TRUE(mine->wait_for_output("READY"));
    usleep(500 * 1000);
    auto counts = marker_counts(marker);
    EXPECT_EQ(counts.size(), 1u);
    EXPECT_EQ(counts[theirs->pid()], 1);
    EXPECT_EQ(events_of(log_, "inject.ok", theirs->pid())[0]["jvm"]["uid"], 65534);
    EXPECT_TRUE(theirs->alive());
    stop_daemon(d);
}

TEST_F(InjectDaemon, DryRunReportsAndAttachesNothing) {
    JW_REQUIRE_ROOT();
    std::string marker = dir_.file("marker");
    write_config(policy(marker_agent(marker), "", "  dry_run: true\n"));
    auto d = start_daemon();
    auto app = start_app();
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.skipped", app->pid()).size() == 1; },
                           std::chrono::seconds(60)));
    auto e = events_of(log_, "inject.skipped", app->pid())[0];
    EXPECT_EQ(e["reason"], "dry_run");
    EXPECT_EQ(e["rule"], "test-rule");
    EXPECT_EQ(e["agent"]["path"], abs_jar("inject_marker"));
    ASSERT_TRUE(app->wait_for_output("READY"));
    usleep(1000 * 1000);
    EXPECT_FALSE(fs::exists(marker));
    EXPECT_EQ(events_of(log_, "inject.ok").size(), 0u);
    for (auto& a : events_of(log_, "attach")) EXPECT_FALSE(a.value("self", false)) << a.dump();
    stop_daemon(d);
}

TEST_F(InjectDaemon, DisabledAttachIsSkippedWithReasonAndNotSignalled) {
    JW_REQUIRE_ROOT();
    write_config(policy(marker_agent(dir_.file("marker"))));
    auto d = start_daemon();
    auto app = start_app("jw.inject.InjectApp", {"-XX:+DisableAttachMechanism"});
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.skipped", app->pid()).size() == 1; },
                           std::chrono::seconds(60)));
    EXPECT_EQ(events_of(log_, "inject.skipped", app->pid())[0]["reason"], "attach_disabled");
    ASSERT_TRUE(app->wait_for_output("READY"));
    usleep(300 * 1000);
    EXPECT_EQ(app->output().find("Full thread dump"), std::string::npos);
    stop_daemon(d);
}

TEST_F(InjectDaemon, BadConfigIsRefusedWithFileLineAndNonZeroExit) {
    JW_REQUIRE_ROOT();
    write_config(policy("{jar: " + abs_jar("inject_marker") + "}") +
                 "    - name: broken\n      match: {main: {regex: \"a(b\"}}\n      agent: {jar: " +
                 abs_jar("inject_marker") + "}\n");
    std::string out;
    int rc = run_command({bin_path("jvmwatchd"), "--config", cfg_, "--audit-log", log_}, &out,
                         std::chrono::seconds(60));
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find(cfg_ + ":11: rule \"broken\".match.main: bad regex \"a(b\": missing ): a(b"),
              std::string::npos) << out;
}

TEST_F(InjectDaemon, SighupWithBadConfigKeepsTheOldPolicy) {
    JW_REQUIRE_ROOT();
    std::string m1 = dir_.file("m1"), m2 = dir_.file("m2");
    write_config(policy(marker_agent(m1)));
    auto d = start_daemon();
    write_config(policy("{jar: " + dir_.file("missing.jar") + "}"));
    d->kill(SIGHUP);
    ASSERT_TRUE(eventually([&] { return !events_of(log_, "daemon.reload").empty(); }, std::chrono::seconds(30)));
    auto r = events_of(log_, "daemon.reload")[0];
    EXPECT_FALSE(r["ok"].get<bool>());
    EXPECT_NE(r.dump().find("missing.jar does not exist"), std::string::npos) << r.dump();
    auto a1 = start_app();
    ASSERT_TRUE(eventually([&] { return marker_counts(m1)[a1->pid()] == 1; }, std::chrono::seconds(60)));
    // A good config then takes over.
    write_config(policy(marker_agent(m2)));
    d->kill(SIGHUP);
    ASSERT_TRUE(eventually([&] { return events_of(log_, "daemon.reload").size() == 2; }, std::chrono::seconds(30)));
    auto a2 = start_app();
    ASSERT_TRUE(eventually([&] { return marker_counts(m2)[a2->pid()] == 1; }, std::chrono::seconds(60)));
    EXPECT_EQ(marker_counts(m1).count(a2->pid()), 0u);
    stop_daemon(d);
}

// The JVM's agent file descriptors: link texts of /proc/PID/fd/* that end in `suffix`.
std::vector<std::string> open_files_ending(pid_t pid, const std::string& suffix) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::string target = fs::read_symlink(e.path(), ec).string();
        if (!ec && target.size() >= suffix.size() &&
            target.compare(target.size() - suffix.size(), suffix.size(), suffix) == 0)
            out.push_back(target);
    }
    return out;
}

std::string file_sha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return policy::sha256_hex(ss.str());
}

// The JVM is given the store's copy (STATE_DIR/agents/<sha256>.jar, root, 0444), never the
// configured path another process could swap between the check and the JVM's open.
TEST_F(InjectDaemon, JvmLoadsTheAgentFromTheContentAddressedStore) {
    JW_REQUIRE_ROOT();
    std::string marker = dir_.file("marker");
    write_config(policy(marker_agent(marker)));
    auto d = start_daemon();
    auto app = start_app();
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok", app->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    std::string stored = dir_.file("state") + "/agents/" + file_sha256(abs_jar("inject_marker")) + ".jar";
    auto ok = events_of(log_, "inject.ok", app->pid())[0];
    EXPECT_EQ(ok["agent_path"], stored);
    EXPECT_FALSE(ok["staged"].get<bool>());
    EXPECT_EQ(ok["agent"]["path"], abs_jar("inject_marker"));  // the rule's path, as configured
    // The JVM holds the store's copy open (the system class loader keeps the agent jar).
    EXPECT_EQ(open_files_ending(app->pid(), ".jar").size(), 1u);
    EXPECT_EQ(open_files_ending(app->pid(), stored).size(), 1u);
    EXPECT_TRUE(open_files_ending(app->pid(), abs_jar("inject_marker")).empty());
    struct stat st;
    ASSERT_EQ(lstat(stored.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_mode & 07777, 0444u);
    ASSERT_EQ(lstat(fs::path(stored).parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_mode & 07777, 0711u);
    EXPECT_EQ(marker_counts(marker)[app->pid()], 1);
    stop_daemon(d);
}

// An agent file replaced after the config was loaded is not loaded: the JVM is reported
// (inject.skipped, agent_changed) until a reload (SIGHUP) accepts the new content.
TEST_F(InjectDaemon, AgentReplacedAfterLoadIsReportedAndNotLoadedUntilReload) {
    JW_REQUIRE_ROOT();
    std::string agent = dir_.file("agent.jar"), marker = dir_.file("marker");
    fs::copy_file(abs_jar("inject_marker"), agent);
    chmod(agent.c_str(), 0644);
    write_config(policy("{jar: " + agent + ", options: \"marker=" + marker + "\"}"));
    auto d = start_daemon();
    // Replaced (atomically, as a deploy would): another valid agent jar, other bytes.
    std::string next = dir_.file("next.jar"), extra = dir_.file("extra.txt");
    fs::copy_file(abs_jar("inject_marker"), next);
    std::ofstream(extra) << "a new build";
    Child::Spec js;
    js.argv = {"jar", "uf", next, "-C", dir_.path(), "extra.txt"};
    Child jar(js);
    auto rc = jar.wait_exit(std::chrono::seconds(60));
    ASSERT_TRUE(rc && *rc == 0) << jar.output();
    ASSERT_NE(file_sha256(next), file_sha256(agent));
    chmod(next.c_str(), 0644);
    ASSERT_EQ(rename(next.c_str(), agent.c_str()), 0);

    auto a1 = start_app();
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.skipped", a1->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    auto e = events_of(log_, "inject.skipped", a1->pid())[0];
    EXPECT_EQ(e["reason"], "agent_changed");
    EXPECT_NE(e["detail"].get<std::string>().find("has sha256 " + file_sha256(agent) + " now"),
              std::string::npos) << e.dump();
    usleep(500 * 1000);
    EXPECT_EQ(marker_counts(marker).count(a1->pid()), 0u);
    EXPECT_TRUE(events_of(log_, "inject.ok", a1->pid()).empty());
    EXPECT_TRUE(open_files_ending(a1->pid(), ".jar").empty());
    // A reload accepts what is there now; the next JVM gets it, from the store.
    d->kill(SIGHUP);
    ASSERT_TRUE(eventually([&] { return events_of(log_, "daemon.reload").size() == 1; },
                           std::chrono::seconds(30)));
    auto a2 = start_app();
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok", a2->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    EXPECT_EQ(marker_counts(marker)[a2->pid()], 1);
    std::string stored = dir_.file("state") + "/agents/" + file_sha256(agent) + ".jar";
    EXPECT_EQ(events_of(log_, "inject.ok", a2->pid())[0]["agent_path"], stored);
    EXPECT_EQ(open_files_ending(a2->pid(), stored).size(), 1u);
    stop_daemon(d);
}

}  // namespace
// The Prometheus endpoint counts the injection under its rule, and the daemon's own attach.
TEST_F(InjectDaemon, MetricsCountInjectionsByRuleAndOutcome) {
    JW_REQUIRE_ROOT();
    write_config(policy(marker_agent(dir_.file("marker"))));
    auto d = start_daemon();
    auto start = events_of(log_, "daemon.start");
    ASSERT_EQ(start.size(), 1u);
    std::string addr = start[0].value("metrics", "");
    ASSERT_EQ(addr.rfind("127.0.0.1:", 0), 0u) << addr;
    uint16_t port = static_cast<uint16_t>(std::stoi(addr.substr(10)));
    auto app = start_app();
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok", app->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    std::map<std::string, double> m;
    bool counted = eventually([&] {
        auto r = http_get("127.0.0.1", port, "/metrics");
        if (!r || r->status != 200) return false;
        m = parse_prom_text(r->body);
        return prom_sum(m, "jvmwatch_injections_total", {"rule=\"test-rule\"", "outcome=\"ok\""}) == 1 &&
               prom_sum(m, "jvmwatch_attaches_total", {"op=\"load\"", "self=\"true\""}) >= 1;
    }, std::chrono::seconds(30));
    EXPECT_TRUE(counted) << "injections " << prom_sum(m, "jvmwatch_injections_total")
                         << ", own attaches " << prom_sum(m, "jvmwatch_attaches_total", {"self=\"true\""});
    EXPECT_EQ(prom_sum(m, "jvmwatch_injection_matches_total", {"rule=\"test-rule\""}), 1);
    EXPECT_EQ(prom_sum(m, "jvmwatch_injections_total", {"rule=\"test-rule\"", "outcome=\"failed\""}), -1)
        << "no failure series before a failure";
    EXPECT_EQ(prom_sum(m, "jvmwatch_events_total", {"type=\"inject.ok\""}), 1);
}

}  // namespace jvmwatch::test

namespace jvmwatch::test {
namespace {

// The local API (docs/api.md) shows the injector's work: the rule and outcome, and the
// injected agent with the first digits of its sha256.
TEST_F(InjectDaemon, ApiPsShowsTheInjectionAndTheInjectedAgent) {
    JW_REQUIRE_ROOT();
    std::string sock = dir_.file("run/api.sock");
    write_config(policy(marker_agent(dir_.file("marker"))) + "api:\n  socket: " + sock + "\n");
    auto d = start_daemon();
    auto app = start_app();
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok", app->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    nlohmann::json row;
    ASSERT_TRUE(eventually([&] {
        std::string out;
        if (run_command({bin_path("jvmwatch"), "ps", "--json", "--socket", sock}, &out) != 0) return false;
        auto rows = nlohmann::json::parse(out, nullptr, false);
        if (!rows.is_array()) return false;
        for (auto& r : rows)
            if (r["pid"] == app->pid() && r["injection"].is_object()) row = r;
        return row.is_object();
    }, std::chrono::seconds(20))) << row.dump();
    EXPECT_EQ(row["injection"]["rule"], "test-rule");
    EXPECT_EQ(row["injection"]["outcome"], "ok");
    bool injected = false;
    for (auto& a : row["agents"])
        if (a["source"] == "inject") {
            injected = true;
            EXPECT_EQ(a["path"], abs_jar("inject_marker"));
            EXPECT_EQ(a.value("sha256", ""), file_sha256(abs_jar("inject_marker")).substr(0, 12))
                << a.dump() << "\n" << events_of(log_, "inject.ok", app->pid())[0].dump();
        }
    EXPECT_TRUE(injected) << row.dump();
    std::string table;
    EXPECT_EQ(run_command({bin_path("jvmwatch"), "ps", "--socket", sock}, &table), 0);
    EXPECT_NE(table.find("test-rule:ok"), std::string::npos) << table;
    stop_daemon(d);
}

TEST_F(InjectDaemon, JvmStartedWithTheRulesAgentIsSkippedAlreadyPresent) {
    JW_REQUIRE_ROOT();
    std::string marker = dir_.file("marker");
    write_config(policy(marker_agent(marker)));
    auto d = start_daemon();
    auto app = start_app("jw.inject.InjectApp",
                         {"-javaagent:" + abs_jar("inject_marker") + "=marker=" + marker});
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.skipped", app->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    auto e = events_of(log_, "inject.skipped", app->pid())[0];
    EXPECT_EQ(e["reason"], "already_present");
    std::string detail = e["detail"];
    EXPECT_NE(detail.find("-javaagent:" + abs_jar("inject_marker")), std::string::npos) << detail;
    EXPECT_NE(detail.find("sha256 " + file_sha256(abs_jar("inject_marker"))),
              std::string::npos) << detail;
    ASSERT_TRUE(app->wait_for_output("READY"));
    usleep(500 * 1000);
    EXPECT_EQ(marker_counts(marker)[app->pid()], 1);  // its own -javaagent, not a second copy
    EXPECT_EQ(events_of(log_, "inject.ok").size(), 0u);
    stop_daemon(d);
}

TEST_F(InjectDaemon, JvmCarryingAConflictingAgentIsSkippedNamingIt) {
    JW_REQUIRE_ROOT();
    std::string marker = dir_.file("marker"), other = dir_.file("other-vendor");
    // build/java/marker.jar (jw.test.MarkerAgent) stands in for another vendor's agent.
    write_config(policy(marker_agent(marker), "      conflicts: [\"*/dd-java-agent*.jar\", "
                                              "\"class:jw.test.Marker*\"]\n"));
    auto d = start_daemon();
    auto app = start_app("jw.inject.InjectApp", {"-javaagent:" + abs_jar("marker") + "=" + other});
    auto plain = start_app();
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.skipped", app->pid()).size() == 1 &&
                                        events_of(log_, "inject.ok", plain->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    auto e = events_of(log_, "inject.skipped", app->pid())[0];
    EXPECT_EQ(e["reason"], "conflict");
    EXPECT_EQ(e["detail"], "-javaagent:" + abs_jar("marker") + " (cmdline) matches conflict "
                           "\"class:jw.test.Marker*\" (class jw.test.MarkerAgent)");
    EXPECT_TRUE(fs::exists(other));  // the other vendor's agent ran
    EXPECT_EQ(marker_counts(marker).count(app->pid()), 0u);
    // A JDK 17 JVM whose agents were known: checked, no JEP 451 warning.
    auto ok = events_of(log_, "inject.ok", plain->pid())[0];
    EXPECT_EQ(ok["agent_inventory"], "checked");
    EXPECT_EQ(ok["dynamic_load_warning"], false);
    stop_daemon(d);
}

std::string temurin25_java() {
    const std::string java = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java";
    return access(java.c_str(), X_OK) == 0 ? java : "";
}

TEST_F(InjectDaemon, Jdk25DynamicLoadReportsTheJep451Warning) {
    JW_REQUIRE_ROOT();
    std::string java = temurin25_java();
    if (java.empty()) GTEST_SKIP() << "no Temurin 25 in /usr/lib/jvm";
    std::string marker = dir_.file("marker");
    write_config(policy(marker_agent(marker)));
    auto d = start_daemon();
    auto app = start_app("jw.inject.InjectApp", {}, std::nullopt, java);
    auto flagged = start_app("jw.inject.InjectApp", {"-XX:+EnableDynamicAgentLoading"}, std::nullopt, java);
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.ok", app->pid()).size() == 1 &&
                                        events_of(log_, "inject.ok", flagged->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    EXPECT_EQ(events_of(log_, "inject.ok", app->pid())[0]["dynamic_load_warning"], true);
    EXPECT_EQ(events_of(log_, "inject.ok", flagged->pid())[0]["dynamic_load_warning"], false);
    // What the field claims: the JVM printed the warning into the application's stderr.
    EXPECT_TRUE(app->wait_for_output("has been loaded dynamically", std::chrono::seconds(20))) << app->output();
    usleep(300 * 1000);
    EXPECT_EQ(flagged->output().find("has been loaded dynamically"), std::string::npos) << flagged->output();
    stop_daemon(d);
}

TEST_F(InjectDaemon, Jdk25RuleWithOnDynamicLoadWarningSkipSkipsIt) {
    JW_REQUIRE_ROOT();
    std::string java = temurin25_java();
    if (java.empty()) GTEST_SKIP() << "no Temurin 25 in /usr/lib/jvm";
    std::string marker = dir_.file("marker");
    write_config(policy(marker_agent(marker), "      on_dynamic_load_warning: skip\n"));
    auto d = start_daemon();
    auto app = start_app("jw.inject.InjectApp", {}, std::nullopt, java);
    ASSERT_TRUE(eventually([&] { return events_of(log_, "inject.skipped", app->pid()).size() == 1; },
                           std::chrono::seconds(60))) << d->output();
    EXPECT_EQ(events_of(log_, "inject.skipped", app->pid())[0]["reason"], "dynamic_load_warning");
    ASSERT_TRUE(app->wait_for_output("READY"));
    usleep(500 * 1000);
    EXPECT_FALSE(fs::exists(marker));
    EXPECT_EQ(app->output().find("loaded dynamically"), std::string::npos);
    stop_daemon(d);
}

}  // namespace
}  // namespace jvmwatch::test
