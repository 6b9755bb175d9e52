// CPU time of one /metrics scrape with 4,096 JVMs tracked, against peers in the same run
// (bench/metrics_scrape.sh runs it; no root needed).
//
// The JVMs go through the real event path: 4,096 exec records of a java launcher, decoded
// and handled by an EventProcessor whose enrichment "inspects" each one (JDK 8/11/17/21/25),
// reported with jvm.start to the metrics' JVM census (a listener) and to the event
// counters (the sink tap).  Then, per scrape, on this thread's CPU clock:
//   scrape_4096   the collector's families serialised to text (what the exposer sends)
//   scrape_0      the same with no JVM tracked (a fresh processor)
//   stats_event   building and serialising the `stats` event (the daemon's periodic peer)
//   http_4096     a scrape over HTTP from the real endpoint (whole-process CPU: client,
//                 civetweb threads and collector) with 4,096 JVMs
// Each is the median of ROUNDS rounds of N scrapes.
//   metrics_scrape_bench [N] [ROUNDS]
#include <sys/resource.h>
#include <time.h>

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/common/http_get.h"
#include "userspace/audit/wall_clock.h"
#include "userspace/daemon/event_processor.h"
#include "userspace/daemon/raw_event_json.h"
#include "userspace/metrics/daemon_collector.h"
#include "userspace/metrics/metrics_server.h"

using namespace jvmwatch;
using nlohmann::json;

namespace {

double thread_cpu_s() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double process_cpu_s() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

// Keeps nothing: the tap sees the events (as the daemon's sink writer would).
class TapSink : public audit::EventSink {
public:
    explicit TapSink(audit::EventTap* tap) : tap_(tap) {}
    void emit(json ev) override {
        std::lock_guard<std::mutex> g(mu_);
        tap_->on_event(ev);
    }
private:
    std::mutex mu_;
    audit::EventTap* tap_;
};

struct Daemon {
    metrics::EventCounters counters;
    metrics::JvmCensus census{4096};
    TapSink sink{&counters};
    std::mutex known_mu;
    std::map<pid_t, jvm::JvmProcess> known;
    std::unique_ptr<daemon::EventProcessor> proc;
    std::shared_ptr<metrics::DaemonCollector> collector;

    Daemon() {
        daemon::ProcessorConfig pc;
        pc.proc_root = "/nonexistent-proc-for-bench";
        pc.max_jvms = 4096;
        daemon::ProcessorDeps d;
        d.sink = &sink;
        d.clock = audit::WallClock(1'700'000'000'000'000'000);
        d.inspect = [this](pid_t pid) {
            std::lock_guard<std::mutex> g(known_mu);
            auto it = known.find(pid);
            return it == known.end() ? std::optional<jvm::JvmProcess>() : it->second;
        };
        d.user_name = [](uid_t uid) { return "user" + std::to_string(uid); };
        d.now = [] { return uint64_t{1}; };
        proc = std::make_unique<daemon::EventProcessor>(pc, d);
        proc->add_listener(&census);
        metrics::StaticInfo info;
        info.version = "bench";
        info.hooks = {{"exec", "tp_btf/sched_process_exec"}, {"exit", "tp_btf/sched_process_exit"}};
        collector = std::make_shared<metrics::DaemonCollector>(&counters, &census, info);
    }

    // n JVMs exec'd, through the decoder and the processor.
    void add_jvms(int n) {
        static const char* kVersions[] = {"1.8.0_392", "11.0.22", "17.0.15", "21.0.3", "25"};
        for (int i = 0; i < n; ++i) {
            pid_t pid = 100000 + i;
            jvm::JvmProcess j;
            j.pid = j.nspid = pid;
            j.kind = jvm::Kind::hotspot;
            j.start_time_ticks = 1000 + i;
            j.jdk_version = kVersions[i % 5];
            j.exe = "/usr/lib/jvm/java/bin/java";
            {
                std::lock_guard<std::mutex> g(known_mu);
                known[pid] = j;
            }
            json e = {{"kind", "exec"}, {"pid", pid}, {"tid", pid}, {"nspid", pid}, {"old_pid", pid},
                      {"ppid", 1}, {"uid", 1000}, {"gid", 1000}, {"cgroup_id", 1}, {"cpu", 0},
                      {"comm", "java"}, {"mntns", 4026531832u}, {"pidns", 4026531836u},
                      {"ts_ns", 1'000'000 + i}, {"start_time_ns", 10'000'000ull * (1000 + i)},
                      {"filename", "/usr/lib/jvm/java/bin/java"},
                      {"args", std::string("java\0-jar\0app.jar\0", 18)}};
            std::string err;
            auto raw = daemon::raw_event_from_json(e, &err);
            if (!raw) {
                std::fprintf(stderr, "metrics_scrape_bench: %s\n", err.c_str());
                std::exit(1);
            }
            proc->handle(raw->data(), raw->size());
            if (i % 256 == 255) proc->wait_enrichment_idle();   // the queue holds 1,024
        }
        proc->wait_enrichment_idle();
    }
    void refresh() { collector->update({proc->stats_event({}, 0, false, 1.0), 0}); }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Median over rounds of the per-call CPU seconds of f, on `clock`.
double measure(int n, int rounds, const std::function<double()>& clock, const std::function<size_t()>& f,
               size_t* bytes) {
    std::vector<double> per;
    for (int r = 0; r < rounds; ++r) {
        double t0 = clock();
        for (int i = 0; i < n; ++i) *bytes = f();
        per.push_back((clock() - t0) / n);
    }
    return median(per);
}

}  // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 200;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
    Daemon full, empty;
    full.add_jvms(4096);
    full.refresh();
    empty.refresh();
    size_t tracked = full.census.size();
    auto jvms = full.proc->stats_event({}, 0, false, 1.0)["tables"]["jvms"].get<uint64_t>();
    std::printf("JVMs tracked: %zu in the census, %llu in the processor's table\n", tracked,
                static_cast<unsigned long long>(jvms));
    if (tracked != 4096 || jvms != 4096) {
        std::fprintf(stderr, "metrics_scrape_bench: expected 4096 JVMs\n");
        return 1;
    }
    prometheus::TextSerializer ser;
    size_t b_full = 0, b_empty = 0, b_stats = 0, b_http = 0;
    double full_s = measure(n, rounds, thread_cpu_s, [&] { return ser.Serialize(full.collector->Collect()).size(); }, &b_full);
    double empty_s = measure(n, rounds, thread_cpu_s, [&] { return ser.Serialize(empty.collector->Collect()).size(); }, &b_empty);
    double stats_s = measure(n, rounds, thread_cpu_s, [&] {
        return full.proc->stats_event({}, 0, false, 1.0).dump().size(); }, &b_stats);

    std::string err;
    auto server = metrics::MetricsServer::start("127.0.0.1:0", full.collector, &err);
    if (!server) {
        std::fprintf(stderr, "metrics_scrape_bench: %s\n", err.c_str());
        return 1;
    }
    uint16_t port = static_cast<uint16_t>(std::stoi(server->address().substr(server->address().rfind(':') + 1)));
    double http_s = measure(n, rounds, process_cpu_s, [&] {
        auto r = test::http_get("127.0.0.1", port, "/metrics");
        return r && r->status == 200 ? r->body.size() : 0; }, &b_http);
    if (!b_http) {
        std::fprintf(stderr, "metrics_scrape_bench: the HTTP scrape failed\n");
        return 1;
    }

    std::printf("%-46s %9.1f us  (%zu bytes)\n", "scrape, 4,096 JVMs (collect + serialise)", full_s * 1e6, b_full);
    std::printf("%-46s %9.1f us  (%zu bytes)\n", "scrape, 0 JVMs (collect + serialise)", empty_s * 1e6, b_empty);
    std::printf("%-46s %9.1f us  (%zu bytes)\n", "stats event, 4,096 JVMs (build + serialise)", stats_s * 1e6, b_stats);
    std::printf("%-46s %9.1f us  (%zu bytes; process CPU)\n", "HTTP scrape, 4,096 JVMs", http_s * 1e6, b_http);
    std::printf("ratio scrape 4,096 JVMs / 0 JVMs: %.2f\n", full_s / empty_s);
    std::printf("ratio scrape 4,096 JVMs / stats event: %.2f\n", full_s / stats_s);
    return 0;
}
