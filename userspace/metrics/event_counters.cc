#include "userspace/metrics/event_counters.h"

#include "userspace/metrics/metric_labels.h"

namespace jvmwatch::metrics {

namespace {

const std::string* string_field(const nlohmann::json& ev, const char* key) {
    auto it = ev.find(key);
    return it != ev.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

std::string_view string_or_empty(const nlohmann::json& ev, const char* key) {
    const std::string* s = string_field(ev, key);
    return s ? std::string_view(*s) : std::string_view();
}

}  // namespace

EventCounters::EventCounters() {
    for (const char* t : {"daemon.start", "daemon.stop", "daemon.reload", "stats", "jvm.start",
                          "jvm.exit", "attach", "thread_dump_request", "inject.matched", "inject.ok",
                          "inject.failed", "inject.skipped", "agent.load", "jvm.dcmd", "alert"})
        c_.by_type[t] = 0;
}

std::string EventCounters::rule_label(const nlohmann::json& ev) {
    // No rule (null) when none matched: an empty label value, i.e. no rule label.
    std::string rule(string_or_empty(ev, "rule"));
    if (rule.empty() || rules_.count(rule)) return rule;
    if (rules_.size() >= kMaxRules) return "other";
    rules_.insert(rule);
    return rule;
}

void EventCounters::on_event(const nlohmann::json& ev) {
    std::string_view type = string_or_empty(ev, "type");
    std::lock_guard<std::mutex> g(mu_);
    ++c_.by_type[std::string(event_type_label(type))];
    if (type == "attach") {
        auto it = ev.find("self");
        bool self = it != ev.end() && it->is_boolean() && it->get<bool>();
        ++c_.attaches[{std::string(attach_op_label(string_field(ev, "operation"))),
                       std::string(attach_outcome_label(string_or_empty(ev, "outcome"))), self}];
        if (auto p = ev.find("policy"); p != ev.end() && p->is_object()) {
            std::string_view verdict = string_or_empty(*p, "verdict");
            if (verdict == "denied" || verdict == "would_deny" || verdict == "unchecked")
                ++c_.denials[{rule_label(*p), std::string(verdict)}];
        }
    } else if (type == "alert") {
        std::string_view sev = string_or_empty(ev, "severity");
        ++c_.alerts[{rule_label(ev), std::string(alert_severity_label(sev))}];
    } else if (type == "inject.matched") {
        ++c_.inject_matched[rule_label(ev)];
    } else if (type == "inject.ok") {
        ++c_.injections[{rule_label(ev), "ok"}];
    } else if (type == "inject.failed") {
        std::string rule = rule_label(ev);
        ++c_.injections[{rule, "failed"}];
        ++c_.inject_failed[{rule, std::string(inject_failure_label(string_or_empty(ev, "outcome")))}];
    } else if (type == "inject.skipped") {
        std::string rule = rule_label(ev);
        ++c_.injections[{rule, "skipped"}];
        ++c_.inject_skipped[{rule, std::string(inject_skip_label(string_or_empty(ev, "reason")))}];
    }
}

EventCounts EventCounters::snapshot() const {
    std::lock_guard<std::mutex> g(mu_);
    return c_;
}

}  // namespace jvmwatch::metrics
