// Content-named copies of an agent file in a directory (the daemon's agent store, or a
// container's /tmp): written from the fd the source was checked and hashed through, and
// reused only after verification.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "userspace/policy/agent_file_check.h"

namespace jvmwatch::inject {

// Whether `name` in `dirfd` already holds the agent: a regular file (not followed if a
// link) with one link, owned by `owner` (or root if owner_or_root), not writable by group
// or others, of exactly src.size bytes, whose content (read no further than that size)
// hashes to src.sha256.  A file of another size is never read.
bool existing_copy_matches(int dirfd, const std::string& name, uid_t owner, bool owner_or_root,
                           const policy::AgentSource& src);

// Writes src into `dirfd`/`name` atomically: a random temp name created with
// O_CREAT|O_EXCL|O_NOFOLLOW, the bytes read from src.fd and hashed as written (other
// bytes than src.sha256: the source changed, nothing is placed), fchown(uid, gid),
// fchmod 0444, fsync, renameat over `name`, fsync of the directory.  `dirfd` must be
// a readable directory fd.  false and *error (one line) on failure; no temp file is left.
bool write_copy(int dirfd, const std::string& name, const policy::AgentSource& src, uid_t uid,
                gid_t gid, std::string* error);

// The same from any readable fd of `size` bytes hashing to `sha256`, with the copy's
// permission bits `mode` (the evidence store keeps 0400 copies).
bool write_copy(int dirfd, const std::string& name, int src_fd, uint64_t size,
                const std::string& sha256, uid_t uid, gid_t gid, mode_t mode, std::string* error);

}  // namespace jvmwatch::inject
