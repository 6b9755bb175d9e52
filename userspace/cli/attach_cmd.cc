// PLACEHOLDER: replaced by the real implementation.
#include <cstdio>
#include "userspace/cli/commands.h"
namespace jvmwatch::cli {
int cmd_attach(int, char**) { std::fprintf(stderr, "jvmwatch: attach: not built yet\n"); return kSystemError; }
}
