// Mount-table lookups the observer needs: the cgroup-v2 root (for cgroup/connect_unix)
// and tracefs (for classic and syscall tracepoints), and mounting tracefs when missing.
#pragma once

#include <string>

namespace jvmwatch::observer {

// Mount point of the first filesystem of type `fstype` in <proc_root>/self/mounts
// (preferring `preferred` if it is such a mount); "" if none.
std::string find_mount(const std::string& proc_root, const std::string& fstype,
                       const std::string& preferred = "");

// True if <proc_root>/filesystems lists `fstype`.
bool filesystem_supported(const std::string& proc_root, const std::string& fstype);

// Makes tracefs available at `dir` (mounting it there if no tracefs is mounted
// anywhere).  Returns the directory where tracefs is mounted, or "" and sets *error.
std::string ensure_tracefs(const std::string& proc_root, const std::string& dir,
                           std::string* error);

}  // namespace jvmwatch::observer
