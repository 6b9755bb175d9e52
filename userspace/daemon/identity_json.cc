#include "userspace/daemon/identity_json.h"

namespace jvmwatch::daemon {

namespace {
// A command line in an event: at most kMaxCmdlineBytes in all (a process may have
// megabytes of arguments; the event stays small).  The last kept argument is cut.
constexpr size_t kMaxCmdlineBytes = 16 << 10;
nlohmann::json capped_cmdline(const std::vector<std::string>& args) {
    nlohmann::json out = nlohmann::json::array();
    size_t left = kMaxCmdlineBytes;
    for (const auto& a : args) {
        if (left == 0) break;
        out.push_back(a.size() <= left ? a : a.substr(0, left));
        left -= std::min(left, a.size());
    }
    return out;
}

// Fields derived from what a process controls (its first argument, its JDK's release
// file) are cut at this length.
constexpr size_t kMaxDerivedBytes = 1024;
std::string capped(const std::string& v) {
    return v.size() <= kMaxDerivedBytes ? v : v.substr(0, kMaxDerivedBytes);
}
}  // namespace

nlohmann::json process_json(const ProcessInfo& p, const std::string& user,
                            const ProcessInfo* parent) {
    nlohmann::json j = {
        {"pid", p.pid},     {"nspid", p.nspid ? p.nspid : p.pid},
        {"uid", p.uid},     {"gid", p.gid},
        {"user", user},     {"comm", p.comm},
        {"exe", p.exe},     {"cmdline", capped_cmdline(p.cmdline)},
        {"ppid", p.ppid},   {"cgroup", p.cgroup},
        {"container_id", p.container_id},
        {"identity_from", to_string(p.source)},
    };
    if (parent) j["parent_comm"] = parent->comm;
    else if (!p.parent_comm.empty()) j["parent_comm"] = p.parent_comm;   // the kernel's, at exec
    return j;
}

nlohmann::json jvm_json(const JvmInfo& i) {
    const auto& p = i.proc;
    return {
        {"pid", p.pid},
        {"nspid", p.nspid ? p.nspid : p.pid},
        {"start_time_ticks", p.start_time_ticks},
        {"uid", p.euid},
        {"user", p.user},
        {"exe", p.exe},
        {"cmdline", capped_cmdline(p.cmdline)},
        {"main", capped(p.main)},
        {"java_home", p.java_home},
        {"jdk_version", capped(p.jdk_version)},
        {"cgroup", i.cgroup},
        {"container_id", i.container_id},
        {"visibility", i.visibility.level},
    };
}

nlohmann::json dynamic_agents_json(const JvmInfo& j) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : j.dynamic_agents) {
        nlohmann::json x = {{"kind", a.kind}, {"path", a.path}, {"options", a.options},
                            {"origin", a.origin}};
        if (a.attacher) x["attacher_pid"] = a.attacher;
        if (!a.sha256.empty()) x["sha256"] = a.sha256;
        out.push_back(std::move(x));
    }
    return out;
}

}  // namespace jvmwatch::daemon
