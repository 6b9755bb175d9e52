// Is an agent file safe to hand to JVMs?  A file anyone but root could change would let
// that user run code in every JVM on the host, so: a regular file (no symlink anywhere in
// its path), owned by the trusted uid (root), not group- or world-writable, every parent
// directory owned by the trusted uid and not writable by others (a root-owned sticky
// directory such as /tmp is fine), and, if pinned, the expected SHA-256.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace jvmwatch::policy {

// nullopt if safe, else one line saying why not.  `trusted_uid` is 0 except in tests
// that run unprivileged.
std::optional<std::string> check_agent_file(const std::string& path,
                                            const std::optional<std::string>& sha256_pin,
                                            uid_t trusted_uid = 0);

}  // namespace jvmwatch::policy
