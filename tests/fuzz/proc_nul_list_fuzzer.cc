// /proc/PID/cmdline and environ parsing (attach/procfs.*): NUL-separated strings that the
// process itself writes (it may overwrite its argv, leave no final NUL, or hold empty
// strings).  Invariants: no string holds a NUL; joining them back gives the input (with
// its final NUL, if it had one).
#include <cstddef>
#include <cstdint>
#include <string>

#include "attach/procfs.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto list = jvmwatch::proc::parse_nul_list(text);
    std::string joined;
    for (auto& s : list) {
        FUZZ_CHECK(s.find('\0') == std::string::npos);
        joined += s;
        joined += '\0';
    }
    if (!text.empty() && text.back() != '\0') joined.pop_back();
    FUZZ_CHECK(joined == text);
    return 0;
}
