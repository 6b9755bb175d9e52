#include "userspace/daemon/raw_event_json.h"

#include <cstring>

#include "userspace/daemon/event_decoder.h"

namespace jvmwatch::daemon {

namespace {

struct Kind {
    const char* name;
    uint32_t type;
    size_t size;
};
const Kind kKinds[] = {
    {"exec", JW_EV_EXEC, sizeof(jw_exec_event)},
    {"exit", JW_EV_EXIT, sizeof(jw_exit_event)},
    {"thread_name", JW_EV_THREAD_NAME, sizeof(jw_thread_name_event)},
    {"sigquit", JW_EV_SIGQUIT, sizeof(jw_sigquit_event)},
    {"connect", JW_EV_CONNECT, sizeof(jw_connect_event)},
    {"trigger", JW_EV_TRIGGER, sizeof(jw_trigger_event)},
    {"sock_write", JW_EV_SOCK_WRITE, sizeof(jw_sock_data_event)},
    {"sock_read", JW_EV_SOCK_READ, sizeof(jw_sock_data_event)},
    {"sock_close", JW_EV_SOCK_CLOSE, sizeof(jw_sock_close_event)},
    {"identity", JW_EV_IDENTITY, sizeof(jw_identity_event)},
    {"jvm_attach", JW_EV_JVM_ATTACH, sizeof(jw_jvm_attach_event)},
    {"jvm_agent", JW_EV_JVM_AGENT, sizeof(jw_jvm_agent_event)},
    {"jvm_dcmd", JW_EV_JVM_DCMD, sizeof(jw_jvm_dcmd_event)},
    {"jvm_result", JW_EV_JVM_RESULT, sizeof(jw_jvm_result_event)},
};

std::string str(const char* buf, size_t cap) { return std::string(buf, strnlen(buf, cap)); }

void put_str(char* buf, size_t cap, const std::string& s) {
    std::memset(buf, 0, cap);
    std::memcpy(buf, s.data(), std::min(cap - 1, s.size()));
}

// Reads fields, remembering the first error.
struct Reader {
    const nlohmann::json& j;
    std::string err;
    uint64_t u(const char* k, uint64_t def = 0) {
        auto it = j.find(k);
        if (it == j.end()) return def;
        if (!it->is_number_integer()) { if (err.empty()) err = std::string(k) + ": not an integer"; return 0; }
        return it->get<int64_t>() < 0 ? static_cast<uint64_t>(it->get<int64_t>()) : it->get<uint64_t>();
    }
    std::string s(const char* k) {
        auto it = j.find(k);
        if (it == j.end()) return "";
        if (!it->is_string()) { if (err.empty()) err = std::string(k) + ": not a string"; return ""; }
        return it->get<std::string>();
    }
};

}  // namespace

std::optional<nlohmann::json> raw_event_to_json(const void* data, size_t size) {
    // Only what the decoder takes: a recording replays as the daemon saw it.
    if (!decode_event(data, size)) return std::nullopt;
    jw_event_hdr h;
    if (size < sizeof h) return std::nullopt;
    std::memcpy(&h, data, sizeof h);
    const Kind* kind = nullptr;
    for (const auto& k : kKinds) if (k.type == h.type) kind = &k;
    if (!kind || size < kind->size) return std::nullopt;
    std::vector<uint8_t> buf(kind->size);
    std::memcpy(buf.data(), data, kind->size);
    const void* p = buf.data();
    nlohmann::json j = {{"kind", kind->name}, {"ts_ns", h.ts_ns}, {"cpu", h.cpu}, {"pid", h.pid},
                        {"tid", h.tid}, {"uid", h.uid}, {"gid", h.gid}, {"cgroup_id", h.cgroup_id},
                        {"mntns", h.mntns}, {"pidns", h.pidns}, {"nspid", h.nspid}, {"ppid", h.ppid},
                        {"comm", str(h.comm, sizeof h.comm)}};
    switch (h.type) {
    case JW_EV_EXEC: {
        auto* e = static_cast<const jw_exec_event*>(p);
        j["old_pid"] = e->old_pid;
        j["start_time_ns"] = e->start_time_ns;
        j["filename"] = str(e->filename, sizeof e->filename);
        j["args"] = std::string(e->args, std::min<size_t>(e->args_len, JW_ARGS_LEN));
        break;
    }
    case JW_EV_EXIT: {
        auto* e = static_cast<const jw_exit_event*>(p);
        j["exit_code"] = e->exit_code;
        j["start_time_ns"] = e->start_time_ns;
        break;
    }
    case JW_EV_THREAD_NAME: {
        auto* e = static_cast<const jw_thread_name_event*>(p);
        j["milestone"] = e->milestone;
        j["name"] = str(e->name, sizeof e->name);
        break;
    }
    case JW_EV_SIGQUIT: {
        auto* e = static_cast<const jw_sigquit_event*>(p);
        j["target_pid"] = e->target_pid;
        j["target_tid"] = e->target_tid;
        j["target_nspid"] = e->target_nspid;
        j["result"] = e->result;
        j["target_uid"] = e->target_uid;
        j["si_code"] = e->si_code;
        j["target_comm"] = str(e->target_comm, sizeof e->target_comm);
        break;
    }
    case JW_EV_CONNECT: {
        auto* e = static_cast<const jw_connect_event*>(p);
        j["target_pid"] = e->target_pid;
        j["fd"] = e->fd;
        j["path"] = str(e->path, sizeof e->path);
        if (e->verdict) {   // deny rules: only when one decided (older recordings have none)
            j["verdict"] = e->verdict;
            j["policy_gen"] = e->policy_gen;
            j["rule"] = e->rule;
        }
        break;
    }
    case JW_EV_TRIGGER: {
        auto* e = static_cast<const jw_trigger_event*>(p);
        j["target_pid"] = e->target_pid;
        j["path"] = str(e->path, sizeof e->path);
        break;
    }
    case JW_EV_SOCK_WRITE:
    case JW_EV_SOCK_READ: {
        auto* e = static_cast<const jw_sock_data_event*>(p);
        j["fd"] = e->fd;
        j["data"] = std::string(e->data, std::min<size_t>(e->len, JW_DATA_LEN));
        j["total_len"] = e->total_len;
        break;
    }
    case JW_EV_SOCK_CLOSE: {
        auto* e = static_cast<const jw_sock_close_event*>(p);
        j["fd"] = e->fd;
        break;
    }
    case JW_EV_IDENTITY: {
        auto* e = static_cast<const jw_identity_event*>(p);
        const jw_exec_image& x = e->exec;
        j["trigger"] = e->trigger;
        j["exec_ts_ns"] = x.exec_ts_ns;
        j["start_time_ns"] = x.start_time_ns;
        j["exec_ppid"] = x.ppid;
        j["exec_uid"] = x.uid;
        j["exec_gid"] = x.gid;
        j["exec_comm"] = str(x.comm, sizeof x.comm);
        j["parent_comm"] = str(x.parent_comm, sizeof x.parent_comm);
        j["filename"] = str(x.filename, sizeof x.filename);
        j["args"] = std::string(x.args, std::min<size_t>(x.args_len, JW_ARGS_LEN));
        break;
    }
    case JW_EV_JVM_ATTACH: {
        auto* e = static_cast<const jw_jvm_attach_event*>(p);
        j["peer_pid"] = e->peer_pid;
        j["peer_uid"] = e->peer_uid;
        j["peer_gid"] = e->peer_gid;
        j["peer_start_ns"] = e->peer_start_ns;
        j["fd"] = e->fd;
        j["flags"] = e->flags;
        j["layout"] = e->layout;
        j["arg_count"] = e->arg_count;
        j["name"] = str(e->name, sizeof e->name);
        nlohmann::json args = nlohmann::json::array();
        for (const auto& a : e->args) args.push_back(str(a, sizeof a));
        j["args"] = std::move(args);
        break;
    }
    case JW_EV_JVM_AGENT: {
        auto* e = static_cast<const jw_jvm_agent_event*>(p);
        j["via"] = e->via;
        j["absolute"] = e->absolute;
        j["agent"] = str(e->agent, sizeof e->agent);
        j["options"] = str(e->options, sizeof e->options);
        break;
    }
    case JW_EV_JVM_DCMD: {
        auto* e = static_cast<const jw_jvm_dcmd_event*>(p);
        j["source"] = e->source;
        j["cmdline"] = str(e->cmdline, sizeof e->cmdline);
        break;
    }
    case JW_EV_JVM_RESULT: {
        auto* e = static_cast<const jw_jvm_result_event*>(p);
        j["result"] = e->result;
        break;
    }
    }
    return j;
}

std::optional<std::vector<uint8_t>> raw_event_from_json(const nlohmann::json& j, std::string* error) {
    auto fail = [&](const std::string& m) -> std::optional<std::vector<uint8_t>> {
        if (error) *error = m;
        return std::nullopt;
    };
    if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string()) return fail("no \"kind\"");
    const Kind* kind = nullptr;
    for (const auto& k : kKinds) if (j["kind"] == k.name) kind = &k;
    if (!kind) return fail("unknown kind " + j["kind"].dump());
    std::vector<uint8_t> buf(kind->size, 0);
    Reader r{j, {}};
    jw_event_hdr h{};
    h.type = kind->type;
    h.cpu = static_cast<uint32_t>(r.u("cpu"));
    h.ts_ns = r.u("ts_ns");
    h.pid = static_cast<uint32_t>(r.u("pid"));
    h.tid = static_cast<uint32_t>(r.u("tid", h.pid));
    h.uid = static_cast<uint32_t>(r.u("uid"));
    h.gid = static_cast<uint32_t>(r.u("gid"));
    h.cgroup_id = r.u("cgroup_id");
    h.mntns = static_cast<uint32_t>(r.u("mntns"));
    h.pidns = static_cast<uint32_t>(r.u("pidns"));
    h.nspid = static_cast<uint32_t>(r.u("nspid", h.pid));
    h.ppid = static_cast<uint32_t>(r.u("ppid"));
    put_str(h.comm, sizeof h.comm, r.s("comm"));
    void* p = buf.data();
    switch (kind->type) {
    case JW_EV_EXEC: {
        auto* e = static_cast<jw_exec_event*>(p);
        e->hdr = h;
        e->old_pid = static_cast<uint32_t>(r.u("old_pid", h.pid));
        e->start_time_ns = r.u("start_time_ns");
        put_str(e->filename, sizeof e->filename, r.s("filename"));
        std::string a = r.s("args");
        e->args_len = static_cast<uint32_t>(std::min<size_t>(a.size(), JW_ARGS_LEN));
        std::memcpy(e->args, a.data(), e->args_len);
        break;
    }
    case JW_EV_EXIT: {
        auto* e = static_cast<jw_exit_event*>(p);
        e->hdr = h;
        e->exit_code = static_cast<uint32_t>(r.u("exit_code"));
        e->start_time_ns = r.u("start_time_ns");
        break;
    }
    case JW_EV_THREAD_NAME: {
        auto* e = static_cast<jw_thread_name_event*>(p);
        e->hdr = h;
        e->milestone = static_cast<uint32_t>(r.u("milestone"));
        put_str(e->name, sizeof e->name, r.s("name"));
        break;
    }
    case JW_EV_SIGQUIT: {
        auto* e = static_cast<jw_sigquit_event*>(p);
        e->hdr = h;
        e->target_pid = static_cast<uint32_t>(r.u("target_pid"));
        e->target_tid = static_cast<uint32_t>(r.u("target_tid", e->target_pid));
        e->target_nspid = static_cast<uint32_t>(r.u("target_nspid", e->target_pid));
        e->result = static_cast<int32_t>(r.u("result"));
        e->target_uid = static_cast<uint32_t>(r.u("target_uid"));
        e->si_code = static_cast<uint32_t>(r.u("si_code"));
        put_str(e->target_comm, sizeof e->target_comm, r.s("target_comm"));
        break;
    }
    case JW_EV_CONNECT: {
        auto* e = static_cast<jw_connect_event*>(p);
        e->hdr = h;
        e->target_pid = static_cast<uint32_t>(r.u("target_pid"));
        e->fd = static_cast<int32_t>(r.u("fd", static_cast<uint64_t>(-1)));
        std::string path = r.s("path");
        put_str(e->path, sizeof e->path, path);
        e->path_len = static_cast<uint32_t>(std::min<size_t>(path.size(), JW_PATH_LEN));
        e->verdict = static_cast<uint8_t>(r.u("verdict"));
        e->policy_gen = static_cast<uint8_t>(r.u("policy_gen"));
        e->rule = static_cast<uint16_t>(r.u("rule"));
        break;
    }
    case JW_EV_TRIGGER: {
        auto* e = static_cast<jw_trigger_event*>(p);
        e->hdr = h;
        e->target_pid = static_cast<uint32_t>(r.u("target_pid"));
        put_str(e->path, sizeof e->path, r.s("path"));
        break;
    }
    case JW_EV_SOCK_WRITE:
    case JW_EV_SOCK_READ: {
        auto* e = static_cast<jw_sock_data_event*>(p);
        e->hdr = h;
        e->fd = static_cast<int32_t>(r.u("fd", static_cast<uint64_t>(-1)));
        std::string d = r.s("data");
        e->len = static_cast<uint32_t>(std::min<size_t>(d.size(), JW_DATA_LEN));
        std::memcpy(e->data, d.data(), e->len);
        e->total_len = static_cast<uint32_t>(r.u("total_len", d.size()));
        break;
    }
    case JW_EV_SOCK_CLOSE: {
        auto* e = static_cast<jw_sock_close_event*>(p);
        e->hdr = h;
        e->fd = static_cast<int32_t>(r.u("fd", static_cast<uint64_t>(-1)));
        break;
    }
    case JW_EV_IDENTITY: {
        auto* e = static_cast<jw_identity_event*>(p);
        jw_exec_image& x = e->exec;
        e->hdr = h;
        e->trigger = static_cast<uint32_t>(r.u("trigger"));
        x.exec_ts_ns = r.u("exec_ts_ns");
        x.start_time_ns = r.u("start_time_ns");
        x.ppid = static_cast<uint32_t>(r.u("exec_ppid", h.ppid));
        x.uid = static_cast<uint32_t>(r.u("exec_uid", h.uid));
        x.gid = static_cast<uint32_t>(r.u("exec_gid", h.gid));
        put_str(x.comm, sizeof x.comm, j.contains("exec_comm") ? r.s("exec_comm") : r.s("comm"));
        put_str(x.parent_comm, sizeof x.parent_comm, r.s("parent_comm"));
        put_str(x.filename, sizeof x.filename, r.s("filename"));
        std::string a = r.s("args");
        x.args_len = static_cast<uint32_t>(std::min<size_t>(a.size(), JW_ARGS_LEN));
        std::memcpy(x.args, a.data(), x.args_len);
        break;
    }
    case JW_EV_JVM_ATTACH: {
        auto* e = static_cast<jw_jvm_attach_event*>(p);
        e->hdr = h;
        e->peer_pid = static_cast<uint32_t>(r.u("peer_pid"));
        e->peer_uid = static_cast<uint32_t>(r.u("peer_uid"));
        e->peer_gid = static_cast<uint32_t>(r.u("peer_gid"));
        e->peer_start_ns = r.u("peer_start_ns");
        e->fd = static_cast<int32_t>(r.u("fd", static_cast<uint64_t>(-1)));
        e->flags = static_cast<uint32_t>(r.u("flags"));
        e->layout = static_cast<uint16_t>(r.u("layout", JW_LAYOUT_V1));
        e->arg_count = static_cast<uint16_t>(r.u("arg_count"));
        put_str(e->name, sizeof e->name, r.s("name"));
        if (auto it = j.find("args"); it != j.end() && it->is_array()) {
            size_t i = 0;
            for (const auto& a : *it) {
                if (i >= JW_JVM_ARGS) break;
                if (!a.is_string()) return fail("args: not strings");
                put_str(e->args[i++], JW_JVM_ARG_LEN, a.get<std::string>());
            }
        }
        break;
    }
    case JW_EV_JVM_AGENT: {
        auto* e = static_cast<jw_jvm_agent_event*>(p);
        e->hdr = h;
        e->via = static_cast<uint32_t>(r.u("via"));
        e->absolute = static_cast<uint32_t>(r.u("absolute", 2));
        put_str(e->agent, sizeof e->agent, r.s("agent"));
        put_str(e->options, sizeof e->options, r.s("options"));
        break;
    }
    case JW_EV_JVM_DCMD: {
        auto* e = static_cast<jw_jvm_dcmd_event*>(p);
        e->hdr = h;
        e->source = static_cast<uint32_t>(r.u("source"));
        put_str(e->cmdline, sizeof e->cmdline, r.s("cmdline"));
        break;
    }
    case JW_EV_JVM_RESULT: {
        auto* e = static_cast<jw_jvm_result_event*>(p);
        e->hdr = h;
        e->result = static_cast<int32_t>(r.u("result"));
        break;
    }
    }
    if (!r.err.empty()) return fail(r.err);
    return buf;
}

}  // namespace jvmwatch::daemon
