// Is an agent file safe to hand to JVMs?  A file anyone but root could change would let
// that user run code in every JVM on the host, so: a regular file (no symlink anywhere in
// its path), owned by the trusted uid (root), not group- or world-writable, every parent
// directory owned by the trusted uid and not writable by others (a root-owned sticky
// directory such as /tmp is fine), at most kMaxAgentBytes, and, if pinned, the expected
// SHA-256.
//
// The file is opened once (O_PATH, fstat, then re-opened for reading: a device's open()
// never runs) and hashed from that fd, so what was checked is what was hashed; callers
// that go on to copy it (the agent store, staging into containers) copy from that same fd.
// Checked at config load and again at every attach.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "attach/safe_fs.h"

namespace jvmwatch::policy {

// Larger agent files are refused (hashing must not hold a thread for long).
constexpr uint64_t kMaxAgentBytes = 256ull << 20;

// An opened, checked and hashed agent file.
struct AgentSource {
    safefs::UniqueFd fd;  // readable (O_RDONLY) fd of the checked inode
    uint64_t size = 0;    // bytes hashed
    std::string sha256;   // lower-case hex of those bytes
};

// nullopt and *problem (one line) if the file is not safe, too large or does not match
// `sha256_pin`.  `trusted_uid` is 0 except in tests that run unprivileged.
std::optional<AgentSource> open_agent_source(const std::string& path,
                                             const std::optional<std::string>& sha256_pin,
                                             uid_t trusted_uid, std::string* problem,
                                             uint64_t max_bytes = kMaxAgentBytes);

// nullopt if safe, else one line saying why not.  *sha256 receives the content hash.
std::optional<std::string> check_agent_file(const std::string& path,
                                            const std::optional<std::string>& sha256_pin,
                                            uid_t trusted_uid = 0,
                                            std::string* sha256 = nullptr);

}  // namespace jvmwatch::policy
