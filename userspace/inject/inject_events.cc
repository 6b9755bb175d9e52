#include "userspace/inject/inject_events.h"

namespace jvmwatch::inject {

std::string_view to_string(SkipReason r) {
    switch (r) {
        case SkipReason::dry_run: return "dry_run";
        case SkipReason::excluded: return "excluded";
        case SkipReason::attach_disabled: return "attach_disabled";
        case SkipReason::dynamic_loading_disabled: return "dynamic_loading_disabled";
        case SkipReason::not_hotspot: return "not_hotspot";
        case SkipReason::already_injected: return "already_injected";
        case SkipReason::previously_failed: return "previously_failed";
        case SkipReason::existing: return "existing";
        case SkipReason::rate_limited: return "rate_limited";
        case SkipReason::overloaded: return "overloaded";
        case SkipReason::exited: return "exited";
        case SkipReason::agent_changed: return "agent_changed";
        case SkipReason::already_present: return "already_present";
        case SkipReason::conflict: return "conflict";
        case SkipReason::dynamic_load_warning: return "dynamic_load_warning";
    }
    return "?";
}

nlohmann::json jvm_summary(const jvm::JvmProcess& j) {
    return {{"pid", j.pid},   {"nspid", j.nspid},         {"start_time_ticks", j.start_time_ticks},
            {"main", j.main}, {"user", j.user},           {"uid", j.euid},
            {"exe", j.exe},   {"jdk_version", j.jdk_version}};
}

nlohmann::json agent_summary(const policy::Agent& a) {
    return {{"kind", a.kind == policy::AgentKind::java ? "java" : "native"},
            {"path", a.path},
            {"options", a.options}};
}

std::string bounded_detail(std::string s) {
    if (s.size() <= kMaxDetailBytes) return s;
    const std::string mark = " [truncated]";
    size_t cut = kMaxDetailBytes - mark.size();
    // Back off continuation bytes (10xxxxxx): never split a character.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    return s + mark;
}

}  // namespace jvmwatch::inject
