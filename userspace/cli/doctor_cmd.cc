// PLACEHOLDER: replaced by the real implementation.
#include <cstdio>
#include "userspace/cli/commands.h"
namespace jvmwatch::cli {
int cmd_doctor(int, char**) { std::fprintf(stderr, "jvmwatch: doctor: not built yet\n"); return kSystemError; }
}
