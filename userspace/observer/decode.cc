// Decoding helpers for raw observer events (observer.h).
#include <unistd.h>

#include <cstring>

#include "userspace/observer/observer.h"

JW_ASSERT_EVENT_SIZES();

namespace jvmwatch::observer {

const jw_sock_data_event* sock_data_cast(const jw_event_hdr* hdr, size_t size) {
    if (!hdr || size < sizeof(jw_sock_data_event)) return nullptr;
    if (hdr->type != JW_EV_SOCK_WRITE && hdr->type != JW_EV_SOCK_READ) return nullptr;
    auto* e = reinterpret_cast<const jw_sock_data_event*>(hdr);
    return e->len <= JW_DATA_LEN ? e : nullptr;
}

std::string_view event_type_name(uint32_t type) {
    switch (type) {
        case JW_EV_EXEC: return "exec";
        case JW_EV_EXIT: return "exit";
        case JW_EV_THREAD_NAME: return "thread_name";
        case JW_EV_SIGQUIT: return "sigquit";
        case JW_EV_CONNECT: return "connect";
        case JW_EV_TRIGGER: return "trigger";
        case JW_EV_SOCK_WRITE: return "sock_write";
        case JW_EV_SOCK_READ: return "sock_read";
        case JW_EV_SOCK_CLOSE: return "sock_close";
        case JW_EV_IDENTITY: return "identity";
        case JW_EV_JVM_ATTACH: return "jvm_attach";
        case JW_EV_JVM_AGENT: return "jvm_agent";
        case JW_EV_JVM_DCMD: return "jvm_dcmd";
        case JW_EV_JVM_RESULT: return "jvm_result";
    }
    return "unknown";
}

std::string_view milestone_name(uint32_t m) {
    switch (m) {
        case JW_MS_VM_THREAD: return "vm_thread";
        case JW_MS_SIGNAL_DISPATCH: return "signal_dispatcher";
        case JW_MS_ATTACH_LISTENER: return "attach_listener";
        case JW_MS_MAIN: return "main";
        case JW_MS_OTHER_JVM_THREAD: return "other_jvm_thread";
    }
    return "none";
}

std::string fixed_string(const char* buf, size_t cap) {
    const void* nul = std::memchr(buf, 0, cap);
    size_t n = nul ? static_cast<const char*>(nul) - buf : cap;
    return std::string(buf, n);
}

namespace {
std::vector<std::string> split_args(const char* args, uint32_t args_len) {
    std::vector<std::string> out;
    size_t n = args_len < JW_ARGS_LEN ? args_len : JW_ARGS_LEN;
    size_t i = 0;
    while (i < n) {
        const void* nul = std::memchr(args + i, 0, n - i);
        size_t end = nul ? static_cast<const char*>(nul) - args : n;
        out.emplace_back(args + i, end - i);
        i = end + 1;
    }
    return out;
}
}  // namespace

std::vector<std::string> exec_args(const jw_exec_event& e) { return split_args(e.args, e.args_len); }
std::vector<std::string> exec_args(const jw_exec_image& e) { return split_args(e.args, e.args_len); }

std::string_view sock_data(const jw_sock_data_event& e) {
    return std::string_view(e.data, e.len <= JW_DATA_LEN ? e.len : JW_DATA_LEN);
}

std::string_view path_basename(std::string_view path) {
    if (!path.empty() && (path[0] == '@' || path[0] == '\0')) path.remove_prefix(1);
    auto nul = path.find('\0');
    if (nul != std::string_view::npos) path = path.substr(0, nul);
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

namespace {

uint32_t parse_pid_name(std::string_view path, std::string_view prefix) {
    std::string_view name = path_basename(path);
    if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return 0;
    std::string_view digits = name.substr(prefix.size());
    if (digits.size() > 10) return 0;
    uint64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return 0;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v <= 0x7fffffff ? static_cast<uint32_t>(v) : 0;
}

}  // namespace

uint32_t parse_java_pid(std::string_view path) { return parse_pid_name(path, ".java_pid"); }
uint32_t parse_attach_pid(std::string_view path) { return parse_pid_name(path, ".attach_pid"); }

uint64_t start_time_ticks(uint64_t start_time_ns) {
    static const long hz = sysconf(_SC_CLK_TCK);
    uint64_t per_tick = 1000000000ull / static_cast<uint64_t>(hz > 0 ? hz : 100);
    return start_time_ns / per_tick;
}

}  // namespace jvmwatch::observer
