// The ELF symbol reader (userspace/observer/elf_symbols.*) and the JDK probe resolution
// on top of it (jdk_probe_symbols.*): the input is a whole library file, as a container
// could plant it.  Invariants: no crash, no sanitizer report, no exception; a refusal is
// one line and leaves no result; an accepted file accounts for every wanted name; a
// found function's bytes lie inside the file; reads stay within the file and the caps;
// a name looked up alone resolves as it did among the others.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "userspace/observer/elf_symbols.h"
#include "userspace/observer/jdk_probe_symbols.h"

namespace {

using namespace jvmwatch::observer;

// One memfd reused for every input: the reader wants a regular file it can fstat.
int input_fd() {
    static int fd = ::memfd_create("elf_symbols_fuzzer", MFD_CLOEXEC);
    return fd;
}

std::vector<std::string> wanted_names() {
    std::vector<std::string> w = {"jw_probe_target", "helper", "frame_dummy"};
    for (const auto& p : jdk_probe_table())
        for (const auto& c : p.candidates) w.emplace_back(c.mangled);
    return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    int fd = input_fd();
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(::ftruncate(fd, 0) == 0);
    if (size && ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();

    static const std::vector<std::string> wanted = wanted_names();
    static const std::set<std::string> distinct(wanted.begin(), wanted.end());
    elf::Limits limits;
    limits.max_table_bytes = 1 << 20;   // the file is smaller anyway; keeps runs fast
    auto r = elf::lookup_functions(fd, wanted, limits);
    const uint64_t header_bytes = 64 + 16 + 64 + limits.max_sections * 64 + limits.max_segments * 56;
    FUZZ_CHECK(r.bytes_read <= header_bytes + limits.max_table_bytes);
    if (!r.ok()) {
        FUZZ_CHECK(r.error.find('\n') == std::string::npos);
        FUZZ_CHECK(r.found.empty() && r.missing.empty());
    } else {
        FUZZ_CHECK(r.found.size() + r.missing.size() == distinct.size());
        for (const auto& [name, sym] : r.found) {
            FUZZ_CHECK(distinct.count(name) && !r.missing.count(name));
            FUZZ_CHECK(sym.file_offset < size && sym.size <= size - sym.file_offset);
            auto alone = elf::lookup_functions(fd, {name}, limits);
            FUZZ_CHECK(alone.ok() && alone.found.count(name));
            FUZZ_CHECK(alone.found[name].file_offset == sym.file_offset);
        }
    }
    for (auto lib : {JdkLibrary::libjvm, JdkLibrary::libinstrument}) {
        auto probes = resolve_probes(fd, lib, limits);
        FUZZ_CHECK(probes.error.empty() || probes.sites.empty());
        for (const auto& s : probes.sites) FUZZ_CHECK(s.file_offset < size);
        auto line = probes.summary("fuzz");
        FUZZ_CHECK(line.find('\n') == std::string::npos);
    }
    return 0;
}
