#include "userspace/alert/alert_engine.h"

#include <algorithm>

#include "userspace/policy/alert_matcher.h"

namespace jvmwatch::alert {

namespace {

using nlohmann::json;

constexpr uint64_t kMinuteNs = 60'000'000'000ull;

std::string text(const json& o, const char* k) {
    if (!o.is_object()) return "";
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string number(const json& o, const char* k) {
    if (!o.is_object()) return "";
    auto it = o.find(k);
    return it != o.end() && it->is_number_integer() ? std::to_string(it->get<int64_t>()) : "";
}

const json& sub(const json& o, const char* k) {
    static const json kNull;
    if (!o.is_object()) return kNull;
    auto it = o.find(k);
    return it == o.end() ? kNull : *it;
}

}  // namespace

std::string finding_key(const json& ev) {
    const json& target = sub(ev, ev.contains("target") ? "target" : "jvm");
    std::string key = text(ev, "type") + '\x1f' + number(target, "pid") + '/' +
                      number(target, "start_time_ticks") + '\x1f' +
                      text(sub(ev, "attacher"), "exe") + '\x1f' + text(ev, "operation") + '\x1f' +
                      text(ev, "command") + '\x1f' + text(sub(ev, "agent"), "path") + '\x1f' +
                      text(sub(ev, "artifact"), "sha256");
    if (const json& args = sub(ev, "args"); args.is_array())
        for (const auto& a : args)
            if (a.is_string()) key += '\x1f' + a.get<std::string>();
    return key;
}

std::string alert_summary(const json& ev) {
    std::string type = text(ev, "type");
    const json& target = sub(ev, type == "attach" ? "target" : "jvm");
    std::string s;
    if (type == "attach") {
        const json& a = sub(ev, "attacher");
        s = text(a, "comm") + "[" + number(a, "pid") + "] -> " + number(target, "pid") + ": " +
            (text(ev, "operation").empty() ? "op not seen" : text(ev, "operation"));
        if (const json& args = sub(ev, "args"); args.is_array())
            for (const auto& x : args)
                if (x.is_string() && !x.get<std::string>().empty()) s += " " + x.get<std::string>();
    } else if (type == "agent.load") {
        s = number(target, "pid") + ": agent " + text(sub(ev, "agent"), "path") + " from " +
            text(ev, "origin");
    } else {
        s = number(target, "pid") + ": " + text(ev, "source") + " command " + text(ev, "command");
    }
    return s.size() > 512 ? s.substr(0, 512) : s;
}

AlertEngine::AlertEngine(audit::EventSink* out, std::shared_ptr<const policy::AlertPolicy> rules,
                         std::function<uint64_t()> now_ns)
    : out_(out), now_ns_(std::move(now_ns)), rules_(std::move(rules)) {}

void AlertEngine::set_policy(std::shared_ptr<const policy::AlertPolicy> rules) {
    std::lock_guard<std::mutex> g(mu_);
    rules_ = std::move(rules);
    // Only the rules in force keep state (and so the map stays bounded by the config).
    for (auto it = state_.begin(); it != state_.end();) {
        bool kept = rules_ && std::any_of(rules_->rules.begin(), rules_->rules.end(),
                                          [&](const policy::AlertRule& r) { return r.name == it->first; });
        it = kept ? std::next(it) : state_.erase(it);
    }
    for (auto it = deny_state_.begin(); it != deny_state_.end();) {
        bool kept = rules_ && std::any_of(rules_->deny.begin(), rules_->deny.end(),
                                          [&](const policy::DenyRule& r) { return r.name == it->first; });
        it = kept ? std::next(it) : deny_state_.erase(it);
    }
}

std::optional<json> AlertEngine::check(const policy::AlertRule& r, const json& ev, uint64_t now) {
    if (!policy::matches(r, ev)) return std::nullopt;
    RuleState& st = state_[r.name];
    std::string key = finding_key(ev);
    Finding* f = st.seen.get(key);
    if (f && r.dedup_s && now < f->last_sent_ns + uint64_t(r.dedup_s) * 1'000'000'000ull) {
        ++f->held_back;
        ++st.n.deduplicated;
        return std::nullopt;
    }
    if (now >= st.minute_start_ns + kMinuteNs || st.minute_start_ns == 0) {
        st.minute_start_ns = now ? now : 1;
        st.in_minute = 0;
    }
    if (st.in_minute >= r.max_per_minute) {
        ++st.n.rate_limited;
        return std::nullopt;
    }
    ++st.in_minute;
    ++st.n.alerts;
    uint64_t held = f ? f->held_back : 0;
    st.seen.put(key, Finding{now, 0});
    json a = {{"type", "alert"},
              {"rule", r.name},
              {"severity", std::string(policy::to_string(r.severity))},
              {"builtin", r.builtin},
              {"record_type", text(ev, "type")},
              {"summary", alert_summary(ev)},
              {"record", ev}};
    if (held) a["held_back"] = held;
    return a;
}

// A deny rule's verdict on an attach record (docs/policy.md, "Deny rules"): every
// denial alerts; bounded per rule and minute like the alert rules.
std::optional<json> AlertEngine::deny_alert(const json& ev, uint64_t now) {
    if (text(ev, "type") != "attach") return std::nullopt;
    const json& p = sub(ev, "policy");
    std::string verdict = text(p, "verdict");
    if (verdict != "denied" && verdict != "would_deny" && verdict != "unchecked") return std::nullopt;
    std::string rule = text(p, "rule");
    if (rule.empty()) rule = "deny#" + number(p, "rule_index");   // its generation is gone
    RuleState& st = deny_state_[rule];
    if (now >= st.minute_start_ns + kMinuteNs || st.minute_start_ns == 0) {
        st.minute_start_ns = now ? now : 1;
        st.in_minute = 0;
    }
    if (st.in_minute >= kDenyAlertsPerMinute) {
        ++st.n.rate_limited;
        return std::nullopt;
    }
    ++st.in_minute;
    ++st.n.alerts;
    // An attach that reached a covered JVM by another name escaped the rule: critical.
    std::string severity = verdict == "unchecked" ? "critical" : text(p, "severity");
    if (severity.empty()) severity = "high";
    json a = {{"type", "alert"},
              {"rule", rule},
              {"severity", severity},
              {"builtin", false},
              {"record_type", "attach"},
              {"summary", verdict + ": " + alert_summary(ev)},
              {"deny", {{"verdict", verdict}, {"mode", text(p, "mode").empty() ? "unknown" : text(p, "mode")}}},
              {"record", ev}};
    return a;
}

void AlertEngine::emit(json ev) {
    std::vector<json> alerts;
    if (policy::record_kind(ev)) {
        uint64_t now = now_ns_ ? now_ns_() : 0;
        std::lock_guard<std::mutex> g(mu_);
        if (auto a = deny_alert(ev, now)) alerts.push_back(std::move(*a));
        if (rules_)
            for (const auto& r : rules_->rules)
                if (auto a = check(r, ev, now)) alerts.push_back(std::move(*a));
    }
    out_->emit(std::move(ev));
    for (auto& a : alerts) out_->emit(std::move(a));
}

std::map<std::string, RuleCounts> AlertEngine::counts() const {
    std::lock_guard<std::mutex> g(mu_);
    std::map<std::string, RuleCounts> out;
    for (const auto& [name, st] : state_) out[name] = st.n;
    for (const auto& [name, st] : deny_state_) out[name] = st.n;
    return out;
}

json AlertEngine::stats_json() const {
    RuleCounts total;
    size_t rules = 0;
    {
        std::lock_guard<std::mutex> g(mu_);
        rules = rules_ ? rules_->rules.size() : 0;
        for (const auto* m : {&state_, &deny_state_})
            for (const auto& [name, st] : *m) {
                total.alerts += st.n.alerts;
                total.deduplicated += st.n.deduplicated;
                total.rate_limited += st.n.rate_limited;
            }
    }
    return {{"rules", rules}, {"alerts", total.alerts}, {"deduplicated", total.deduplicated},
            {"rate_limited", total.rate_limited}};
}

}  // namespace jvmwatch::alert
