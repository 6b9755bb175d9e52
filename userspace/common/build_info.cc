#include "userspace/common/build_info.h"

// The Makefile defines both; a build without them (another build system) says so.
#ifndef JVMWATCH_VERSION
#define JVMWATCH_VERSION "unknown"
#endif
#ifndef JVMWATCH_GIT_COMMIT
#define JVMWATCH_GIT_COMMIT ""
#endif

namespace jvmwatch {

std::string_view build_version() { return JVMWATCH_VERSION; }
std::string_view build_commit() { return JVMWATCH_GIT_COMMIT; }

std::string version_line(std::string_view program) {
    std::string line(program);
    line += ' ';
    line += build_version();
    if (!build_commit().empty()) {
        line += " (git ";
        line += build_commit();
        line += ')';
    }
    return line;
}

}  // namespace jvmwatch
