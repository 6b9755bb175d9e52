#include "userspace/observer/mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace jvmwatch::observer {

namespace {

// /proc/mounts escapes blanks in paths as octal (\040).
std::string unescape_mount_path(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            int v = 0;
            bool ok = true;
            for (size_t k = 1; k <= 3; ++k) {
                char c = s[i + k];
                if (c < '0' || c > '7') { ok = false; break; }
                v = v * 8 + (c - '0');
            }
            if (ok) {
                out.push_back(static_cast<char>(v));
                i += 3;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

}  // namespace

std::string find_mount(const std::string& proc_root, const std::string& fstype,
                       const std::string& preferred) {
    std::ifstream in(proc_root + "/self/mounts");
    std::string line, first;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string dev, dir, type;
        if (!(ls >> dev >> dir >> type) || type != fstype) continue;
        dir = unescape_mount_path(dir);
        if (!preferred.empty() && dir == preferred) return dir;
        if (first.empty()) first = dir;
    }
    return first;
}

bool filesystem_supported(const std::string& proc_root, const std::string& fstype) {
    std::ifstream in(proc_root + "/filesystems");
    std::string line;
    while (std::getline(in, line)) {
        auto tab = line.rfind('\t');
        std::string name = tab == std::string::npos ? line : line.substr(tab + 1);
        if (name == fstype) return true;
    }
    return false;
}

std::string ensure_tracefs(const std::string& proc_root, const std::string& dir,
                           std::string* error) {
    std::string found = find_mount(proc_root, "tracefs", dir);
    if (!found.empty()) return found;
    struct stat st{};
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (error) *error = "tracefs not mounted and " + dir + " is not a directory";
        return "";
    }
    if (mount("nodev", dir.c_str(), "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
        if (error)
            *error = "mounting tracefs at " + dir + " failed: " + std::strerror(errno);
        return "";
    }
    return dir;
}

}  // namespace jvmwatch::observer
