// Observer benchmarks, run by bench/observer_*.sh (root).  Uses the Observer class directly.
//
//   observer_bench latency N [GAP_US]     N execs of /bin/true, GAP_US apart; kernel exec
//                                         timestamp -> callback, p50/p99/max (CLOCK_MONOTONIC)
//   observer_bench throughput RATE... [--secs S]
//                                         for each RATE (exec/s, "max" = unpaced), run the
//                                         storm for S s; report received/lost per rate
//   observer_bench hold SECS [--deep]     load and consume for SECS (overhead, CPU/RSS);
//                                         prints "ready" once attached, stats at the end
//   observer_bench spawn RATE SECS        only generate execs at RATE (no observer)
//   ... --exe PATH                        exec PATH instead of /bin/true
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "userspace/observer/observer.h"

extern char** environ;

namespace obs = jvmwatch::observer;

namespace {

uint64_t now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// What the storms exec: /bin/true, or --exe PATH (e.g. build/bin/observer_true).
std::string g_exe = "/bin/true";

bool spawn_true() {
    char* argv[] = {g_exe.data(), nullptr};
    pid_t pid;
    if (posix_spawn(&pid, g_exe.c_str(), nullptr, nullptr, argv, environ) != 0) return false;
    int st;
    return waitpid(pid, &st, 0) == pid;
}

// Spawns at `rate` exec/s (0 = as fast as possible) for `secs`, from two threads (the
// machine has two cores).  Returns the number of execs made.
uint64_t spawn_at(double rate, double secs) {
    std::atomic<uint64_t> made{0};
    const uint64_t start = now_ns();
    const uint64_t end = start + static_cast<uint64_t>(secs * 1e9);
    const int nthreads = 2;
    std::vector<std::thread> ts;
    for (int t = 0; t < nthreads; ++t) {
        ts.emplace_back([&, t] {
            uint64_t i = 0;
            for (;;) {
                uint64_t now = now_ns();
                if (now >= end) break;
                if (rate > 0) {
                    // Thread t owns slots t, t+n, ...: slot k is due at start + k/rate.
                    uint64_t due = start + static_cast<uint64_t>((i * nthreads + t) * 1e9 / rate);
                    if (due > now) {
                        struct timespec ts{static_cast<time_t>((due - now) / 1000000000ull),
                                           static_cast<long>((due - now) % 1000000000ull)};
                        nanosleep(&ts, nullptr);
                    }
                }
                if (spawn_true()) made.fetch_add(1);
                ++i;
            }
        });
    }
    for (auto& t : ts) t.join();
    return made.load();
}

std::unique_ptr<obs::Observer> make_observer(bool deep, uint32_t parent_filter) {
    obs::Options o;
    o.deep = deep;
    o.exec_parent_filter = parent_filter;
    std::string err;
    auto ob = obs::Observer::create(o, &err);
    if (!ob) {
        std::fprintf(stderr, "observer_bench: %s\n", err.c_str());
        std::exit(13);
    }
    return ob;
}

double pct(std::vector<uint64_t>& v, double p) {
    if (v.empty()) return 0;
    size_t k = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return static_cast<double>(v[k]);
}

int latency(int n, int gap_us) {
    auto ob = make_observer(false, static_cast<uint32_t>(getpid()));
    std::mutex mu;
    std::vector<uint64_t> lat;
    lat.reserve(static_cast<size_t>(n));
    ob->start([&](const jw_event_hdr* h, size_t size) {
        uint64_t t = now_ns();
        if (!obs::event_cast<jw_exec_event>(h, size)) return;
        std::lock_guard<std::mutex> lk(mu);
        lat.push_back(t - h->ts_ns);
    });
    for (int i = 0; i < n; ++i) {
        spawn_true();
        if (gap_us) usleep(static_cast<useconds_t>(gap_us));
    }
    usleep(200000);
    ob->stop();
    auto st = ob->stats();
    std::lock_guard<std::mutex> lk(mu);
    std::vector<uint64_t> v = lat;
    std::printf("latency: execs=%d received=%zu lost=%lu  p50=%.1f us  p99=%.1f us  max=%.1f us\n",
                n, v.size(), static_cast<unsigned long>(st.exec_drops), pct(v, 50) / 1e3,
                pct(v, 99) / 1e3, pct(v, 100) / 1e3);
    return 0;
}

int throughput(const std::vector<std::string>& rates, double secs) {
    const uint32_t me = static_cast<uint32_t>(getpid());
    double best_zero_loss = 0;
    for (const auto& r : rates) {
        double rate = r == "max" ? 0 : std::atof(r.c_str());
        auto ob = make_observer(false, me);
        std::atomic<uint64_t> got{0};
        ob->start([&](const jw_event_hdr* h, size_t size) {
            if (obs::event_cast<jw_exec_event>(h, size)) got.fetch_add(1);
        });
        uint64_t t0 = now_ns();
        uint64_t made = spawn_at(rate, secs);
        double elapsed = static_cast<double>(now_ns() - t0) / 1e9;
        usleep(300000);
        ob->stop();
        auto st = ob->stats();
        double achieved = static_cast<double>(made) / elapsed;
        bool exact = got.load() + st.exec_drops == made;
        std::printf("throughput: target=%s/s achieved=%.0f/s execs=%lu received=%lu lost=%lu %s\n",
                    r.c_str(), achieved, static_cast<unsigned long>(made),
                    static_cast<unsigned long>(got.load()), static_cast<unsigned long>(st.exec_drops),
                    exact ? "(accounted exactly)" : "(ACCOUNTING MISMATCH)");
        if (st.exec_drops == 0 && exact) best_zero_loss = std::max(best_zero_loss, achieved);
        std::fflush(stdout);
    }
    std::printf("throughput: highest exec rate with zero loss: %.0f exec/s\n", best_zero_loss);
    return 0;
}

int hold(double secs, bool deep) {
    auto ob = make_observer(deep, 0);
    std::atomic<uint64_t> n{0};
    ob->start([&](const jw_event_hdr*, size_t) { n.fetch_add(1); });
    std::printf("ready\n");
    std::fflush(stdout);
    usleep(static_cast<useconds_t>(secs * 1e6));
    ob->stop();
    auto st = ob->stats();
    std::printf("hold: events=%lu received=%lu lost=%lu\n", static_cast<unsigned long>(st.events),
                static_cast<unsigned long>(st.received),
                static_cast<unsigned long>(st.ringbuf_drops));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: see bench/observer_bench.cc\n");
        return 2;
    }
    std::string mode = argv[1];
    // A trailing "--exe PATH" picks the program the storms exec.
    if (argc >= 4 && !std::strcmp(argv[argc - 2], "--exe")) {
        g_exe = argv[argc - 1];
        argc -= 2;
    }
    if (mode == "latency") return latency(argc > 2 ? std::atoi(argv[2]) : 2000,
                                          argc > 3 ? std::atoi(argv[3]) : 1000);
    if (mode == "throughput") {
        std::vector<std::string> rates;
        double secs = 5;
        for (int i = 2; i < argc; ++i) {
            if (!std::strcmp(argv[i], "--secs") && i + 1 < argc) secs = std::atof(argv[++i]);
            else rates.emplace_back(argv[i]);
        }
        if (rates.empty()) rates = {"1000", "2000", "4000", "max"};
        return throughput(rates, secs);
    }
    if (mode == "hold")   // [--default|--deep]
        return hold(argc > 2 ? std::atof(argv[2]) : 10, argc > 3 && !std::strcmp(argv[3], "--deep"));
    if (mode == "spawn") {
        double rate = argc > 2 ? std::atof(argv[2]) : 1000, secs = argc > 3 ? std::atof(argv[3]) : 10;
        uint64_t t0 = now_ns();
        uint64_t made = spawn_at(rate, secs);
        std::printf("spawn: %lu execs in %.2f s\n", static_cast<unsigned long>(made),
                    static_cast<double>(now_ns() - t0) / 1e9);
        return 0;
    }
    std::fprintf(stderr, "observer_bench: unknown mode %s\n", mode.c_str());
    return 2;
}
