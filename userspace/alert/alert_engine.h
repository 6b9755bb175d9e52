// Alerts: a sink between the daemon's producers and the audit sink.  Every event passes
// through unchanged; each attach record, agent load and diagnostic command is checked
// against the alert rules (userspace/policy/alert_rules.h), and each rule that holds
// emits one `alert` event right after the record (docs/events.md), unless the same
// finding (rule, attacher, target, operation, agent) was sent within the rule's dedup_s
// (counted, and the next alert says how many were held back) or the rule already sent
// max_per_minute this minute (counted).  In memory only and bounded: 1024 findings
// remembered per rule.  The rules are swapped whole on reload (set_policy); a rule
// keeps its counts across reloads by name.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "userspace/audit/event_sink.h"
#include "userspace/daemon/lru_map.h"
#include "userspace/policy/alert_rules.h"

namespace jvmwatch::alert {

struct RuleCounts {
    uint64_t alerts = 0;         // sent
    uint64_t deduplicated = 0;   // the same finding within dedup_s
    uint64_t rate_limited = 0;   // over max_per_minute
};

class AlertEngine : public audit::EventSink {
public:
    // `now_ns`: CLOCK_MONOTONIC (tests pass their own).
    AlertEngine(audit::EventSink* out, std::shared_ptr<const policy::AlertPolicy> rules,
                std::function<uint64_t()> now_ns);

    void emit(nlohmann::json event) override;
    void set_policy(std::shared_ptr<const policy::AlertPolicy> rules);

    std::map<std::string, RuleCounts> counts() const;
    // {"rules": N, "alerts": ..., "deduplicated": ..., "rate_limited": ...} for `stats`.
    nlohmann::json stats_json() const;

private:
    struct Finding {
        uint64_t last_sent_ns = 0;
        uint64_t held_back = 0;
    };
    struct RuleState {
        daemon::LruMap<std::string, Finding> seen{1024};
        uint64_t minute_start_ns = 0;
        uint32_t in_minute = 0;
        RuleCounts n;
    };
    std::optional<nlohmann::json> check(const policy::AlertRule& r, const nlohmann::json& ev,
                                        uint64_t now);
    std::optional<nlohmann::json> deny_alert(const nlohmann::json& ev, uint64_t now);
    static constexpr uint32_t kDenyAlertsPerMinute = 600;

    audit::EventSink* out_;
    std::function<uint64_t()> now_ns_;
    mutable std::mutex mu_;
    std::shared_ptr<const policy::AlertPolicy> rules_;   // guarded
    std::map<std::string, RuleState> state_;             // guarded, by rule name
    std::map<std::string, RuleState> deny_state_;        // guarded, by deny rule name
};

// The key that makes two alerts of one rule the same finding.
std::string finding_key(const nlohmann::json& event);
// One line saying what the record is about ("jattach[77] -> 3374: load /x.jar").
std::string alert_summary(const nlohmann::json& event);

}  // namespace jvmwatch::alert
