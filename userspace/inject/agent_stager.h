// Puts an agent file where a JVM in another mount namespace can open it: into the
// target's own /tmp (reached through /proc/PID/root), under a content-hash name.
//
// Safety: no link is followed (O_NOFOLLOW on every open, the target's /tmp must be a real
// directory), the copy is created with O_EXCL under a random temp name, owned by the
// target's euid/egid, mode 0444, fsync'd, then renamed into place atomically.  An
// existing copy under the hash name is reused only if it is a regular file with one link,
// owned by root or the target's user, not writable by others, and its content hashes
// to the name.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace jvmwatch::inject {

struct StagedAgent {
    std::string target_path;  // as the JVM sees it ("/tmp/.jvmwatch-agent-<hash>.jar")
    std::string host_path;    // as the daemon can reach it ("/proc/PID/root/tmp/...")
    bool staged = false;      // false: same mount namespace, the original path is used
    bool reused = false;      // an identical verified copy was already there
};

// The file name a staged copy of AGENT gets (".jvmwatch-agent-<sha256 prefix><.ext>");
// nullopt if the agent can't be read.
std::optional<std::string> staged_name(const std::string& agent_path);

// True if PID's mount namespace differs from ours.
bool in_other_mount_ns(const std::string& proc_root, pid_t pid);

// Returns the path to hand to the JVM: the original one if PID shares our mount
// namespace, else a verified staged copy.  nullopt and *error (one line) on failure.
std::optional<StagedAgent> stage_agent(const std::string& proc_root, pid_t pid, uid_t euid,
                                       gid_t egid, const std::string& agent_path,
                                       std::string* error);

}  // namespace jvmwatch::inject
