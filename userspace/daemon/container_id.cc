#include "userspace/daemon/container_id.h"

#include <vector>

namespace jvmwatch::daemon {

namespace {

bool is_hex_id(const std::string& s) {
    if (s.size() < 12 || s.size() > 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

// The id in one path component, if it is a container's.
std::string id_in_component(std::string c) {
    static const std::string kScope = ".scope";
    if (c.size() > kScope.size() && c.compare(c.size() - kScope.size(), kScope.size(), kScope) == 0)
        c.resize(c.size() - kScope.size());
    static const std::vector<std::string> kPrefixes = {"docker-", "cri-containerd-", "crio-",
                                                       "libpod-", "containerd-"};
    for (const auto& p : kPrefixes) {
        if (c.compare(0, p.size(), p) == 0) {
            std::string rest = c.substr(p.size());
            return is_hex_id(rest) ? rest : "";
        }
    }
    // cgroupfs drivers: /docker/<id>, /kubepods/<qos>/pod<uid>/<id>.
    return c.size() == 64 && is_hex_id(c) ? c : "";
}

}  // namespace

std::string container_id_from_cgroup(const std::string& cgroup_path) {
    std::string found;
    size_t i = 0;
    while (i <= cgroup_path.size()) {
        size_t j = cgroup_path.find('/', i);
        if (j == std::string::npos) j = cgroup_path.size();
        if (j > i) {
            std::string id = id_in_component(cgroup_path.substr(i, j - i));
            if (!id.empty()) found = id;   // innermost wins
        }
        i = j + 1;
    }
    return found;
}

}  // namespace jvmwatch::daemon
