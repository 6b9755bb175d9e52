// Looks at a live JVM from /proc, without attaching: is an agent file already loaded in
// it, and is a given thread (e.g. "Signal Dispatch") there yet.
//
// Loaded means: the JVM holds the very file (same device and inode) open, or maps it.
// Checked on JDK 17: a dynamically loaded java agent's jar stays open (fd) for as long as
// the system class loader keeps it on its class path, because the agent class is loaded
// from it; a native agent is mapped.  (Caveat: if the JVM's own class path already
// provides the Agent-Class, the jar is never opened and this says "not loaded".)
#pragma once

#include <sys/types.h>

#include <string>

namespace jvmwatch::inject {

// `file` is a path the daemon can reach (a staged copy: /proc/PID/root/tmp/..., resolved
// inside that root; any other path without following a symlink).  Matched by device and
// inode, or by name (also "(deleted)": the store's content-named copies).
bool agent_loaded(const std::string& proc_root, pid_t pid, const std::string& file);

// True if a thread of PID has this comm (15 chars at most, as the kernel keeps it).
bool has_thread_named(const std::string& proc_root, pid_t pid, const std::string& comm);

}  // namespace jvmwatch::inject
