// /proc/PID/maps parsing (attach/procfs.*): mapped paths are file names other users
// choose (spaces, " (deleted)", newlines are escaped by the kernel as \012 but a fuzzer
// tries anyway).  Invariants: every path returned is absolute, distinct, on one line, and
// its file name satisfied the match.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "attach/procfs.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto is_jvm = [](std::string_view base) { return base == "libjvm.so"; };
    for (auto& p : jvmwatch::proc::parse_maps_paths(text, is_jvm)) {
        FUZZ_CHECK(!p.empty() && p[0] == '/');
        FUZZ_CHECK(p.find('\n') == std::string::npos);
        FUZZ_CHECK(p.substr(p.rfind('/') + 1) == "libjvm.so");
    }
    size_t seen = 0;
    auto all = jvmwatch::proc::parse_maps_paths(text, [&](std::string_view) { ++seen; return true; });
    FUZZ_CHECK(all.size() <= seen);
    for (size_t i = 0; i < all.size(); ++i)
        FUZZ_CHECK(std::find(all.begin() + static_cast<long>(i) + 1, all.end(), all[i]) == all.end());
    return 0;
}
