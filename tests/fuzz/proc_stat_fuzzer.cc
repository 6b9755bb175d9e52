// /proc/PID/stat parsing (attach/procfs.*): field 2 is the comm in parentheses, which the
// process chooses and may hold spaces and ')' ("a) R 1 2"), so the fields resume after the
// last ')'.  Invariants: no crash; a forged field after a ')' in the comm cannot win: the
// stat of the same fields with a harmless comm parses the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include "attach/procfs.h"
#include "tests/fuzz/fuzz_check.h"

using jvmwatch::proc::parse_stat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto st = parse_stat(text);
    if (!st) return 0;
    auto close = text.rfind(')');
    FUZZ_CHECK(close != std::string::npos);
    // Everything up to the last ')' is "pid (comm": replacing it must not change the result.
    auto plain = parse_stat("1 (x" + text.substr(close));
    FUZZ_CHECK(plain.has_value());
    FUZZ_CHECK(plain->state == st->state && plain->ppid == st->ppid);
    FUZZ_CHECK(plain->start_time_ticks == st->start_time_ticks);
    return 0;
}
