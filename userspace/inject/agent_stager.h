// Puts an agent where a JVM in another mount namespace can open it: into the target's
// own /tmp, under a content-hash name, copied from the fd the source was checked and
// hashed through.
//
// Safety: the target is pinned by (pid, start time) (TargetProcess); its /tmp is resolved
// inside its root (safe_fs Resolve::in_root: links and ".." stay in the container); the
// copy is created there with O_CREAT|O_EXCL|O_NOFOLLOW under a random temp name, owned by
// the target's euid/egid, mode 0444, fsync'd, then renamed into place atomically.  An
// existing copy under the hash name is reused only if it is a regular file with one link,
// owned by root or the target's user, not writable by others, of the expected size (a
// file of another size is never read) and its content hashes to the name.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "attach/safe_fs.h"
#include "userspace/policy/agent_file_check.h"
#include "userspace/policy/policy.h"

namespace jvmwatch::inject {

// A process pinned by identity: a dirfd of /proc/PID, checked once against the start time
// the daemon reported.  Every later look goes through that dirfd, which the kernel binds
// to that very process (after its exit lookups fail, even if the pid is reused), so the
// pid is never looked up again by number alone.
class TargetProcess {
public:
    // nullopt and *why if PID does not exist or is another process by now.
    static std::optional<TargetProcess> open(const std::string& proc_root, pid_t pid,
                                             uint64_t start_ticks, std::string* why);
    pid_t pid() const { return pid_; }
    // True if the process's mount namespace differs from ours.
    bool other_mount_ns() const;
    // O_PATH fd of its root directory (as the process sees "/").
    safefs::UniqueFd root(std::string* why) const;

private:
    TargetProcess(safefs::UniqueFd dir, pid_t pid, std::string self_ns)
        : dir_(std::move(dir)), pid_(pid), self_ns_(std::move(self_ns)) {}
    safefs::UniqueFd dir_;
    pid_t pid_ = 0;
    std::string self_ns_;  // our own mnt namespace link text
};

struct StagedAgent {
    std::string target_path;  // as the JVM sees it ("/tmp/.jvmwatch-agent-<hash>.jar")
    std::string host_path;    // as the daemon can reach it ("/proc/PID/root/tmp/...")
    bool staged = false;      // false: same mount namespace, the agent store's copy is used
    bool reused = false;      // an identical verified copy was already there
};

// The file name a staged copy gets: ".jvmwatch-agent-<first 32 hex of sha256><ext>".
std::string staged_name(const std::string& sha256, policy::AgentKind kind);

// True if PID's mount namespace differs from ours (by pid: for decisions, not for writing).
bool in_other_mount_ns(const std::string& proc_root, pid_t pid);

// Stages `src` into the target's /tmp.  nullopt and *error (one line) on failure.
std::optional<StagedAgent> stage_agent(const std::string& proc_root, const TargetProcess& target,
                                       uid_t euid, gid_t egid, const policy::AgentSource& src,
                                       policy::AgentKind kind, std::string* error);

}  // namespace jvmwatch::inject
