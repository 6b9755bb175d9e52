// Helpers for the daemon's unit tests: a sink that keeps events (with the envelope the
// real sink adds) and checks each against docs/events.schema.json, and a replay of
// recorded raw-event fixtures (tests/fixtures/events/) through the real event path.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <mutex>
#include <string>
#include <vector>

#include "tests/common/support.h"
#include "userspace/audit/event_sink.h"
#include "userspace/audit/json_schema.h"
#include "userspace/audit/wall_clock.h"
#include "userspace/daemon/event_processor.h"
#include "userspace/daemon/raw_event_json.h"

namespace jvmwatch::test {

inline const audit::JsonSchema& event_schema() {
    static const audit::JsonSchema schema = [] {
        std::string err;
        auto s = audit::JsonSchema::from_file(source_dir() + "/docs/events.schema.json", &err);
        if (!s) {
            ADD_FAILURE() << "cannot load the event schema: " << err;
            return *audit::JsonSchema::from_json(nlohmann::json::object(), &err);
        }
        return *s;
    }();
    return schema;
}

// Fails the current test with the schema's reasons if `ev` does not conform.
inline void expect_valid_event(const nlohmann::json& ev) {
    std::vector<std::string> errors;
    bool ok = event_schema().validate(ev, &errors);
    std::string why;
    for (auto& e : errors) why += "\n  " + e;
    EXPECT_TRUE(ok) << "event does not match docs/events.schema.json: " << ev.dump() << why;
}

// Keeps what is emitted, with the envelope AsyncEventSink adds, validated on arrival.
class CollectingSink : public audit::EventSink {
public:
    void emit(nlohmann::json ev) override {
        std::lock_guard<std::mutex> g(mu_);
        ev["v"] = 1;
        ev["seq"] = ++seq_;
        ev["time"] = audit::format_rfc3339_ns(audit::realtime_now_ns());
        ev["host"] = "test";
        expect_valid_event(ev);
        events_.push_back(std::move(ev));
    }
    std::vector<nlohmann::json> of_type(const std::string& t) const {
        std::lock_guard<std::mutex> g(mu_);
        std::vector<nlohmann::json> out;
        for (const auto& e : events_) if (e["type"] == t) out.push_back(e);
        return out;
    }
    std::vector<nlohmann::json> all() const {
        std::lock_guard<std::mutex> g(mu_);
        return events_;
    }
private:
    mutable std::mutex mu_;
    uint64_t seq_ = 0;
    std::vector<nlohmann::json> events_;
};

// Raw events of a fixture file (its first line, without "kind", describes it).
inline std::vector<nlohmann::json> load_fixture(const std::string& name) {
    std::ifstream in(source_dir() + "/tests/fixtures/events/" + name);
    EXPECT_TRUE(in.good()) << "missing fixture " << name;
    std::vector<nlohmann::json> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto j = nlohmann::json::parse(line);
        if (j.contains("kind")) out.push_back(std::move(j));
    }
    return out;
}

// Deep-mode kinds, absent in the default mode.
inline bool is_deep_kind(const nlohmann::json& e) {
    std::string k = e["kind"];
    return k == "trigger" || k == "sock_write" || k == "sock_read" || k == "sock_close";
}

// An EventProcessor over a /proc that does not exist (identity comes from the events
// alone, JVMs from `known_jvms`), fed raw bytes built from fixture JSON, with a fake
// monotonic clock.  Each feed waits for the enrichment workers to be idle.
class Replay {
public:
    explicit Replay(daemon::CorrelatorConfig corr = {}, size_t max_processes = 1024) {
        daemon::ProcessorConfig pc;
        pc.proc_root = "/nonexistent-proc-for-tests";
        pc.max_processes = max_processes;
        pc.correlation = corr;
        daemon::ProcessorDeps d;
        d.sink = &sink;
        d.clock = audit::WallClock(1'700'000'000'000'000'000);
        d.inspect = [this](pid_t pid) {
            std::lock_guard<std::mutex> g(known_mu);
            auto it = known_jvms.find(pid);
            return it == known_jvms.end() ? std::optional<jvm::JvmProcess>() : it->second;
        };
        d.user_name = [](uid_t uid) { return "user" + std::to_string(uid); };
        d.track = [this](pid_t p) { tracked.push_back(p); return true; };
        d.untrack = [](pid_t) { return true; };
        d.now = [this] { return now; };
        d.alive = [this](pid_t pid, uint64_t) { return !gone.count(pid); };
        proc = std::make_unique<daemon::EventProcessor>(pc, d);
    }
    void feed(const nlohmann::json& e) {
        std::string err;
        auto raw = daemon::raw_event_from_json(e, &err);
        ASSERT_TRUE(raw) << err << ": " << e.dump();
        now = std::max<uint64_t>(now, e.value("ts_ns", uint64_t{0}));
        proc->handle(raw->data(), raw->size());
        // Enrichment answers on workers: let it, so records see what it learnt (as in
        // the daemon, where the ring buffer's pace leaves it time).
        ASSERT_TRUE(proc->wait_enrichment_idle());
    }
    void feed_all(const std::vector<nlohmann::json>& evs, bool deep = true) {
        for (const auto& e : evs) if (deep || !is_deep_kind(e)) feed(e);
    }
    // Lets time pass (correlation windows) and runs the timer.
    void advance(uint64_t ns) {
        now += ns;
        proc->tick(now);
    }
    CollectingSink sink;
    std::mutex known_mu;                           // workers read known_jvms
    std::map<pid_t, jvm::JvmProcess> known_jvms;   // what "inspecting /proc" finds
    std::set<pid_t> gone;                          // processes "no longer in /proc"
    std::unique_ptr<daemon::EventProcessor> proc;
    std::vector<pid_t> tracked;
    uint64_t now = 0;
};

}  // namespace jvmwatch::test
