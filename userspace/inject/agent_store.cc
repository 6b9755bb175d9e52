#include "userspace/inject/agent_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "userspace/inject/agent_copy.h"

namespace jvmwatch::inject {

namespace {
// A directory of ours that JVMs of other users must be able to pass through.
safefs::UniqueFd open_searchable_dir(int at, const std::string& path, const std::string& shown,
                                     uid_t owner, std::string* error) {
    safefs::Expect e;
    e.kinds = safefs::Kind::directory;
    e.owner = owner;
    e.not_writable_by_others = true;
    safefs::Failure f;
    struct stat st;
    safefs::UniqueFd p = safefs::open_path(at, path, safefs::Resolve::no_symlinks, e, &st, &f);
    if (!p) {
        // f.why starts with `path`; say which directory it is.
        *error = "agent store: " + shown + (f.why.rfind(path, 0) == 0 ? f.why.substr(path.size())
                                                                       : ": " + f.why);
        return {};
    }
    safefs::UniqueFd fd = safefs::reopen_for_read(p.get(), &f);
    if (!fd) { *error = "agent store: " + f.why; return {}; }
    if ((st.st_mode & 0111) != 0111 && fchmod(fd.get(), (st.st_mode & 07777) | 0111) != 0) {
        *error = "agent store: chmod " + shown + ": " + std::strerror(errno);
        return {};
    }
    return fd;
}
}  // namespace

std::string agent_extension(policy::AgentKind kind) {
    return kind == policy::AgentKind::java ? ".jar" : ".so";
}

std::unique_ptr<AgentStore> AgentStore::open(const std::string& state_dir, uid_t owner,
                                             std::string* error) {
    safefs::UniqueFd state = open_searchable_dir(AT_FDCWD, state_dir, "state_dir " + state_dir,
                                                 owner, error);
    if (!state) return nullptr;
    std::unique_ptr<AgentStore> s(new AgentStore());
    s->owner_ = owner;
    s->path_ = state_dir + "/agents";
    if (mkdirat(state.get(), "agents", 0711) != 0 && errno != EEXIST) {
        *error = "agent store: mkdir " + s->path_ + ": " + std::strerror(errno);
        return nullptr;
    }
    s->dir_ = open_searchable_dir(state.get(), "agents", s->path_, owner, error);
    if (!s->dir_) return nullptr;
    return s;
}

std::string AgentStore::path_for(const std::string& sha256, policy::AgentKind kind) const {
    return path_ + "/" + sha256 + agent_extension(kind);
}

std::optional<std::string> AgentStore::put(const policy::AgentSource& src, policy::AgentKind kind,
                                           std::string* error) {
    const std::string name = src.sha256 + agent_extension(kind);
    if (!existing_copy_matches(dir_.get(), name, owner_, false, src) &&
        !write_copy(dir_.get(), name, src, owner_, getegid(), error)) {
        *error = "agent store " + path_ + ": " + *error;
        return std::nullopt;
    }
    return path_ + "/" + name;
}

}  // namespace jvmwatch::inject
