// /proc/PID/status parsing (attach/procfs.*): the Name: line is the process's own comm,
// which any user sets (prctl PR_SET_NAME), and a fuzzer stands in for a hostile kernel
// view.  Invariants: no crash; a parse succeeds only with a Tgid: line; nspid() falls
// back to the tgid when NStgid: is absent.
#include <cstddef>
#include <cstdint>
#include <string>

#include "attach/procfs.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto st = jvmwatch::proc::parse_status(text);
    if (!st) return 0;
    FUZZ_CHECK(text.find("Tgid:") != std::string::npos);
    FUZZ_CHECK(st->nspid() == (st->nstgid.empty() ? st->tgid : st->nstgid.back()));
    FUZZ_CHECK(st->name.find('\n') == std::string::npos);
    return 0;
}
