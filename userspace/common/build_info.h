// What was built: the version from the top-level VERSION file and, when the build ran
// in a git checkout, `git describe --always --dirty`.  Both come from the Makefile as
// compile definitions of build_info.cc alone, so a new VERSION or commit rebuilds one
// small file.
#pragma once

#include <string>
#include <string_view>

namespace jvmwatch {

std::string_view build_version();   // "0.1.0"
std::string_view build_commit();    // "a874ca8-dirty", or "" when not built from git

// "<program> <version>" plus " (git <commit>)" when the commit is known: what
// `--version` prints.
std::string version_line(std::string_view program);

}  // namespace jvmwatch
