#include "userspace/daemon/jvm_table.h"

namespace jvmwatch::daemon {

const JvmInfo* JvmTable::find_by_nspid(uint32_t pidns, pid_t nspid) const {
    const JvmInfo* found = nullptr;
    table_.for_each([&](const pid_t&, const JvmInfo& j) {
        if (found || j.proc.nspid != nspid) return;
        if (pidns == 0 || j.pidns == pidns) found = &j;
    });
    return found;
}

std::vector<pid_t> JvmTable::pids() const {
    std::vector<pid_t> out;
    table_.for_each([&](const pid_t& pid, const JvmInfo&) { out.push_back(pid); });
    return out;
}

bool is_java_launcher(const std::string& filename) {
    size_t slash = filename.rfind('/');
    std::string base = slash == std::string::npos ? filename : filename.substr(slash + 1);
    return base == "java";
}

}  // namespace jvmwatch::daemon
