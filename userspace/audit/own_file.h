// Opening the daemon's own output files (the audit log, --record-raw) for appending,
// when their path may lie in a directory other users can write: a symlink, a FIFO
// (whose open would block), a device, a hard link to another file or a file another
// user owns is refused with one line, before anything is opened for writing.  A new
// file is created O_EXCL with exactly `mode`; an existing one must be a regular file
// with one link, owned by the daemon's user, not writable by group or others; its mode
// is then set to `mode`.  The fd is O_APPEND, O_CLOEXEC and blocking-safe (a regular
// file never blocks an open).
#pragma once

#include <sys/types.h>

#include <string>

#include "attach/safe_fs.h"

namespace jvmwatch::audit {

// `what` names the file in the error line ("audit log", "raw event file").
safefs::UniqueFd open_own_file(const std::string& path, mode_t mode, const std::string& what,
                               std::string* error);

}  // namespace jvmwatch::audit
