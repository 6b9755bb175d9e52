// /proc/PID/cgroup parsing (attach/procfs.*): the v2 line "0::PATH", whose PATH names a
// cgroup a container runtime (or a delegated user) created.  Invariants: the result is
// the rest of the first "0::" line, on one line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "attach/procfs.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string path = jvmwatch::proc::parse_cgroup_v2(text);
    FUZZ_CHECK(path.find('\n') == std::string::npos);
    size_t start = std::string_view::npos;
    if (text.starts_with("0::")) start = 3;
    else if (size_t at = text.find("\n0::"); at != std::string_view::npos) start = at + 4;
    if (start == std::string_view::npos) {
        FUZZ_CHECK(path.empty());
    } else {
        FUZZ_CHECK(text.substr(start, path.size()) == path);
        FUZZ_CHECK(start + path.size() == text.size() || text[start + path.size()] == '\n');
    }
    return 0;
}
