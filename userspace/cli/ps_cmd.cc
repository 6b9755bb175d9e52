// PLACEHOLDER: replaced by the real implementation.
#include <cstdio>
#include "userspace/cli/commands.h"
namespace jvmwatch::cli {
int cmd_ps(int, char**) { std::fprintf(stderr, "jvmwatch: ps: not built yet\n"); return kSystemError; }
}
