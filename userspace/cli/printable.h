// Text another user controls (a JVM's args, main class, exe path) made safe to print on
// a terminal: control characters are escaped (\n, \t, \r, \\, \xNN), so no forged line
// or terminal escape reaches the screen, and invalid UTF-8 is shown as U+FFFD, as the
// event stream's JSON does.
#pragma once

#include <string>
#include <string_view>

namespace jvmwatch::cli {

std::string printable(std::string_view text);

}  // namespace jvmwatch::cli
