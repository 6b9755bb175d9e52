#include "userspace/api/api_state.h"

#include <algorithm>

#include "userspace/api/since.h"

namespace jvmwatch::api {

namespace {

using json = nlohmann::json;

const json& field(const json& obj, const char* key) {
    static const json null;
    if (!obj.is_object()) return null;
    auto it = obj.find(key);
    return it == obj.end() ? null : *it;
}

std::optional<int64_t> int_field(const json& obj, const char* key) {
    const json& v = field(obj, key);
    if (v.is_number_integer()) return v.get<int64_t>();
    return std::nullopt;
}

std::optional<pid_t> pid_of(const json& obj) {
    auto p = int_field(obj, "pid");
    if (!p || *p <= 0 || *p > INT32_MAX) return std::nullopt;
    return static_cast<pid_t>(*p);
}

std::string cut_utf8(std::string s, size_t max) {
    if (s.size() <= max) return s;
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s.resize(n);
    return s;
}

// The options before the main class (or -jar) that take a separate value.
bool takes_value(const std::string& a) {
    return a == "-cp" || a == "-classpath" || a == "--class-path" || a == "-p" || a == "--module-path" ||
           a == "--add-modules" || a == "--upgrade-module-path" || a == "--limit-modules";
}

std::string short_hash(const json& agent) {
    for (const char* k : {"sha256", "agent_sha256"}) {
        const json& h = field(agent, k);
        if (h.is_string()) {
            std::string s = h.get<std::string>().substr(0, 12);
            if (std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
                return s;
        }
    }
    return "";
}

// The injector stages agents under names made of their sha256 (".jvmwatch-agent-<hex>.jar",
// "<sha256>.jar" in the agent store): the first 12 digits of such a name, else "".
std::string hash_from_staged_path(const json& path) {
    if (!path.is_string()) return "";
    std::string name = path.get<std::string>();
    if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
    const std::string prefix = ".jvmwatch-agent-";
    if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
    size_t n = 0;
    while (n < name.size() && std::isxdigit(static_cast<unsigned char>(name[n]))) ++n;
    return n >= 32 ? name.substr(0, 12) : "";
}

}  // namespace

bool EventFilter::matches(const RingEntry& e) const {
    if (!type.empty()) {
        if (type.back() == '.' ? e.type.rfind(type, 0) != 0 : e.type != type) return false;
    }
    if (pid && std::find(e.pids.begin(), e.pids.end(), *pid) == e.pids.end()) return false;
    if (since_ns && e.time_ns < *since_ns) return false;
    return true;
}

ApiState::ApiState(StateLimits limits, int64_t started_mono_ns)
    : limits_(limits), started_mono_ns_(started_mono_ns) {
    if (limits_.events_ring == 0) limits_.events_ring = 1;
}

std::string ApiState::cap(const json& v) const {
    if (!v.is_string()) return "";
    return cut_utf8(v.get<std::string>(), limits_.max_string);
}

size_t ApiState::position_of(uint64_t index) const {
    if (ring_.empty() || index <= ring_.front().index) return 0;
    size_t pos = index - ring_.front().index;   // indexes are consecutive in the ring
    return std::min(pos, ring_.size());
}

void ApiState::consume(const json& ev) {
    if (!ev.is_object()) return;
    RingEntry e;
    e.index = next_index_++;
    const json& type = field(ev, "type");
    e.type = type.is_string() ? cut_utf8(type.get<std::string>(), 64) : "?";
    if (const json& t = field(ev, "time"); t.is_string())
        e.time_ns = parse_rfc3339_ns(t.get<std::string>()).value_or(0);
    for (const char* k : {"jvm", "target", "attacher"})
        if (auto p = pid_of(field(ev, k))) e.pids.push_back(*p);
    e.line = ev.dump(-1, ' ', false, json::error_handler_t::replace);

    if (e.type == "jvm.start") {
        on_jvm_start(ev);
    } else if (e.type == "jvm.exit") {
        if (auto p = pid_of(field(ev, "jvm"))) {
            auto it = jvms_.find(*p);
            auto ticks = int_field(field(ev, "jvm"), "start_time_ticks");
            // A stale exit must not remove a newer JVM that reuses the pid.
            if (it != jvms_.end() && (!ticks || !it->second.start_time_ticks ||
                                      uint64_t(*ticks) == it->second.start_time_ticks))
                jvms_.erase(it);
        }
    } else if (e.type == "attach") {
        on_attach(ev);
    } else if (e.type == "agent.load") {
        on_agent_load(ev);
    } else if (e.type.rfind("inject.", 0) == 0) {
        on_inject(ev, e.type);
    } else if (e.type == "stats") {
        stats_ = ev;
    } else if (e.type == "daemon.start") {
        for (const char* k : {"version", "pid", "deep", "config", "audit_log", "hooks"})
            if (ev.contains(k)) daemon_[k] = ev[k];
        daemon_["config_loaded"] = field(ev, "time");
    } else if (e.type == "daemon.reload") {
        if (field(ev, "ok") == true) daemon_["config_loaded"] = field(ev, "time");
        daemon_["last_reload"] = {{"time", field(ev, "time")}, {"ok", field(ev, "ok")},
                                  {"error", cap(field(ev, "error"))}};
    }

    ring_.push_back(std::move(e));
    while (ring_.size() > limits_.events_ring) {
        ring_.pop_front();
        ++ring_evicted_;
    }
}

void ApiState::on_jvm_start(const json& ev) {
    const json& j = field(ev, "jvm");
    auto pid = pid_of(j);
    if (!pid) return;
    uint64_t ticks = static_cast<uint64_t>(std::max<int64_t>(0, int_field(j, "start_time_ticks").value_or(0)));
    auto it = jvms_.find(*pid);
    if (it != jvms_.end() && it->second.start_time_ticks == ticks && ticks) {
        return;   // the same JVM reported again (e.g. by another detector)
    }
    if (it == jvms_.end() && jvms_.size() >= limits_.max_jvms) {
        ++jvms_dropped_;
        return;
    }
    JvmView v;
    v.pid = *pid;
    v.start_time_ticks = ticks;
    const json& exec_time = field(ev, "exec_time");
    v.started = cap(exec_time.is_string() ? exec_time : field(ev, "time"));
    v.user = cap(field(j, "user"));
    v.uid = static_cast<uint32_t>(int_field(j, "uid").value_or(0));
    v.main = cap(field(j, "main"));
    v.jdk = cap(field(j, "jdk_version"));
    v.container_id = cap(field(j, "container_id"));
    v.exe = cap(field(j, "exe"));
    if (field(j, "visibility") == "jvm") v.visibility = "jvm";
    // The daemon's own reading of them (hashed) when it has one, else the command line.
    if (const json& agents = field(j, "agents"); agents.is_array()) {
        for (const auto& a : agents) {
            AgentView av;
            av.source = "static";
            av.kind = cap(field(a, "kind"));
            if (av.kind == "lib") av.kind = "native";   // -agentlib: as the fallback names it
            av.path = cap(field(a, "path"));
            av.options = cap(field(a, "options"));
            av.sha256 = short_hash(a);
            add_agent(v, std::move(av));
        }
        if (auto d = int_field(j, "agents_dropped"); d && *d > 0) v.agents_dropped += static_cast<uint64_t>(*d);
    } else {
        add_static_agents(v, field(j, "cmdline"));
    }
    jvms_[*pid] = std::move(v);
}

void ApiState::add_static_agents(JvmView& j, const json& cmdline) {
    if (!cmdline.is_array()) return;
    bool skip_value = false;
    for (const auto& a : cmdline) {
        if (&a == &cmdline.front()) continue;   // the executable
        if (!a.is_string()) continue;
        const std::string& s = a.get_ref<const std::string&>();
        if (skip_value) { skip_value = false; continue; }
        if (s == "-jar" || s.empty() || s[0] != '-') break;   // the program's own args follow
        if (takes_value(s)) { skip_value = true; continue; }
        struct { const char* prefix; const char* kind; } kinds[] = {
            {"-javaagent:", "java"}, {"-agentpath:", "native"}, {"-agentlib:", "native"}};
        for (auto& k : kinds) {
            std::string p = k.prefix;
            if (s.rfind(p, 0) != 0) continue;
            std::string spec = s.substr(p.size());
            AgentView av;
            av.kind = k.kind;
            av.source = "static";
            size_t eq = spec.find('=');
            av.path = cut_utf8(spec.substr(0, eq), limits_.max_string);
            if (eq != std::string::npos) av.options = cut_utf8(spec.substr(eq + 1), limits_.max_string);
            add_agent(j, std::move(av));
        }
    }
}

void ApiState::add_agent(JvmView& j, AgentView a) {
    if (j.agents.size() >= limits_.max_agents) {
        ++j.agents_dropped;
        return;
    }
    j.agents.push_back(std::move(a));
}

void ApiState::on_agent_load(const json& ev) {
    auto pid = pid_of(field(ev, "jvm"));
    if (!pid) return;
    auto it = jvms_.find(*pid);
    if (it == jvms_.end()) return;
    const json& agent = field(ev, "agent");
    AgentView av;
    av.kind = cap(field(agent, "kind"));
    if (av.kind == "lib") av.kind = "native";
    av.path = cap(field(agent, "path"));
    av.options = cap(field(agent, "options"));
    av.source = cap(field(ev, "origin"));
    av.time = cap(field(ev, "time"));
    av.sha256 = short_hash(field(ev, "artifact"));
    add_agent(it->second, std::move(av));
}

void ApiState::on_attach(const json& ev) {
    auto pid = pid_of(field(ev, "target"));
    if (!pid) return;
    auto it = jvms_.find(*pid);
    if (it == jvms_.end()) return;
    JvmView& j = it->second;
    const json& who = field(ev, "attacher");
    std::string op = cap(field(ev, "operation"));
    json args = json::array();
    if (const json& a = field(ev, "args"); a.is_array())
        for (const auto& s : a)
            if (args.size() < 8) args.push_back(cap(s));
    json last = {{"attacher", {{"pid", int_field(who, "pid").value_or(0)},
                               {"comm", cap(field(who, "comm"))},
                               {"exe", cap(field(who, "exe"))},
                               {"user", cap(field(who, "user"))},
                               {"uid", int_field(who, "uid").value_or(0)}}},
                 {"op", op},
                 {"args", args},
                 {"time", cap(field(ev, "start_time"))},
                 {"outcome", cap(field(ev, "outcome"))}};
    auto rc = int_field(ev, "result_code");
    if (rc) last["result_code"] = *rc;
    j.last_attach = std::move(last);

    // Seen from inside, the load comes as its own agent.load (with its hash and origin).
    if (op != "load" || args.empty() || field(ev, "visibility") == "jvm") return;
    AgentView av;
    av.source = "attach";
    av.time = cap(field(ev, "start_time"));
    av.result_code = rc;
    std::string lib = args[0].get<std::string>();
    if (lib == "instrument" && args.size() >= 3) {
        std::string spec = args[2].get<std::string>();
        size_t eq = spec.find('=');
        av.kind = "java";
        av.path = spec.substr(0, eq);
        if (eq != std::string::npos) av.options = spec.substr(eq + 1);
    } else {
        av.kind = "native";
        av.path = lib;
        if (args.size() >= 3) av.options = args[2].get<std::string>();
    }
    add_agent(j, std::move(av));
}

void ApiState::on_inject(const json& ev, const std::string& type) {
    auto pid = pid_of(field(ev, "jvm"));
    if (!pid) return;
    auto it = jvms_.find(*pid);
    if (it == jvms_.end()) return;
    JvmView& j = it->second;
    std::string outcome = type.substr(7);   // ok, failed, skipped, matched
    if (type == "inject.failed" && field(ev, "outcome").is_string()) outcome += ": " + cap(field(ev, "outcome"));
    if (type == "inject.skipped" && field(ev, "reason").is_string()) outcome += ": " + cap(field(ev, "reason"));
    j.injection = json{{"rule", field(ev, "rule").is_string() ? cap(field(ev, "rule")) : ""},
                       {"outcome", outcome},
                       {"time", cap(field(ev, "time"))}};
    if (type != "inject.ok") return;
    const json& agent = field(ev, "agent");
    AgentView av;
    av.source = "inject";
    av.kind = cap(field(agent, "kind"));
    av.path = cap(field(agent, "path"));
    av.options = cap(field(agent, "options"));
    av.sha256 = short_hash(agent);
    if (av.sha256.empty()) av.sha256 = short_hash(ev);
    if (av.sha256.empty()) av.sha256 = hash_from_staged_path(field(ev, "agent_path"));
    av.time = cap(field(ev, "time"));
    add_agent(j, std::move(av));
}

nlohmann::json ApiState::ps_json() const {
    json arr = json::array();
    for (const auto& [pid, j] : jvms_) {
        json agents = json::array();
        for (const auto& a : j.agents) {
            json o = {{"kind", a.kind}, {"path", a.path}, {"source", a.source}};
            if (!a.options.empty()) o["options"] = a.options;
            if (!a.sha256.empty()) o["sha256"] = a.sha256;
            if (!a.time.empty()) o["time"] = a.time;
            if (a.result_code) o["result_code"] = *a.result_code;
            agents.push_back(std::move(o));
        }
        json row = {{"pid", pid}, {"start_time_ticks", j.start_time_ticks}, {"started", j.started},
                    {"user", j.user}, {"uid", j.uid}, {"main", j.main}, {"jdk", j.jdk},
                    {"container_id", j.container_id}, {"exe", j.exe}, {"agents", agents},
                    {"visibility", j.visibility}};
        if (j.agents_dropped) row["agents_dropped"] = j.agents_dropped;
        row["injection"] = j.injection ? *j.injection : json(nullptr);
        row["last_attach"] = j.last_attach ? *j.last_attach : json(nullptr);
        arr.push_back(std::move(row));
    }
    return arr;
}

nlohmann::json ApiState::status_json(int64_t now_mono_ns) const {
    json s = daemon_;
    s["uptime_s"] = double(now_mono_ns - started_mono_ns_) / 1e9;
    s["jvms"] = jvms_.size();
    s["api"] = {{"events_ring", ring_.size()},
                {"events_ring_capacity", limits_.events_ring},
                {"events_evicted", ring_evicted_},
                {"events_dropped", feed_dropped_},
                {"jvms_dropped", jvms_dropped_},
                {"clients", clients_},
                {"clients_refused", clients_refused_},
                {"clients_dropped", clients_dropped_}};
    if (stats_.is_object()) {
        json st = {{"time", field(stats_, "time")}};
        for (const char* k : {"drops", "evictions", "tables", "enrichment", "uptime_s"})
            if (stats_.contains(k)) st[k] = stats_[k];
        s["stats"] = std::move(st);
    } else {
        s["stats"] = nullptr;
    }
    return s;
}

}  // namespace jvmwatch::api
