#include "userspace/inject/agent_stager.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "attach/procfs.h"
#include "userspace/inject/agent_copy.h"
#include "userspace/inject/agent_store.h"

namespace jvmwatch::inject {

namespace {
std::string link_text(int dirfd, const char* path) {
    char buf[256];
    ssize_t n = readlinkat(dirfd, path, buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}
}  // namespace

std::optional<TargetProcess> TargetProcess::open(const std::string& proc_root, pid_t pid,
                                                 uint64_t start_ticks, std::string* why) {
    const std::string dir = proc_root + "/" + std::to_string(pid);
    safefs::UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) { *why = "the JVM exited"; return std::nullopt; }
    // Checked after the dirfd exists: if the start time matches now, the dirfd was taken
    // on this very process (it existed all along since the daemon saw it).
    safefs::Failure f;
    auto text = safefs::read_file(fd.get(), "stat", safefs::Resolve::no_symlinks, 4096, {}, &f);
    auto st = text ? proc::parse_stat(*text) : std::nullopt;
    if (!st || st->start_time_ticks != start_ticks || st->state == 'Z' || st->state == 'X') {
        *why = "the JVM exited";
        return std::nullopt;
    }
    safefs::UniqueFd self(::open((proc_root + "/" + std::to_string(getpid())).c_str(),
                                 O_PATH | O_DIRECTORY | O_CLOEXEC));
    std::string self_ns = self ? link_text(self.get(), "ns/mnt") : "";
    return TargetProcess(std::move(fd), pid, self_ns);
}

bool TargetProcess::other_mount_ns() const {
    std::string theirs = link_text(dir_.get(), "ns/mnt");
    return !theirs.empty() && !self_ns_.empty() && theirs != self_ns_;
}

safefs::UniqueFd TargetProcess::root(std::string* why) const {
    // The kernel's own magic link to the process's root: the one link followed.
    safefs::UniqueFd fd(::openat(dir_.get(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) *why = "open the JVM's root: " + std::string(std::strerror(errno));
    return fd;
}

std::string staged_name(const std::string& sha256, policy::AgentKind kind) {
    return ".jvmwatch-agent-" + sha256.substr(0, 32) + agent_extension(kind);
}

bool in_other_mount_ns(const std::string& proc_root, pid_t pid) {
    auto theirs = proc::read_ns_inode(proc_root, pid, "mnt");
    auto ours = proc::read_ns_inode(proc_root, getpid(), "mnt");
    return theirs && ours && *theirs != *ours;
}

std::optional<StagedAgent> stage_agent(const std::string& proc_root, const TargetProcess& target,
                                       uid_t euid, gid_t egid, const policy::AgentSource& src,
                                       policy::AgentKind kind, std::string* error) {
    std::string why;
    safefs::UniqueFd root = target.root(&why);
    if (!root) { *error = "stage: " + why; return std::nullopt; }
    // /tmp as the JVM sees it: links and ".." resolved inside its root, never out of it.
    safefs::Expect e;
    e.kinds = safefs::Kind::directory;
    safefs::Failure f;
    safefs::UniqueFd tmp_path = safefs::open_path(root.get(), "/tmp", safefs::Resolve::in_root, e,
                                                  nullptr, &f);
    if (!tmp_path) { *error = "stage: the target's " + f.why; return std::nullopt; }
    safefs::UniqueFd dir = safefs::reopen_for_read(tmp_path.get(), &f);
    if (!dir) { *error = "stage: the target's /tmp: " + f.why; return std::nullopt; }

    const std::string name = staged_name(src.sha256, kind);
    StagedAgent out{"/tmp/" + name,
                    proc_root + "/" + std::to_string(target.pid()) + "/root/tmp/" + name, true,
                    false};
    if (existing_copy_matches(dir.get(), name, euid, true, src)) {
        out.reused = true;
        return out;
    }
    if (!write_copy(dir.get(), name, src, euid, egid, error)) {
        *error = "stage into the target's /tmp: " + *error;
        return std::nullopt;
    }
    return out;
}

}  // namespace jvmwatch::inject
