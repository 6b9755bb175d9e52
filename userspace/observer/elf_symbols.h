// Finding function symbols in another process's shared library (libjvm.so,
// libinstrument.so) and the file offsets uprobes attach at.  The file is hostile input:
// a container's JDK can be any bytes.  The reader works on an fd the caller opened
// through attach/safe_fs.h, reads only with pread, checks every header field against
// the file size before use, reads at most `max_table_bytes` of symbol and string tables
// in all, and reports any failure as one line.  It never throws.
//
// Only the names asked for are looked up (exact mangled names; nothing is demangled).
// Both .symtab (full symbols: JDKs ship libjvm unstripped) and .dynsym are read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace jvmwatch::observer::elf {

struct Limits {
    // Symbol tables and their string tables, all read tables together.  libjvm 25
    // needs about 5 MiB.
    uint64_t max_table_bytes = 64ull << 20;
    uint64_t max_symbols = 2'000'000;   // entries of .symtab + .dynsym
    uint64_t max_sections = 4096;       // section headers (a linked .so has ~40)
    uint64_t max_segments = 256;        // program headers
};

// One definition of a wanted name.
struct Symbol {
    uint64_t vaddr = 0;        // st_value
    uint64_t size = 0;         // st_size
    uint64_t file_offset = 0;  // where vaddr's bytes are in the file (the uprobe offset)
    bool global = false;       // STB_GLOBAL/STB_WEAK (else STB_LOCAL)
    bool dynamic = false;      // seen in .dynsym (else only in .symtab)
};

// The outcome for one wanted name that is not simply found.
enum class Miss {
    absent,         // no defined function of that name
    ambiguous,      // several functions of that name at different addresses
    not_mapped,     // its address is in no executable PT_LOAD's file bytes
};
std::string_view to_string(Miss m);

struct Lookup {
    std::string error;   // the whole file failed (one line); "" when it was read
    uint16_t machine = 0;  // e_machine
    bool has_symtab = false;
    bool has_dynsym = false;
    uint64_t symbols_scanned = 0;
    uint64_t bytes_read = 0;      // every pread, headers included
    std::unordered_map<std::string, Symbol> found;
    std::unordered_map<std::string, Miss> missing;   // every wanted name not in `found`
    bool ok() const { return error.empty(); }
};

// Reads the ELF64 little-endian file open on `fd` and looks up each of `wanted` as a
// defined function (STT_FUNC or STT_GNU_IFUNC).  Sizes are checked against fstat(fd).
Lookup lookup_functions(int fd, const std::vector<std::string>& wanted, const Limits& limits = {});

// The e_machine value of the running host (EM_X86_64, EM_AARCH64, ...).
uint16_t host_machine();

}  // namespace jvmwatch::observer::elf
