// Reading /proc: every function takes the proc root ("/proc" on a host, a fixture
// directory in unit tests) so parsing is testable without real processes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jvmwatch::proc {

// The fields of /proc/PID/status that jvmwatch uses.
struct Status {
    std::string name;           // Name:
    char state = '?';           // first letter of State: (R, S, D, Z, X, ...)
    pid_t tgid = 0;
    pid_t ppid = 0;
    std::vector<pid_t> nstgid;  // NStgid: outermost first; back() is the innermost
    uid_t ruid = 0, euid = 0;
    gid_t rgid = 0, egid = 0;
    uint64_t sig_blk = 0, sig_ign = 0, sig_cgt = 0;  // bit (n-1) = signal n
    pid_t nspid() const { return nstgid.empty() ? tgid : nstgid.back(); }
};

// Parses the text of a status file (exposed for unit tests).
std::optional<Status> parse_status(const std::string& text);
std::optional<Status> read_status(const std::string& proc_root, pid_t pid);

// NUL-separated files, split into their strings.
std::vector<std::string> read_cmdline(const std::string& proc_root, pid_t pid);
std::vector<std::string> read_environ(const std::string& proc_root, pid_t pid);

// Field 22 of /proc/PID/stat (start time in clock ticks since boot): with the pid it
// identifies a process across pid reuse.  Also the state letter (field 3).
struct Stat {
    char state = '?';
    pid_t ppid = 0;
    uint64_t start_time_ticks = 0;
};
std::optional<Stat> parse_stat(const std::string& text);
std::optional<Stat> read_stat(const std::string& proc_root, pid_t pid);

std::string read_exe(const std::string& proc_root, pid_t pid);      // readlink; "" if unknown
std::string read_cgroup(const std::string& proc_root, pid_t pid);   // the v2 ("0::") path
std::optional<uint64_t> read_ns_inode(const std::string& proc_root, pid_t pid,
                                      const std::string& ns);       // "mnt", "pid", ...
std::vector<pid_t> list_pids(const std::string& proc_root);         // numeric entries

// True if the maps file of PID maps a file whose name is `lib` (e.g. "libjvm.so").
bool maps_library(const std::string& proc_root, pid_t pid, const std::string& lib);
// Path (as the target sees it) of the first mapping whose file name satisfies `match`;
// "" if none.  E.g. libjvm.so's path tells JAVA_HOME for an embedded JVM.
std::string mapped_library_path(const std::string& proc_root, pid_t pid,
                                const std::function<bool(std::string_view)>& match);
// All distinct such paths, in map order, from one read of maps.
std::vector<std::string> mapped_library_paths(const std::string& proc_root, pid_t pid,
                                              const std::function<bool(std::string_view)>& match);

// Reads a small whole file; nullopt if it can't be opened.
std::optional<std::string> read_file(const std::string& path, size_t limit = 1 << 20);

// The pure parsers behind the readers above (unit tests and tests/fuzz feed them text).
// cmdline, environ: the NUL-terminated strings (a last unterminated one included).
std::vector<std::string> parse_nul_list(const std::string& data);
// cgroup: the path of the v2 ("0::") line; "" if there is none.
std::string parse_cgroup_v2(std::string_view text);
// maps: distinct mapped file paths (" (deleted)" cut), in map order, whose file name
// satisfies `match`.
std::vector<std::string> parse_maps_paths(std::string_view text,
                                          const std::function<bool(std::string_view)>& match);

}  // namespace jvmwatch::proc
