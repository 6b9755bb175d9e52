// The Prometheus metrics: label mapping, the event counters (the sink tap), the JVM
// census fed by a real EventProcessor, the collector's families (every `stats` counter
// exported, names per the conventions), and the HTTP endpoint on a real socket.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <prometheus/text_serializer.h>

#include <set>
#include <sstream>

#include "tests/common/http_get.h"
#include "tests/common/prom_text.h"
#include "tests/unit/daemon_test_support.h"
#include "userspace/audit/async_event_sink.h"
#include "userspace/daemon/daemon_config.h"
#include "userspace/metrics/daemon_collector.h"
#include "userspace/metrics/daemon_metrics.h"
#include "userspace/metrics/metric_labels.h"
#include "userspace/metrics/metrics_server.h"

using namespace jvmwatch;
using namespace jvmwatch::metrics;
using jvmwatch::test::parse_prom_text;
using jvmwatch::test::prom_sum;
using nlohmann::json;

namespace {

std::string render(const prometheus::Collectable& c) {
    return prometheus::TextSerializer().Serialize(c.Collect());
}

jvm::JvmProcess jvm_of(pid_t pid, uint64_t start, const std::string& version) {
    jvm::JvmProcess j;
    j.pid = j.nspid = pid;
    j.start_time_ticks = start;
    j.kind = jvm::Kind::hotspot;
    j.jdk_version = version;
    return j;
}

}  // namespace

TEST(MetricLabels, JdkMajor) {
    EXPECT_EQ(jdk_major_label("17.0.15"), "17");
    EXPECT_EQ(jdk_major_label("21"), "21");
    EXPECT_EQ(jdk_major_label("25-ea"), "25");
    EXPECT_EQ(jdk_major_label("11.0.2+9"), "11");
    EXPECT_EQ(jdk_major_label("1.8.0_392"), "8");
    EXPECT_EQ(jdk_major_label(""), "unknown");
    EXPECT_EQ(jdk_major_label("x17"), "unknown");
    EXPECT_EQ(jdk_major_label("17abc"), "unknown");
    EXPECT_EQ(jdk_major_label("0"), "unknown");
    EXPECT_EQ(jdk_major_label("123456"), "unknown");
    EXPECT_EQ(jdk_major_label("99999999999999999999999"), "unknown");
}

TEST(MetricLabels, FixedSetsMapUnknownValuesToOther) {
    std::string load = "load", evil = "/tmp/evil\n{x=\"1\"}";
    EXPECT_EQ(attach_op_label(&load), "load");
    EXPECT_EQ(attach_op_label(nullptr), "unknown");
    EXPECT_EQ(attach_op_label(&evil), "other");
    EXPECT_EQ(attach_outcome_label("replied"), "replied");
    EXPECT_EQ(attach_outcome_label("12345"), "other");
    EXPECT_EQ(event_type_label("jvm.start"), "jvm.start");
    EXPECT_EQ(event_type_label("jvm.start2"), "other");
    EXPECT_EQ(inject_failure_label("timed_out"), "timed_out");
    EXPECT_EQ(inject_failure_label("ok"), "other");
    EXPECT_EQ(inject_skip_label("dry_run"), "dry_run");
    EXPECT_EQ(inject_skip_label("pid 1234"), "other");
}

TEST(MetricsEventCounters, CountsTypesAttachesAndInjections) {
    EventCounters c;
    c.on_event({{"type", "attach"}, {"outcome", "replied"}, {"operation", "properties"}, {"self", false}});
    c.on_event({{"type", "attach"}, {"outcome", "connected"}, {"self", false}});
    c.on_event({{"type", "attach"}, {"outcome", "replied"}, {"operation", "load"}, {"self", true}, {"rule", "apm"}});
    c.on_event({{"type", "attach"}, {"outcome", "replied"}, {"operation", "../../x"}, {"self", false}});
    c.on_event({{"type", "inject.matched"}, {"rule", "apm"}});
    c.on_event({{"type", "inject.ok"}, {"rule", "apm"}});
    c.on_event({{"type", "inject.failed"}, {"rule", "apm"}, {"outcome", "timed_out"}});
    c.on_event({{"type", "inject.skipped"}, {"rule", nullptr}, {"reason", "not_hotspot"}});
    c.on_event({{"type", "attach"}, {"outcome", 7}, {"operation", {1, 2}}, {"self", "yes"}, {"rule", 3}});
    c.on_event({{"type", "inject.ok"}, {"rule", {{"x", 1}}}});
    c.on_event({{"type", "no.such.type"}});
    c.on_event({{"no_type", 1}});
    EventCounts s = c.snapshot();
    EXPECT_EQ(s.by_type["attach"], 5u);
    EXPECT_EQ(s.by_type["inject.ok"], 2u);
    EXPECT_EQ(s.by_type["other"], 2u);
    EXPECT_EQ(s.by_type["daemon.stop"], 0u) << "every known type is there from the start";
    using K = std::tuple<std::string, std::string, bool>;
    EXPECT_EQ((s.attaches[K{"properties", "replied", false}]), 1u);
    EXPECT_EQ((s.attaches[K{"unknown", "connected", false}]), 1u);
    EXPECT_EQ((s.attaches[K{"load", "replied", true}]), 1u);
    EXPECT_EQ((s.attaches[K{"other", "replied", false}]), 1u);
    EXPECT_EQ((s.attaches[K{"unknown", "other", false}]), 1u) << "fields of the wrong type";
    EXPECT_EQ((s.injections[{"", "ok"}]), 1u) << "a rule that is not a string";
    EXPECT_EQ(s.inject_matched["apm"], 1u);
    EXPECT_EQ((s.injections[{"apm", "ok"}]), 1u);
    EXPECT_EQ((s.injections[{"apm", "failed"}]), 1u);
    EXPECT_EQ((s.inject_failed[{"apm", "timed_out"}]), 1u);
    EXPECT_EQ((s.injections[{"", "skipped"}]), 1u) << "no rule matched: no rule label";
    EXPECT_EQ((s.inject_skipped[{"", "not_hotspot"}]), 1u);
}

TEST(MetricsEventCounters, CountsDenyVerdictsByRule) {
    EventCounters c;
    c.on_event({{"type", "attach"}, {"outcome", "denied"}, {"self", false},
                {"policy", {{"verdict", "denied"}, {"rule", "only-jcmd"}}}});
    c.on_event({{"type", "attach"}, {"outcome", "replied"}, {"self", false},
                {"policy", {{"verdict", "would_deny"}, {"rule", "only-jcmd"}}}});
    c.on_event({{"type", "attach"}, {"outcome", "replied"}, {"self", false},
                {"policy", {{"verdict", "made-up"}, {"rule", "x"}}}});
    c.on_event({{"type", "attach"}, {"outcome", "replied"}, {"self", false}, {"policy", 3}});
    EventCounts s = c.snapshot();
    EXPECT_EQ(s.denials.size(), 2u);
    EXPECT_EQ((s.denials[{"only-jcmd", "denied"}]), 1u);
    EXPECT_EQ((s.denials[{"only-jcmd", "would_deny"}]), 1u);
    using K = std::tuple<std::string, std::string, bool>;
    EXPECT_EQ((s.attaches[K{"unknown", "denied", false}]), 1u);
    JvmCensus census(10);
    DaemonCollector dc(&c, &census, StaticInfo{});
    auto m = parse_prom_text(render(dc));
    EXPECT_EQ(prom_sum(m, "jvmwatch_denials_total", {"rule=\"only-jcmd\"", "verdict=\"denied\""}), 1);
}

TEST(MetricsEventCounters, RuleLabelsAreBounded) {
    EventCounters c;
    for (size_t i = 0; i < EventCounters::kMaxRules + 50; ++i)
        c.on_event({{"type", "inject.ok"}, {"rule", "rule" + std::to_string(i)}});
    EventCounts s = c.snapshot();
    EXPECT_EQ(s.injections.size(), EventCounters::kMaxRules + 1);
    EXPECT_EQ((s.injections[{"other", "ok"}]), 50u);
    c.on_event({{"type", "inject.ok"}, {"rule", "rule0"}});
    EXPECT_EQ((c.snapshot().injections[{"rule0", "ok"}]), 2u) << "a known rule keeps its label";
}

TEST(MetricsJvmCensus, CountsByMajorAndForgetsExits) {
    JvmCensus c(100);
    c.on_jvm_started(jvm_of(10, 1000, "17.0.15"), 0, false);
    c.on_jvm_started(jvm_of(11, 1001, "17.0.2"), 0, false);
    c.on_jvm_started(jvm_of(12, 1002, "21.0.1"), 0, true);
    c.on_jvm_started(jvm_of(13, 1003, ""), 0, false);
    auto s = c.snapshot();
    EXPECT_EQ((s[{"17", "client"}]), 2);
    EXPECT_EQ((s[{"21", "client"}]), 1);
    EXPECT_EQ((s[{"unknown", "client"}]), 1);
    // Seen from inside: counted under visibility "jvm"; a stale pid changes nothing.
    c.on_jvm_visibility(13, 1003, "jvm");
    c.on_jvm_visibility(12, 999, "jvm");
    s = c.snapshot();
    EXPECT_EQ((s[{"unknown", "client"}]), 0);
    EXPECT_EQ((s[{"unknown", "jvm"}]), 1);
    EXPECT_EQ((s[{"21", "client"}]), 1);
    c.on_jvm_exited(11, 999);   // another process that had the pid
    EXPECT_EQ((c.snapshot()[{"17", "client"}]), 2);
    c.on_jvm_exited(11, 1001);
    c.on_jvm_exited(11, 1001);  // twice: no effect
    c.on_jvm_exited(77, 5);     // never started
    s = c.snapshot();
    EXPECT_EQ((s[{"17", "client"}]), 1);
    EXPECT_EQ(c.size(), 3u);
    // A reused pid replaces the old JVM.
    c.on_jvm_started(jvm_of(10, 2000, "25"), 0, false);
    s = c.snapshot();
    EXPECT_EQ((s[{"17", "client"}]), 0);
    EXPECT_EQ((s[{"25", "client"}]), 1);
}

TEST(MetricsJvmCensus, BoundedLikeTheJvmTable) {
    JvmCensus c(3);
    for (pid_t p = 1; p <= 5; ++p) c.on_jvm_started(jvm_of(p, p, "17"), 0, false);
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ((c.snapshot()[{"17", "client"}]), 3);
    c.on_jvm_exited(1, 1);   // evicted already: nothing to forget
    EXPECT_EQ((c.snapshot()[{"17", "client"}]), 3);
    c.on_jvm_exited(5, 5);
    EXPECT_EQ((c.snapshot()[{"17", "client"}]), 2);
}

// The real event path: recorded kernel events through an EventProcessor, its audit
// events through the counters, its JVM lifecycle through the census.
TEST(MetricsCollector, FromTheRealEventPath) {
    test::Replay r;
    JvmCensus census(4096);
    r.proc->add_listener(&census);
    r.known_jvms[3374] = jvm_of(3374, 119327, "17.0.15");
    r.feed_all(test::load_fixture("jattach_cold.jsonl"));
    r.advance(5'000'000'000);
    EventCounters counters;
    for (const auto& e : r.sink.all()) counters.on_event(e);
    DaemonCollector dc(&counters, &census, StaticInfo{"1.2.3", "abc", {{"exec", "tp_btf/x"}}, 1, 4096, 10, 20, 30, 40, 50});
    dc.update({r.proc->stats_event({}, 0, false, 1.0), 7});
    auto m = parse_prom_text(render(dc));
    EXPECT_EQ(prom_sum(m, "jvmwatch_attaches_total", {"op=\"properties\"", "outcome=\"replied\""}), 1);
    EXPECT_EQ(prom_sum(m, "jvmwatch_events_total", {"type=\"attach\""}), 1);
    EXPECT_EQ(prom_sum(m, "jvmwatch_observed_events_total", {"kind=\"exec\""}),
              static_cast<double>(r.proc->stats_event({}, 0, false, 1)["userspace"]["events_exec"]));
    EXPECT_EQ(prom_sum(m, "jvmwatch_queue_length", {"queue=\"sink\""}), 7);
    EXPECT_EQ(prom_sum(m, "jvmwatch_build_info", {"version=\"1.2.3\"", "commit=\"abc\""}), 1);
    EXPECT_EQ(prom_sum(m, "jvmwatch_hook_info", {"kind=\"exec\"", "hook=\"tp_btf/x\""}), 1);
    // The JVM exited in the fixture: seen, then forgotten.
    bool exited = !r.sink.of_type("jvm.exit").empty();
    EXPECT_EQ(prom_sum(m, "jvmwatch_jvms", {"jdk_major=\"17\""}), exited ? 0 : 1);
    EXPECT_EQ(prom_sum(m, "jvmwatch_jvm_starts_total"), 1);
    for (const auto& [series, v] : m) {
        EXPECT_EQ(series.find("3374"), std::string::npos) << "a pid in a label: " << series;
        EXPECT_EQ(series.find("/proc"), std::string::npos) << "a path in a label: " << series;
    }
}

TEST(MetricsCollector, JvmsTrackedNowFromTheEventPath) {
    test::Replay r;
    JvmCensus census(4096);
    r.proc->add_listener(&census);
    r.known_jvms[3374] = jvm_of(3374, 0, "21.0.3");
    auto evs = test::load_fixture("jattach_cold.jsonl");
    r.feed(evs[0]);   // the JVM's exec only
    ASSERT_EQ(r.sink.of_type("jvm.start").size(), 1u);
    EventCounters counters;
    DaemonCollector dc(&counters, &census, StaticInfo{});
    auto m = parse_prom_text(render(dc));
    EXPECT_EQ(prom_sum(m, "jvmwatch_jvms", {"jdk_major=\"21\"", "visibility=\"client\""}), 1);
}

// Every number in the `stats` event reaches a series (or is shown by another one).
TEST(MetricsCollector, ExportsEveryStatsCounter) {
    test::Replay r;
    json stats = r.proc->stats_event({}, 0, false, 1.0);
    // A distinct value per counter, then look for each value among the samples.
    double next = 1000;
    std::map<std::string, double> want;
    std::set<std::string> derived(DaemonCollector::derived_stats_keys().begin(),
                                  DaemonCollector::derived_stats_keys().end());
    for (auto& [section, body] : stats.items()) {
        if (!body.is_object()) continue;
        for (auto& [key, v] : body.items()) {
            ASSERT_TRUE(v.is_number()) << section << "." << key;
            v = next;
            want[section + "." + key] = next;
            next += 1;
        }
    }
    ASSERT_GT(want.size(), 40u);
    EventCounters counters;
    JvmCensus census(10);
    DaemonCollector dc(&counters, &census, StaticInfo{});
    dc.update({stats, 0});
    std::set<double> values;
    for (auto& [series, v] : parse_prom_text(render(dc))) values.insert(v);
    for (auto& [key, v] : want) {
        if (derived.count(key)) continue;
        EXPECT_TRUE(values.count(v)) << "stats counter " << key << " has no metric";
    }
}

// Names per the Prometheus conventions: prefix, _total exactly on counters, help text,
// and no pid, path or free text in any label.
TEST(MetricsCollector, NamesFollowTheConventions) {
    test::Replay r;
    EventCounters counters;
    counters.on_event({{"type", "inject.failed"}, {"rule", "r"}, {"outcome", "agent_error"}});
    JvmCensus census(10);
    census.on_jvm_started(jvm_of(5, 5, "17"), 0, false);
    DaemonCollector dc(&counters, &census, StaticInfo{});
    dc.update({r.proc->stats_event({}, 0, false, 1.0), 0});
    std::set<std::string> names;
    for (const auto& f : dc.Collect()) {
        EXPECT_TRUE(names.insert(f.name).second) << "family twice: " << f.name;
        EXPECT_EQ(f.name.rfind("jvmwatch_", 0), 0u) << f.name;
        bool total = f.name.size() > 6 && f.name.compare(f.name.size() - 6, 6, "_total") == 0;
        EXPECT_EQ(total, f.type == prometheus::MetricType::Counter) << f.name;
        EXPECT_FALSE(f.help.empty()) << f.name;
        EXPECT_FALSE(f.metric.empty()) << f.name;
        for (const auto& m : f.metric)
            for (const auto& l : m.label) {
                EXPECT_NE(l.name, "pid") << f.name;
                EXPECT_EQ(l.value.find('/'), f.name == "jvmwatch_hook_info" ? l.value.find('/') : std::string::npos)
                    << f.name << " " << l.name << "=" << l.value;
            }
    }
    for (const char* n : {"jvmwatch_events_total", "jvmwatch_attaches_total", "jvmwatch_injections_total",
                          "jvmwatch_injection_failures_total", "jvmwatch_dropped_events_total",
                          "jvmwatch_evictions_total", "jvmwatch_jvms", "jvmwatch_queue_length",
                          "jvmwatch_queue_capacity", "jvmwatch_ringbuf_backlog_events",
                          "jvmwatch_build_info", "jvmwatch_enrichment_requests_total"})
        EXPECT_TRUE(names.count(n)) << "missing " << n;
}

TEST(MetricsCollector, RingbufBacklogIsSubmittedMinusReceived) {
    EventCounters counters;
    JvmCensus census(10);
    DaemonCollector dc(&counters, &census, StaticInfo{});
    dc.update({json{{"kernel", {{"events", 120}, {"received", 100}}}}, 0});
    EXPECT_EQ(prom_sum(parse_prom_text(render(dc)), "jvmwatch_ringbuf_backlog_events"), 20);
    dc.update({json{{"kernel", {{"events", 100}, {"received", 101}}}}, 0});   // read a moment apart
    EXPECT_EQ(prom_sum(parse_prom_text(render(dc)), "jvmwatch_ringbuf_backlog_events"), 0);
}

// The sink's writer thread feeds the tap: every event written passes once.
TEST(MetricsSinkTap, SeesEveryWrittenEvent) {
    test::TempDir dir("jw-metrics");
    EventCounters counters;
    audit::SinkOptions so;
    so.file.path = dir.file("a.log");
    so.tap = &counters;
    audit::AsyncEventSink sink(so);
    std::string err;
    ASSERT_TRUE(sink.start(&err)) << err;
    for (int i = 0; i < 100; ++i) sink.emit({{"type", "jvm.start"}});
    sink.emit({{"type", "attach"}, {"outcome", "no_connect"}});
    sink.flush();
    EventCounts s = counters.snapshot();
    EXPECT_EQ(s.by_type["jvm.start"], 100u);
    EXPECT_EQ(s.by_type["attach"], 1u);
    EXPECT_EQ(sink.queued(), 0u);
    sink.stop();
}

TEST(MetricsConfig, SectionDefaultsAndValidation) {
    std::string err;
    auto d = daemon::parse_daemon_config(daemon::kDefaultConfigYaml, "d", {}, &err);
    ASSERT_TRUE(d) << err;
    EXPECT_TRUE(d->metrics.enabled);
    EXPECT_EQ(d->metrics.listen, "127.0.0.1:9469");
    auto off = daemon::parse_daemon_config("metrics:\n  enabled: false\n  listen: \"0.0.0.0:0\"\n", "f", {}, &err);
    ASSERT_TRUE(off) << err;
    EXPECT_FALSE(off->metrics.enabled);
    EXPECT_EQ(off->metrics.listen, "0.0.0.0:0");
    for (const char* bad : {"localhost:9469", "127.0.0.1", "127.0.0.1:65536", "127.0.0.1:-1",
                            "127.0.0.1:1,127.0.0.1:2", "[::1]:9469", ":9469", "127.0.0.1:9469s"}) {
        err.clear();
        EXPECT_FALSE(daemon::parse_daemon_config(std::string("metrics:\n  listen: \"") + bad + "\"\n", "f", {}, &err))
            << bad;
        EXPECT_EQ(err, "f:2: metrics.listen: expected IPV4:PORT such as 127.0.0.1:9469") << bad;
    }
    EXPECT_FALSE(daemon::parse_daemon_config("metrics:\n  port: 1\n", "f", {}, &err));
    EXPECT_EQ(err, "f:2: unknown key \"metrics.port\"");
    EXPECT_FALSE(daemon::parse_daemon_config("metrics:\n  enabled: maybe\n", "f", {}, &err));
    EXPECT_EQ(err, "f:2: metrics.enabled: expected true or false");
    auto a = daemon::parse_metrics_listen("10.1.2.3:0");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "10.1.2.3");
    EXPECT_EQ(a->port, 0);
}

TEST(MetricsServer, ServesTheCollectorOnAnyFreePort) {
    auto counters = std::make_shared<EventCounters>();
    counters->on_event({{"type", "attach"}, {"outcome", "replied"}, {"operation", "load"}});
    JvmCensus census(10);
    auto dc = std::make_shared<DaemonCollector>(counters.get(), &census, StaticInfo{});
    std::string err;
    auto s = MetricsServer::start("127.0.0.1:0", dc, &err);
    ASSERT_TRUE(s) << err;
    auto colon = s->address().rfind(':');
    ASSERT_EQ(s->address().substr(0, colon), "127.0.0.1");
    int port = std::stoi(s->address().substr(colon + 1));
    ASSERT_GT(port, 0);
    auto reply = test::http_get("127.0.0.1", static_cast<uint16_t>(port), "/metrics");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    auto m = parse_prom_text(reply->body);
    EXPECT_EQ(prom_sum(m, "jvmwatch_attaches_total", {"op=\"load\""}), 1);

    // The same port again: refused, with the reason.
    auto again = MetricsServer::start(s->address(), dc, &err);
    EXPECT_FALSE(again);
    EXPECT_EQ(err, "cannot listen on " + s->address() + ": Address already in use");
    EXPECT_FALSE(MetricsServer::start("1.2.3.4:0", dc, &err));
    EXPECT_EQ(err, "cannot listen on 1.2.3.4:0: Cannot assign requested address");
    EXPECT_FALSE(MetricsServer::start("nonsense", dc, &err));
    EXPECT_EQ(err, "cannot listen on nonsense: expected IPV4:PORT, e.g. 127.0.0.1:9469");
}

TEST(MetricsServer, DaemonMetricsAssembled) {
    daemon::DaemonConfig cfg;
    cfg.metrics.listen = "127.0.0.1:0";
    DaemonMetrics dm(cfg);
    std::string err;
    ASSERT_TRUE(dm.listen(&err)) << err;
    dm.tap()->on_event({{"type", "daemon.start"}});
    dm.census()->on_jvm_started(jvm_of(9, 9, "17.0.1"), 0, false);
    dm.set_hooks({{"exec", "tp_btf/sched_process_exec"}});
    dm.refresh(json{{"drops", {{"ringbuf", 3}}}}, 2);
    int port = std::stoi(dm.address().substr(dm.address().rfind(':') + 1));
    auto reply = test::http_get("127.0.0.1", static_cast<uint16_t>(port), "/metrics");
    ASSERT_TRUE(reply);
    auto m = parse_prom_text(reply->body);
    EXPECT_EQ(prom_sum(m, "jvmwatch_events_total", {"type=\"daemon.start\""}), 1);
    EXPECT_EQ(prom_sum(m, "jvmwatch_jvms", {"jdk_major=\"17\""}), 1);
    EXPECT_EQ(prom_sum(m, "jvmwatch_dropped_events_total", {"cause=\"ringbuf\""}), 3);
    EXPECT_EQ(prom_sum(m, "jvmwatch_queue_capacity", {"queue=\"sink\""}), cfg.audit.queue_capacity);
    EXPECT_EQ(prom_sum(m, "jvmwatch_table_capacity", {"table=\"jvms\""}), cfg.tables.max_jvms);
}
