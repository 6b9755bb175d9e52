#include "userspace/daemon/event_decoder.h"

#include <unistd.h>

#include <cstring>

namespace jvmwatch::daemon {

JW_ASSERT_EVENT_SIZES();

const char* to_string(DecodeError e) {
    switch (e) {
    case DecodeError::none: return "none";
    case DecodeError::too_short: return "too_short";
    case DecodeError::unknown_type: return "unknown_type";
    case DecodeError::bad_length: return "bad_length";
    }
    return "?";
}

const char* identity_trigger_name(uint32_t trigger) {
    switch (trigger) {
    case JW_ID_SIGQUIT: return "sigquit";
    case JW_ID_CONNECT: return "connect";
    case JW_ID_TRIGGER: return "trigger";
    case JW_ID_MILESTONE: return "milestone";
    case JW_ID_JVM_PEER: return "jvm_peer";
    }
    return "unknown";
}

const char* dcmd_source_name(uint32_t source) {
    switch (source) {
    case JW_DCMD_INTERNAL: return "internal";
    case JW_DCMD_ATTACH: return "attach";
    case JW_DCMD_MBEAN: return "jmx";
    }
    return "unknown";
}

const char* agent_via_name(uint32_t via) {
    switch (via) {
    case JW_AGENT_VIA_LOAD_LIBRARY: return "JvmtiExport::load_agent_library";
    case JW_AGENT_VIA_AGENT_LIST: return "JvmtiAgentList::load_agent";
    case JW_AGENT_VIA_ON_ATTACH: return "libinstrument Agent_OnAttach";
    }
    return "unknown";
}

ExecRecord IdentityRecord::as_exec() const {
    ExecRecord e;
    e.who = who;
    e.who.ts_ns = exec_ts_ns;
    e.who.tid = who.pid;
    e.who.uid = exec_uid;
    e.who.gid = exec_gid;
    e.who.ppid = exec_ppid;
    e.who.comm = exec_comm;
    e.old_pid = who.pid;
    e.start_ticks = start_ticks;
    e.filename = filename;
    e.args = args;
    e.args_truncated = args_truncated;
    return e;
}

std::string bounded_string(const char* buf, size_t cap) {
    size_t n = strnlen(buf, cap);
    return std::string(buf, n);
}

uint64_t ns_to_clock_ticks(uint64_t ns) {
    static const long hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
    return ns / (1000000000ull / static_cast<uint64_t>(hz));
}

pid_t pid_from_socket_name(const std::string& path, const std::string& prefix) {
    size_t slash = path.rfind('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return 0;
    std::string digits = name.substr(prefix.size());
    if (digits.size() > 10) return 0;
    uint64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return 0;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v == 0 || v > 0x7fffffffull) return 0;
    return static_cast<pid_t>(v);
}

namespace {

Actor decode_actor(const jw_event_hdr& h) {
    Actor a;
    a.ts_ns = h.ts_ns;
    a.cpu = h.cpu;
    a.pid = static_cast<pid_t>(h.pid);
    a.tid = static_cast<pid_t>(h.tid);
    a.uid = h.uid;
    a.gid = h.gid;
    a.cgroup_id = h.cgroup_id;
    a.mntns = h.mntns;
    a.pidns = h.pidns;
    a.nspid = static_cast<pid_t>(h.nspid);
    a.ppid = static_cast<pid_t>(h.ppid);
    a.comm = bounded_string(h.comm, sizeof h.comm);
    return a;
}

// Copies the record into an aligned struct of type T (ring-buffer records are 8-byte
// aligned, but fixtures and tests may hand us any buffer).
template <class T>
bool load(const void* data, size_t size, T* out) {
    if (size < sizeof(T)) return false;
    std::memcpy(out, data, sizeof(T));
    return true;
}

std::vector<std::string> split_args(const char* buf, size_t len) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < len) {
        size_t n = strnlen(buf + i, len - i);
        out.emplace_back(buf + i, n);
        i += n + 1;
    }
    return out;
}

}  // namespace

std::optional<Record> decode_event(const void* data, size_t size, DecodeError* err) {
    DecodeError dummy;
    if (!err) err = &dummy;
    *err = DecodeError::none;
    jw_event_hdr hdr;
    if (!data || !load(data, size, &hdr)) {
        *err = DecodeError::too_short;
        return std::nullopt;
    }
    auto fail = [&](DecodeError e) -> std::optional<Record> { *err = e; return std::nullopt; };
    switch (hdr.type) {
    case JW_EV_EXEC: {
        jw_exec_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        if (e.args_len > JW_ARGS_LEN) return fail(DecodeError::bad_length);
        ExecRecord r;
        r.who = decode_actor(e.hdr);
        r.old_pid = static_cast<pid_t>(e.old_pid);
        r.start_ticks = ns_to_clock_ticks(e.start_time_ns);
        r.filename = bounded_string(e.filename, sizeof e.filename);
        r.args = split_args(e.args, e.args_len);
        // A full buffer whose last byte is not a NUL was cut by the kernel.
        r.args_truncated = e.args_len == JW_ARGS_LEN && e.args[JW_ARGS_LEN - 1] != '\0';
        return r;
    }
    case JW_EV_EXIT: {
        jw_exit_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        ExitRecord r;
        r.who = decode_actor(e.hdr);
        r.exit_code = e.exit_code;
        r.start_ticks = ns_to_clock_ticks(e.start_time_ns);
        return r;
    }
    case JW_EV_THREAD_NAME: {
        jw_thread_name_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        ThreadNameRecord r;
        r.who = decode_actor(e.hdr);
        r.milestone = e.milestone;
        r.name = bounded_string(e.name, sizeof e.name);
        return r;
    }
    case JW_EV_SIGQUIT: {
        jw_sigquit_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        SigquitRecord r;
        r.who = decode_actor(e.hdr);
        r.target_pid = static_cast<pid_t>(e.target_pid);
        r.target_tid = static_cast<pid_t>(e.target_tid);
        r.target_nspid = static_cast<pid_t>(e.target_nspid);
        r.result = e.result;
        r.target_uid = e.target_uid;
        r.si_code = e.si_code;
        r.target_comm = bounded_string(e.target_comm, sizeof e.target_comm);
        return r;
    }
    case JW_EV_CONNECT: {
        jw_connect_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        if (e.path_len > JW_PATH_LEN) return fail(DecodeError::bad_length);
        ConnectRecord r;
        r.who = decode_actor(e.hdr);
        r.target_nspid = static_cast<pid_t>(e.target_pid);
        r.fd = e.fd;
        r.path = bounded_string(e.path, sizeof e.path);
        if (r.target_nspid == 0) r.target_nspid = pid_from_socket_name(r.path, ".java_pid");
        if (e.verdict > JW_DENY_DENIED || e.rule >= JW_DENY_MAX_RULES)
            return fail(DecodeError::bad_length);
        r.deny_verdict = e.verdict;
        r.policy_gen = e.policy_gen;
        r.deny_rule = e.rule;
        return r;
    }
    case JW_EV_TRIGGER: {
        jw_trigger_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        TriggerRecord r;
        r.who = decode_actor(e.hdr);
        r.target_nspid = static_cast<pid_t>(e.target_pid);
        r.path = bounded_string(e.path, sizeof e.path);
        if (r.target_nspid == 0) r.target_nspid = pid_from_socket_name(r.path, ".attach_pid");
        return r;
    }
    case JW_EV_SOCK_WRITE:
    case JW_EV_SOCK_READ: {
        jw_sock_data_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        if (e.len > JW_DATA_LEN) return fail(DecodeError::bad_length);
        SockDataRecord r;
        r.who = decode_actor(e.hdr);
        r.is_write = hdr.type == JW_EV_SOCK_WRITE;
        r.fd = e.fd;
        r.data.assign(e.data, e.len);
        r.total_len = e.total_len;
        return r;
    }
    case JW_EV_IDENTITY: {
        jw_identity_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        const jw_exec_image& x = e.exec;
        if (x.args_len > JW_ARGS_LEN) return fail(DecodeError::bad_length);
        IdentityRecord r;
        r.who = decode_actor(e.hdr);
        r.trigger = e.trigger;
        r.exec_ts_ns = x.exec_ts_ns;
        r.start_ticks = ns_to_clock_ticks(x.start_time_ns);
        r.exec_ppid = static_cast<pid_t>(x.ppid);
        r.exec_uid = x.uid;
        r.exec_gid = x.gid;
        r.exec_comm = bounded_string(x.comm, sizeof x.comm);
        r.parent_comm = bounded_string(x.parent_comm, sizeof x.parent_comm);
        r.filename = bounded_string(x.filename, sizeof x.filename);
        r.args = split_args(x.args, x.args_len);
        r.args_truncated = x.args_len == JW_ARGS_LEN && x.args[JW_ARGS_LEN - 1] != '\0';
        return r;
    }
    case JW_EV_SOCK_CLOSE: {
        jw_sock_close_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        SockCloseRecord r;
        r.who = decode_actor(e.hdr);
        r.fd = e.fd;
        return r;
    }
    case JW_EV_JVM_ATTACH: {
        jw_jvm_attach_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        if (e.layout != JW_LAYOUT_V1 && e.layout != JW_LAYOUT_V2) return fail(DecodeError::bad_length);
        JvmAttachRecord r;
        r.who = decode_actor(e.hdr);
        r.peer_pid = static_cast<pid_t>(e.peer_pid);
        r.peer_uid = e.peer_uid;
        r.peer_gid = e.peer_gid;
        r.peer_start_ticks = e.peer_start_ns ? ns_to_clock_ticks(e.peer_start_ns) : 0;
        r.fd = e.fd;
        r.peer_known = e.flags & JW_JA_PEER_KNOWN;
        r.self = e.flags & JW_JA_SELF;
        r.op_read = e.flags & JW_JA_OP_READ;
        r.layout = e.layout;
        r.arg_count = e.arg_count;
        r.op = bounded_string(e.name, sizeof e.name);
        for (const auto& a : e.args) r.args.push_back(bounded_string(a, sizeof a));
        while (!r.args.empty() && r.args.back().empty()) r.args.pop_back();
        return r;
    }
    case JW_EV_JVM_AGENT: {
        jw_jvm_agent_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        JvmAgentRecord r;
        r.who = decode_actor(e.hdr);
        r.via = e.via;
        r.absolute = e.absolute <= 1 ? static_cast<int>(e.absolute) : 2;
        r.agent = bounded_string(e.agent, sizeof e.agent);
        r.options = bounded_string(e.options, sizeof e.options);
        return r;
    }
    case JW_EV_JVM_DCMD: {
        jw_jvm_dcmd_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        JvmDcmdRecord r;
        r.who = decode_actor(e.hdr);
        r.source = e.source;
        r.cmdline = bounded_string(e.cmdline, sizeof e.cmdline);
        return r;
    }
    case JW_EV_JVM_RESULT: {
        jw_jvm_result_event e;
        if (!load(data, size, &e)) return fail(DecodeError::too_short);
        JvmResultRecord r;
        r.who = decode_actor(e.hdr);
        r.result = e.result;
        return r;
    }
    default:
        return fail(DecodeError::unknown_type);
    }
}

const Actor& actor_of(const Record& r) {
    return std::visit([](const auto& x) -> const Actor& { return x.who; }, r);
}

}  // namespace jvmwatch::daemon
