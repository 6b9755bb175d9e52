// Counts the audit events the sink writes, by type, attach operation and outcome, and
// injection rule and outcome.  An audit::EventTap: called on the sink's writer thread,
// never on the event path; a scrape copies the counters (snapshot()).
// Events the sink queue dropped never reach the writer: they are counted as drops
// (jvmwatch_dropped_events_total{cause="sink_queue"}), not here.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include "userspace/audit/event_tap.h"

namespace jvmwatch::metrics {

struct EventCounts {
    std::map<std::string, uint64_t> by_type;   // every known type, 0 until seen
    // (op, outcome, self) -> attach records.
    std::map<std::tuple<std::string, std::string, bool>, uint64_t> attaches;
    std::map<std::string, uint64_t> inject_matched;                        // rule
    std::map<std::pair<std::string, std::string>, uint64_t> injections;    // (rule, ok|failed|skipped)
    std::map<std::pair<std::string, std::string>, uint64_t> alerts;        // (rule, severity)
    std::map<std::pair<std::string, std::string>, uint64_t> denials;       // (deny rule, verdict)
    std::map<std::pair<std::string, std::string>, uint64_t> inject_failed; // (rule, engine outcome)
    std::map<std::pair<std::string, std::string>, uint64_t> inject_skipped; // (rule, reason)
};

class EventCounters : public audit::EventTap {
public:
    // Distinct rule label values kept; further ones count under "other" (rule names
    // come from the config, so only many reloads with new names could get there).
    static constexpr size_t kMaxRules = 256;

    EventCounters();
    void on_event(const nlohmann::json& event) override;
    EventCounts snapshot() const;

private:
    std::string rule_label(const nlohmann::json& event);
    mutable std::mutex mu_;
    EventCounts c_;
    std::set<std::string> rules_;   // rule label values in use
};

}  // namespace jvmwatch::metrics
