#include "userspace/daemon/identity_json.h"

namespace jvmwatch::daemon {

nlohmann::json process_json(const ProcessInfo& p, const std::string& user,
                            const ProcessInfo* parent) {
    nlohmann::json j = {
        {"pid", p.pid},     {"nspid", p.nspid ? p.nspid : p.pid},
        {"uid", p.uid},     {"gid", p.gid},
        {"user", user},     {"comm", p.comm},
        {"exe", p.exe},     {"cmdline", p.cmdline},
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
        {"cmdline", p.cmdline},
        {"main", p.main},
        {"java_home", p.java_home},
        {"jdk_version", p.jdk_version},
        {"cgroup", i.cgroup},
        {"container_id", i.container_id},
    };
}

}  // namespace jvmwatch::daemon
