// The daemon's content-addressed agent store: STATE_DIR/agents/<sha256>.jar|.so, the
// copies JVMs in the daemon's own mount namespace load (never the configured path, which
// could be replaced between the check and the JVM's open).
//
// The directory is owned by the daemon's uid (root), mode 0711 (any JVM user can open a
// file it knows the name of; nobody else can write or list); each file is owned by root,
// 0444, written from the fd the source was checked and hashed through (agent_copy.h), and
// an existing file is reused only when its size matches and its content hashes to its name.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "attach/safe_fs.h"
#include "userspace/policy/agent_file_check.h"
#include "userspace/policy/policy.h"

namespace jvmwatch::inject {

// ".jar" for a java agent, ".so" for a native one.
std::string agent_extension(policy::AgentKind kind);

class AgentStore {
public:
    // Opens STATE_DIR/agents, creating it (0711) if needed.  STATE_DIR and the store must
    // be directories owned by `owner`, reached without a symlink, not writable by group or
    // others; either is made searchable by others (o+x) if it is not, so JVMs of every
    // user can reach the copies.  nullptr and *error (one line) otherwise.
    static std::unique_ptr<AgentStore> open(const std::string& state_dir, uid_t owner,
                                            std::string* error);

    // The store's copy of `src` (created, or an existing one verified): its path.
    std::optional<std::string> put(const policy::AgentSource& src, policy::AgentKind kind,
                                   std::string* error);
    // Where the copy of content `sha256` is (whether or not it exists).
    std::string path_for(const std::string& sha256, policy::AgentKind kind) const;
    const std::string& dir() const { return path_; }

private:
    AgentStore() = default;
    std::string path_;
    safefs::UniqueFd dir_;  // readable directory fd
    uid_t owner_ = 0;
};

}  // namespace jvmwatch::inject
