// The one-line text form of audit events (userspace/audit/text_line.h): a form for every
// event type the schema defines, hostile strings escaped, every line bounded, and the
// sink writing it on stdout only.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>

#include "tests/common/support.h"
#include "tests/unit/daemon_test_support.h"
#include "userspace/audit/async_event_sink.h"
#include "userspace/audit/text_line.h"

using jvmwatch::audit::to_text_line;
using jvmwatch::audit::TextLineOptions;
using nlohmann::json;

namespace {

const TextLineOptions kUtc{400, true};
const std::string kEllipsis = "\xE2\x80\xA6";

json envelope(const std::string& type) {
    return {{"v", 1}, {"seq", 7}, {"time", "2026-11-21T14:31:58.481979340Z"}, {"host", "h"}, {"type", type}};
}

json merge(json a, const json& b) {
    for (auto it = b.begin(); it != b.end(); ++it) a[it.key()] = *it;
    return a;
}

json attacher() {
    return {{"pid", 3491}, {"nspid", 3491}, {"uid", 0}, {"gid", 0}, {"user", "root"}, {"comm", "jattach"},
            {"exe", "/usr/bin/jattach"}, {"cmdline", {"jattach", "3374", "load", "instrument", "false", "/x.jar=a"}},
            {"ppid", 3349}, {"parent_comm", "bash"}, {"cgroup", "/"}, {"container_id", ""},
            {"identity_from", "exec"}, {"exited", true}};
}

json jvm() {
    return {{"pid", 3374}, {"nspid", 3374}, {"start_time_ticks", 119327}, {"uid", 1000}, {"user", "app"},
            {"exe", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"},
            {"cmdline", {"java", "-cp", "build/java/classes", "jw.daemon.Idle", "60"}}, {"main", "jw.daemon.Idle"},
            {"java_home", "/usr/lib/jvm/java-17-openjdk-amd64"}, {"jdk_version", "17.0.15"},
            {"cgroup", "/system.slice/docker-0123456789abcdef.scope"}, {"container_id", "0123456789abcdef0123"}};
}

json inject_jvm() {
    return {{"pid", 3374}, {"nspid", 1}, {"start_time_ticks", 119327}, {"main", "app.jar"}, {"user", "app"},
            {"uid", 1000}, {"exe", "/opt/jdk/bin/java"}, {"jdk_version", "21.0.2"}};
}

json agent() { return {{"kind", "java"}, {"path", "/opt/apm/agent.jar"}, {"options", "env=prod"}}; }

json zeros(std::initializer_list<const char*> keys) {
    json o = json::object();
    for (auto k : keys) o[k] = 0;
    return o;
}

// One event of every type, shaped as the emitters build them (event_processor,
// attach_correlator, daemon_runner, inject/injector), keyed by type.
std::map<std::string, json> one_of_each_type() {
    json target = merge(jvm(), {{"resolved_by", "path"}});
    json drops = zeros({"ringbuf", "malformed", "sink_queue", "sink_write", "own_expect", "enrichment_queue"});
    drops["sink_queue"] = 12;
    json evictions = zeros({"processes", "jvms", "correlations", "cgroups"});
    evictions["jvms"] = 3;
    std::map<std::string, json> m;
    auto add = [&](json ev) {
        std::string type = ev["type"];
        m[type] = std::move(ev);
    };
    add(merge(envelope("daemon.start"),
              {{"version", "0.1.0"}, {"pid", 812}, {"deep", true}, {"config", "/etc/jvmwatch/jvmwatchd.yaml"},
               {"audit_log", "-"}, {"hooks", {{"exec", "tp_btf/sched_process_exec"}}}, {"jvms_running", 4}}));
    add(merge(envelope("daemon.stop"), {{"pid", 812}, {"reason", "SIGTERM"}, {"uptime_s", 3600.25}}));
    add(merge(envelope("daemon.reload"),
              {{"ok", false}, {"config", "/etc/jvmwatch/jvmwatchd.yaml"}, {"error", "jvmwatchd.yaml:3: unknown key 'x'"}}));
    json started = jvm();
    started["agents"] = {{{"kind", "java"}, {"path", "/opt/a.jar"}, {"options", "x=1"},
                          {"sha256", std::string(64, 'a')}, {"size", 12}},
                         {{"kind", "native"}, {"path", "/tmp/fifo"}, {"why", "not a regular file"}}};
    add(merge(envelope("jvm.start"),
              {{"jvm", started}, {"detected_by", "exec"}, {"existing", false},
               {"exec_time", "2026-11-21T14:31:58.1Z"}, {"libjvm_loaded", false},
               {"enrichment", {{"complete", false}, {"reason", "timeout"}, {"missing", {"java_home", "jdk_version"}}}}}));
    add(merge(envelope("jvm.exit"), {{"jvm", jvm()}, {"signal", 9}, {"exit_time", "2026-11-21T14:32:00Z"},
                                     {"lifetime_ms", 1500.0}}));
    add(merge(envelope("attach"),
              {{"attacher", attacher()}, {"target", target}, {"self", false},
               {"start_time", "2026-11-21T14:31:58.481028586Z"}, {"end_time", "2026-11-21T14:31:58.481979340Z"},
               {"duration_ms", 0.95},
               {"evidence", {{"trigger", false}, {"sigquit", false}, {"connect", true}, {"request", true},
                             {"reply", true}, {"close", true}}},
               {"finalized_by", "close"}, {"connects", 1}, {"outcome", "replied"},
               {"socket_path", "/proc/3374/root/tmp/.java_pid3374"}, {"protocol", 1}, {"operation", "load"},
               {"args", {"instrument", "false", "/x.jar=a"}}, {"request_complete", true},
               {"result_code", 0}, {"reply", "return code: 100"}}));
    add(merge(envelope("thread_dump_request"),
              {{"sender", merge(attacher(), {{"comm", "kill"}, {"exe", "/usr/bin/kill"}, {"pid", 77}})},
               {"target", target}, {"self", false}, {"signal_time", "2026-11-21T14:31:58Z"}, {"signal_result", 0}}));
    add(merge(envelope("stats"),
              {{"final", false}, {"uptime_s", 60.2},
               {"kernel", zeros({"events", "ringbuf_drops", "tracked_full"})},
               {"userspace", zeros({"events_exec", "jvm_starts"})}, {"drops", drops}, {"evictions", evictions},
               {"tables", {{"processes", 210}, {"jvms", 5}, {"open_correlations", 0}}},
               {"enrichment", {{"queued", 2}, {"done", 1}, {"failed", 0}, {"timed_out", 1}, {"dropped", 0},
                               {"deduplicated", 0}, {"abandoned_workers", 0}, {"late_results_discarded", 0},
                               {"negative_cache_hits", 5}, {"workers", 2}, {"queue", 0}}}}));
    add(merge(envelope("inject.matched"), {{"pid", 3374}, {"jvm", inject_jvm()}, {"rule", "apm"},
                                           {"agent", agent()}, {"existing", true}, {"dry_run", false}}));
    add(merge(envelope("inject.ok"), {{"pid", 3374}, {"jvm", inject_jvm()}, {"rule", "apm"}, {"agent", agent()},
                                      {"attempts", 2}, {"attach_ms", 41.37}, {"agent_path", "/tmp/jw-agent.jar"},
                                      {"staged", true}, {"ms_from_exec", nullptr},
                                      {"dynamic_load_warning", true}, {"agent_inventory", "checked"}}));
    add(merge(envelope("inject.failed"), {{"pid", 3374}, {"jvm", inject_jvm()}, {"rule", "apm"}, {"agent", agent()},
                                          {"outcome", "agent_error"}, {"detail", "return code: 102"},
                                          {"attempts", 1}}));
    add(merge(envelope("agent.load"), {{"jvm", jvm()}, {"agent", {{"kind", "java"}, {"path", "/tmp/a.jar"}, {"options", "x=1"}}},
                                       {"via", "JvmtiExport::load_agent_library"}, {"thread", "Attach Listener"},
                                       {"origin", "attach"}, {"attacher_pid", 3491}, {"first_dynamic_agent", true},
                                       {"artifact", {{"kind", "java"}, {"path", "/tmp/a.jar"},
                                                     {"sha256", std::string(64, 'a')}, {"size", 10}}}}));
    add(merge(envelope("alert"), {{"rule", "attach-through-alias"}, {"severity", "high"}, {"builtin", true},
                                  {"record_type", "attach"}, {"summary", "python3[88] -> 3374: jcmd Thread.print"},
                                  {"record", {{"type", "attach"}}}, {"held_back", 2}}));
    add(merge(envelope("jvm.dcmd"), {{"jvm", jvm()}, {"source", "jmx"}, {"command", "JVMTI.agent_load /tmp/a.jar"},
                                     {"thread", "RMI TCP Connection(2)-127.0.0.1"}}));
    add(merge(envelope("inject.skipped"), {{"pid", 3374}, {"jvm", inject_jvm()}, {"rule", "apm"},
                                           {"reason", "attach_disabled"},
                                           {"detail", "-XX:+DisableAttachMechanism"}}));
    return m;
}

// The event types docs/events.schema.json defines (the const of each ev_* branch).
std::set<std::string> schema_types() {
    std::ifstream in(jvmwatch::test::source_dir() + "/docs/events.schema.json");
    json schema = json::parse(in, nullptr, false);
    std::set<std::string> types;
    if (schema.is_discarded()) return types;
    for (const auto& [name, def] : schema["$defs"].items())
        if (name.rfind("ev_", 0) == 0) types.insert(def["properties"]["type"]["const"].get<std::string>());
    return types;
}

// No byte that a terminal interprets (C0, DEL, C1) and valid UTF-8.
void expect_safe_for_a_terminal(const std::string& line) {
    for (unsigned char c : line) ASSERT_FALSE(c < 0x20 || c == 0x7F) << "control byte in: " << line;
    EXPECT_EQ(line.find("\xC2\x9B"), std::string::npos) << "a C1 CSI in: " << line;
    EXPECT_NO_THROW((void)json(line).dump()) << "invalid UTF-8 in the line";
}

// Every backslash starts a whole escape: a cut never left half of one.
void expect_whole_escapes(const std::string& line) {
    static const std::regex escape(R"(^(\\\\|\\n|\\t|\\r|\\x[0-9a-f]{2}|\\u[0-9a-f]{4}))");
    for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] != '\\') continue;
        std::smatch m;
        std::string rest = line.substr(i, 6);
        ASSERT_TRUE(std::regex_search(rest, m, escape)) << "broken escape at " << i << " in: " << line;
        i += m.length(0) - 1;
    }
}

}  // namespace

TEST(AuditTextLine, FormsEveryEventTypeOfTheSchema) {
    auto events = one_of_each_type();
    auto types = schema_types();
    ASSERT_GE(types.size(), 12u);
    for (const auto& t : types) EXPECT_TRUE(events.count(t)) << "no text-form test event for type " << t;
    // What each line must say (beyond time and type).
    std::map<std::string, std::vector<std::string>> says = {
        {"daemon.start", {"jvmwatchd[812] 0.1.0", "config /etc/jvmwatch/jvmwatchd.yaml", "deep", "4 JVM(s)"}},
        {"daemon.stop", {"jvmwatchd[812]", "stopped by SIGTERM", "3600.2 s"}},
        {"daemon.reload", {"config /etc/jvmwatch/jvmwatchd.yaml", "refused", "jvmwatchd.yaml:3: unknown key 'x'"}},
        {"jvm.start", {"java[3374] app ctr 0123456789ab jw.daemon.Idle", "jdk 17.0.15", "by exec", "2 agents",
                       "incomplete: timeout, missing java_home jdk_version"}},
        {"jvm.exit", {"java[3374] app", "killed by signal 9", "after 1.5 s"}},
        {"attach", {"jattach[3491] root -> java[3374] app", "load instrument false /x.jar=a",
                    "=> replied rc=0 reply=\"return code: 100\" (close, 0.95 ms)"}},
        {"thread_dump_request", {"kill[77] root -> java[3374] app", "SIGQUIT", "=> thread dump"}},
        {"stats", {"up 60 s", "jvms 5", "processes 210", "drops: sink_queue=12", "evictions: jvms=3"}},
        {"inject.matched", {"jvmwatchd -> java[3374] app app.jar", "rule=apm agent=java:/opt/apm/agent.jar=env=prod",
                            "=> matched, running before the daemon"}},
        {"inject.ok", {"=> loaded in 41.4 ms, attempt 2, staged"}},
        {"inject.failed", {"=> failed: agent_error after 1 attempt(s) \"return code: 102\""}},
        {"inject.skipped", {"=> skipped: attach_disabled \"-XX:+DisableAttachMechanism\""}},
        {"agent.load", {"agent java:/tmp/a.jar=x=1", "from attach pid 3491", ", first", "sha256 aaaaaaaaaaaa"}},
        {"jvm.dcmd", {"dcmd from jmx \"JVMTI.agent_load /tmp/a.jar\""}},
        {"alert", {"HIGH attach-through-alias", "python3[88] -> 3374: jcmd Thread.print", "(+2 held back)"}},
    };
    for (const auto& [type, ev] : events) {
        jvmwatch::test::expect_valid_event(ev);
        std::string line = to_text_line(ev, kUtc);
        SCOPED_TRACE(line);
        EXPECT_EQ(line.rfind("14:31:58.481 " + type + " ", 0), 0u);
        EXPECT_EQ(line.find("unknown to this version"), std::string::npos);
        EXPECT_EQ(line.find(kEllipsis), std::string::npos) << "nothing here is long enough to cut";
        EXPECT_LE(line.size(), kUtc.max_bytes);
        ASSERT_TRUE(says.count(type)) << "no expectations for " << type;
        for (const auto& s : says[type]) EXPECT_NE(line.find(s), std::string::npos) << "missing: " << s;
        expect_safe_for_a_terminal(line);
    }
}

TEST(AuditTextLine, AttachLineInFull) {
    auto ev = one_of_each_type()["attach"];
    EXPECT_EQ(to_text_line(ev, kUtc),
              "14:31:58.481 attach         jattach[3491] root -> java[3374] app ctr 0123456789ab jw.daemon.Idle  "
              "load instrument false /x.jar=a  => replied rc=0 reply=\"return code: 100\" (close, 0.95 ms)");
    // Default mode: no request bytes, the evidence instead; an unresolved target.
    for (const char* k : {"protocol", "operation", "args", "request_complete", "result_code", "reply"}) ev.erase(k);
    ev["evidence"] = {{"trigger", false}, {"sigquit", true}, {"connect", true}, {"request", false},
                      {"reply", false}, {"close", false}};
    ev["outcome"] = "connected";
    ev["finalized_by"] = "exit";
    ev["connects"] = 2;
    ev["self"] = true;
    ev["rule"] = "apm";
    ev["target"] = {{"nspid", 1}, {"resolved_by", "unresolved"}};
    jvmwatch::test::expect_valid_event(ev);
    EXPECT_EQ(to_text_line(ev, kUtc),
              "14:31:58.481 attach         jattach[3491] root -> jvm[nspid 1] (pid unresolved)  "
              "op not seen (sigquit+connect) rule=apm self  => connected (exit, 0.95 ms, 2 connects)");
}

TEST(AuditTextLine, TimeOfDayLocalOrUtc) {
    json ev = envelope("daemon.stop");
    EXPECT_EQ(to_text_line(ev, kUtc).substr(0, 12), "14:31:58.481");
    ev["time"] = "2026-11-21T14:31:58+02:00";
    EXPECT_EQ(to_text_line(ev, kUtc).substr(0, 12), "12:31:58.000");
    ev["time"] = "2026-11-21T23:59:59.9999Z";
    EXPECT_EQ(to_text_line(ev, kUtc).substr(0, 12), "23:59:59.999");
    for (const char* bad : {"yesterday", "2026-11-21", "2026-11-21T14:31:58", "2026-11-21T14:31:58+2"}) {
        ev["time"] = bad;
        EXPECT_EQ(to_text_line(ev, kUtc).substr(0, 12), "??:??:??.???") << bad;
    }
    ev["time"] = 12;
    EXPECT_EQ(to_text_line(ev, kUtc).substr(0, 12), "??:??:??.???");

    // The default is the local time zone, as localtime_r says.
    ev["time"] = "2026-07-01T03:04:05.006Z";
    struct tm tm{};
    tm.tm_year = 126, tm.tm_mon = 6, tm.tm_mday = 1, tm.tm_hour = 3, tm.tm_min = 4, tm.tm_sec = 5;
    time_t when = timegm(&tm);
    struct tm local{};
    ASSERT_TRUE(localtime_r(&when, &local));
    char want[32];
    std::snprintf(want, sizeof want, "%02d:%02d:%02d.006", local.tm_hour, local.tm_min, local.tm_sec);
    EXPECT_EQ(to_text_line(ev).substr(0, 12), want);
}

TEST(AuditTextLine, HostileStringsCannotForgeLinesOrSendEscapes) {
    auto events = one_of_each_type();
    const std::string hostile = "x\n14:31:58.481 attach  root[1] FORGED\r\x1b[2J\x1b]0;title\x07\xC2\x9B" "31m\xFF\xC3("
                                "\xE2\x80\xAE" "reversed\xE2\x80\xA8" "sep\xE2\x81\xA6" "iso";
    json ev = events["attach"];
    ev["attacher"]["comm"] = hostile;
    ev["attacher"]["user"] = hostile;
    ev["target"]["main"] = hostile;
    ev["target"]["exe"] = "/x/" + hostile;
    ev["args"] = {hostile, hostile};
    ev["reply"] = hostile;
    ev["rule"] = hostile;
    ev["operation"] = hostile;
    std::string line = to_text_line(ev, kUtc);
    expect_safe_for_a_terminal(line);
    expect_whole_escapes(line);
    EXPECT_NE(line.find("x\\n14:31:58.481"), std::string::npos) << line;
    EXPECT_NE(line.find("\\x1b[2J"), std::string::npos) << line;
    EXPECT_NE(line.find("\\u009b"), std::string::npos) << line;
    EXPECT_NE(line.find("\xEF\xBF\xBD"), std::string::npos) << "invalid UTF-8 shows as U+FFFD: " << line;
    for (const char* reorder : {"\xE2\x80\xAE", "\xE2\x80\xA8", "\xE2\x81\xA6"})
        EXPECT_EQ(line.find(reorder), std::string::npos) << "bidi override or line separator kept: " << line;
    json short_one = events["attach"];
    short_one["attacher"]["comm"] = "\xE2\x80\xAE" "rev\xE2\x80\xA8" "sep\xE2\x81\xA6" "iso";
    EXPECT_NE(to_text_line(short_one, kUtc).find(" \\u202erev\\u2028sep\\u2066iso[3491] root -> "),
              std::string::npos) << to_text_line(short_one, kUtc);

    // Every string field of every type, and the type itself.
    for (auto [type, e] : events) {
        for (auto& [k, v] : e.items())
            if (v.is_string() && k != "time" && k != "type") v = hostile;
        for (const char* obj : {"jvm", "target", "attacher", "sender", "agent"})
            if (e.contains(obj))
                for (auto& [k, v] : e[obj].items())
                    if (v.is_string()) v = hostile;
        std::string l = to_text_line(e, kUtc);
        SCOPED_TRACE(l);
        expect_safe_for_a_terminal(l);
        expect_whole_escapes(l);
        EXPECT_LE(l.size(), kUtc.max_bytes);
    }
    json odd = envelope(hostile);
    std::string l = to_text_line(odd, kUtc);
    expect_safe_for_a_terminal(l);
    EXPECT_NE(l.find("unknown to this version"), std::string::npos) << l;
}

TEST(AuditTextLine, HugeArgumentsAreCutWithAnEllipsis) {
    json ev = one_of_each_type()["attach"];
    ev["args"] = {std::string(1 << 20, 'A'), "second"};
    std::string line = to_text_line(ev, kUtc);
    EXPECT_LE(line.size(), kUtc.max_bytes);
    EXPECT_NE(line.find("load AAAA"), std::string::npos) << line;
    EXPECT_NE(line.find("A" + kEllipsis + " second"), std::string::npos) << "the arg is cut, not the rest: " << line;
    EXPECT_NE(line.find("=> replied"), std::string::npos) << "the outcome survives a huge argument: " << line;

    // Many arguments: the list is cut, the outcome still shown.
    json many = json::array();
    for (int i = 0; i < 100000; ++i) many.push_back("arg" + std::to_string(i));
    ev["args"] = many;
    line = to_text_line(ev, kUtc);
    EXPECT_LE(line.size(), kUtc.max_bytes);
    EXPECT_NE(line.find(" " + kEllipsis), std::string::npos) << line;
    EXPECT_NE(line.find("=> replied"), std::string::npos) << line;

    // A huge escaped string: cut at whole escapes.
    ev["args"] = {std::string(1 << 20, '\x01')};
    line = to_text_line(ev, kUtc);
    expect_whole_escapes(line);
    EXPECT_NE(line.find("\\x01\\x01" + kEllipsis), std::string::npos) << line;
}

TEST(AuditTextLine, WholeLineBoundAtEveryLimit) {
    // Long fields everywhere (multi-byte characters and escapes near every cut point).
    json ev = one_of_each_type()["attach"];
    std::string mixed;
    for (int i = 0; i < 200; ++i) mixed += i % 3 == 0 ? "\x01" : i % 3 == 1 ? "\xE6\x97\xA5" : "\\";
    ev["attacher"]["comm"] = mixed;
    ev["target"]["main"] = mixed;
    ev["reply"] = mixed;
    ev["args"] = {mixed, mixed, mixed};
    ASSERT_GT(to_text_line(ev, {100000, true}).size(), 450u) << "the event is long enough for every limit below";
    for (size_t max = 0; max <= 450; ++max) {
        std::string line = to_text_line(ev, {max, true});
        SCOPED_TRACE(line);
        size_t bound = std::max<size_t>(max, 64);
        ASSERT_LE(line.size(), bound) << "max " << max;
        ASSERT_GE(line.size(), bound - 8) << "cut no shorter than a token and the ellipsis";
        ASSERT_EQ(line.substr(line.size() - kEllipsis.size()), kEllipsis);
        expect_safe_for_a_terminal(line);
        expect_whole_escapes(line);
    }
}

TEST(AuditTextLine, MistypedOrMissingFieldsNeverThrow) {
    for (auto [type, ev] : one_of_each_type()) {
        json broken = ev;
        for (auto& [k, v] : broken.items())
            if (k != "type") v = json::array({1, "x", nullptr});
        std::string line;
        EXPECT_NO_THROW(line = to_text_line(broken, kUtc)) << type;
        EXPECT_NE(line.find(type), std::string::npos);
        json bare = {{"type", type}};
        EXPECT_NO_THROW(line = to_text_line(bare, kUtc)) << type;
        EXPECT_NE(line.find("??:??:??.???"), std::string::npos);
    }
    EXPECT_NO_THROW((void)to_text_line(json(nullptr)));
    EXPECT_NO_THROW((void)to_text_line(json::array({1, 2})));
    EXPECT_NO_THROW((void)to_text_line(json("string")));
    json e = one_of_each_type()["attach"];
    e["attacher"]["pid"] = "3491";
    e["args"] = {{"an", "object"}};
    EXPECT_NE(to_text_line(e, kUtc).find("jattach[?]"), std::string::npos);
}

// The sink writes the text form on stdout when asked, and JSON Lines to a file always.
namespace {
void sink_output(jvmwatch::audit::OutputFormat format, const std::string& path) {
    using namespace jvmwatch::audit;
    SinkOptions o;
    o.file.path = path;
    o.host = "h";
    o.stdout_format = format;
    AsyncEventSink sink(o);
    std::string err;
    EXPECT_TRUE(sink.start(&err)) << err;
    sink.emit({{"type", "daemon.stop"}, {"pid", 5}, {"reason", "SIGTERM"}, {"uptime_s", 1.0}});
    sink.stop();
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs `f` with fd 1 pointing at `path`.
template <class F>
void with_stdout_to(const std::string& path, F f) {
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    f();
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
}
}  // namespace

TEST(AuditTextLine, SinkWritesTextOnStdoutOnlyWhenAsked) {
    using jvmwatch::audit::OutputFormat;
    jvmwatch::test::TempDir dir;
    std::string out = dir.file("stdout");
    with_stdout_to(out, [] { sink_output(OutputFormat::text, ""); });
    std::string text = read_file(out);
    EXPECT_NE(text.find(" daemon.stop    jvmwatchd[5]  => stopped by SIGTERM after 1.0 s\n"), std::string::npos)
        << text;
    EXPECT_EQ(text.find('{'), std::string::npos) << text;

    with_stdout_to(out, [] { sink_output(OutputFormat::json, "-"); });
    auto j = json::parse(read_file(out), nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    EXPECT_EQ(j["type"], "daemon.stop");

    // A file stays JSON Lines whatever stdout gets.
    std::string log = dir.file("audit.log");
    sink_output(OutputFormat::text, log);
    j = json::parse(read_file(log), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << read_file(log);
    EXPECT_EQ(j["reason"], "SIGTERM");
    jvmwatch::test::expect_valid_event(j);
}
