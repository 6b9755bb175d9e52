#include "userspace/observer/elf_symbols.h"

#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the ELF reader copies little-endian headers into host structs");

namespace jvmwatch::observer::elf {
namespace {

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

// [off, off+len) lies inside a file of `size` bytes (no overflow).
bool within(uint64_t off, uint64_t len, uint64_t size) {
    return off <= size && len <= size - off;
}

// One table to scan: a symbol section and the string table it links to.
struct Table {
    Elf64_Shdr sym;
    Elf64_Shdr str;
    bool dynamic;
};

// A definition of a wanted name seen while scanning.
struct Def {
    uint64_t vaddr, size;
    bool global, dynamic;
};

class Reader {
public:
    Reader(int fd, const Limits& limits, Lookup& out) : fd_(fd), limits_(limits), out_(out) {}

    // Reads headers and tables, fills out_.  Returns "" or why the file is refused.
    std::string run(const std::vector<std::string>& wanted);

private:
    std::string read_at(uint64_t off, void* buf, uint64_t len, const char* what);
    std::string read_header();
    std::string read_sections();
    std::string read_segments();
    std::string pick_tables();
    std::string scan(const Table& t);
    void resolve(const std::string& name);

    int fd_;
    const Limits& limits_;
    Lookup& out_;
    uint64_t file_size_ = 0;
    Elf64_Ehdr eh_{};
    Elf64_Shdr sh0_{};          // section 0: extended counts live here
    std::vector<Elf64_Shdr> sections_;
    std::vector<Elf64_Phdr> exec_loads_;
    std::vector<Table> tables_;
    std::unordered_map<std::string_view, std::vector<Def>> defs_;   // keys: the wanted names
};

std::string Reader::read_at(uint64_t off, void* buf, uint64_t len, const char* what) {
    auto* p = static_cast<char*>(buf);
    uint64_t done = 0;
    while (done < len) {
        ssize_t n = ::pread(fd_, p + done, len - done, static_cast<off_t>(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::string("reading ") + what + ": " + std::strerror(errno);
        if (n == 0) return std::string("file shrank while reading ") + what;
        done += static_cast<uint64_t>(n);
        out_.bytes_read += static_cast<uint64_t>(n);
    }
    return "";
}

std::string Reader::read_header() {
    if (file_size_ < EI_NIDENT) return "not an ELF file (" + std::to_string(file_size_) + " bytes)";
    unsigned char ident[EI_NIDENT];
    if (auto e = read_at(0, ident, sizeof ident, "the ELF header"); !e.empty()) return e;
    if (std::memcmp(ident, ELFMAG, SELFMAG) != 0) return "not an ELF file (bad magic)";
    if (ident[EI_CLASS] != ELFCLASS64) return "not a 64-bit ELF file (class " + std::to_string(ident[EI_CLASS]) + ")";
    if (ident[EI_DATA] != ELFDATA2LSB) return "not a little-endian ELF file (data " + std::to_string(ident[EI_DATA]) + ")";
    if (ident[EI_VERSION] != EV_CURRENT) return "unknown ELF version " + std::to_string(ident[EI_VERSION]);
    if (file_size_ < sizeof eh_) return "truncated ELF header (" + std::to_string(file_size_) + " bytes)";
    if (auto e = read_at(0, &eh_, sizeof eh_, "the ELF header"); !e.empty()) return e;
    if (eh_.e_type != ET_DYN && eh_.e_type != ET_EXEC)
        return "not a shared object or executable (e_type " + std::to_string(eh_.e_type) + ")";
    out_.machine = eh_.e_machine;
    return "";
}

std::string Reader::read_sections() {
    if (eh_.e_shoff == 0) return "";   // no section headers: nothing to look up, not an error
    if (eh_.e_shentsize != sizeof(Elf64_Shdr))
        return "bad section header size " + std::to_string(eh_.e_shentsize);
    if (!within(eh_.e_shoff, sizeof(Elf64_Shdr), file_size_))
        return "section headers at " + hex(eh_.e_shoff) + " past end of file";
    if (auto e = read_at(eh_.e_shoff, &sh0_, sizeof sh0_, "section header 0"); !e.empty()) return e;
    // e_shnum 0 with headers present: the count is section 0's sh_size (ELF extended numbering).
    uint64_t count = eh_.e_shnum != 0 ? eh_.e_shnum : sh0_.sh_size;
    if (count == 0) return "";
    if (count > limits_.max_sections)
        return std::to_string(count) + " section headers (limit " + std::to_string(limits_.max_sections) + ")";
    uint64_t bytes = count * sizeof(Elf64_Shdr);   // count is capped: no overflow
    if (!within(eh_.e_shoff, bytes, file_size_))
        return std::to_string(count) + " section headers at " + hex(eh_.e_shoff) + " run past end of file";
    sections_.resize(count);
    return read_at(eh_.e_shoff, sections_.data(), bytes, "the section headers");
}

std::string Reader::read_segments() {
    uint64_t count = eh_.e_phnum;
    if (count == PN_XNUM) count = sh0_.sh_info;   // extended numbering, as for sections
    if (count == 0) return "no program headers";
    if (eh_.e_phentsize != sizeof(Elf64_Phdr))
        return "bad program header size " + std::to_string(eh_.e_phentsize);
    if (count > limits_.max_segments)
        return std::to_string(count) + " program headers (limit " + std::to_string(limits_.max_segments) + ")";
    uint64_t bytes = count * sizeof(Elf64_Phdr);
    if (!within(eh_.e_phoff, bytes, file_size_))
        return "program headers at " + hex(eh_.e_phoff) + " run past end of file";
    std::vector<Elf64_Phdr> ph(count);
    if (auto e = read_at(eh_.e_phoff, ph.data(), bytes, "the program headers"); !e.empty()) return e;
    for (size_t i = 0; i < ph.size(); ++i) {
        const auto& p = ph[i];
        if (p.p_type != PT_LOAD) continue;
        if (!within(p.p_offset, p.p_filesz, file_size_))
            return "PT_LOAD " + std::to_string(i) + " (offset " + hex(p.p_offset) + ", " +
                   std::to_string(p.p_filesz) + " bytes) runs past end of file";
        if (p.p_vaddr + p.p_filesz < p.p_vaddr)
            return "PT_LOAD " + std::to_string(i) + " wraps the address space";
        if (p.p_flags & PF_X) exec_loads_.push_back(p);
    }
    return "";
}

std::string Reader::pick_tables() {
    uint64_t symbols = 0, bytes = 0;
    for (size_t i = 0; i < sections_.size(); ++i) {
        const auto& s = sections_[i];
        if (s.sh_type != SHT_SYMTAB && s.sh_type != SHT_DYNSYM) continue;
        const char* kind = s.sh_type == SHT_SYMTAB ? ".symtab" : ".dynsym";
        auto where = std::string(kind) + " (section " + std::to_string(i) + ")";
        if (s.sh_entsize != sizeof(Elf64_Sym))
            return where + ": bad entry size " + std::to_string(s.sh_entsize);
        if (s.sh_size % sizeof(Elf64_Sym) != 0)
            return where + ": size " + std::to_string(s.sh_size) + " is not a whole number of entries";
        if (!within(s.sh_offset, s.sh_size, file_size_))
            return where + " runs past end of file";
        if (s.sh_link == 0 || s.sh_link >= sections_.size())
            return where + ": string table index " + std::to_string(s.sh_link) + " out of range";
        const auto& str = sections_[s.sh_link];
        if (str.sh_type != SHT_STRTAB)
            return where + ": linked section " + std::to_string(s.sh_link) + " is not a string table";
        if (!within(str.sh_offset, str.sh_size, file_size_))
            return where + ": its string table runs past end of file";
        // Each term is below the file size, itself below 2^63: the sums cannot wrap.
        symbols += s.sh_size / sizeof(Elf64_Sym);
        bytes += s.sh_size + str.sh_size;
        if (symbols > limits_.max_symbols)
            return "more than " + std::to_string(limits_.max_symbols) + " symbols";
        if (bytes > limits_.max_table_bytes)
            return "symbol and string tables exceed " + std::to_string(limits_.max_table_bytes) + " bytes";
        tables_.push_back({s, str, s.sh_type == SHT_DYNSYM});
        (s.sh_type == SHT_SYMTAB ? out_.has_symtab : out_.has_dynsym) = true;
    }
    return "";
}

std::string Reader::scan(const Table& t) {
    std::vector<Elf64_Sym> syms(t.sym.sh_size / sizeof(Elf64_Sym));
    std::string strs(t.str.sh_size, '\0');
    const char* what = t.dynamic ? ".dynsym" : ".symtab";
    if (auto e = read_at(t.sym.sh_offset, syms.data(), t.sym.sh_size, what); !e.empty()) return e;
    if (auto e = read_at(t.str.sh_offset, strs.data(), t.str.sh_size, "a string table"); !e.empty()) return e;
    out_.symbols_scanned += syms.size();
    for (size_t i = 1; i < syms.size(); ++i) {   // entry 0 is the reserved null symbol
        const auto& s = syms[i];
        if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF) continue;
        if (s.st_name >= strs.size()) continue;   // a name outside its table names nothing
        const char* name = strs.data() + s.st_name;
        const void* nul = std::memchr(name, '\0', strs.size() - s.st_name);
        if (!nul) continue;                       // unterminated: not a name
        auto it = defs_.find(std::string_view(name, static_cast<const char*>(nul) - name));
        if (it == defs_.end()) continue;
        auto bind = ELF64_ST_BIND(s.st_info);
        it->second.push_back({s.st_value, s.st_size, bind == STB_GLOBAL || bind == STB_WEAK, t.dynamic});
    }
    return "";
}

void Reader::resolve(const std::string& name) {
    auto it = defs_.find(name);
    if (it == defs_.end() || it->second.empty()) {
        out_.missing[name] = Miss::absent;
        return;
    }
    // .symtab and .dynsym list an exported function twice, at one address.  Two
    // addresses (a static function of that name in two files) cannot be told apart.
    Symbol sym{};
    const Def& first = it->second.front();
    for (const Def& d : it->second) {
        if (d.vaddr != first.vaddr) {
            out_.missing[name] = Miss::ambiguous;
            return;
        }
        sym.global |= d.global;
        sym.dynamic |= d.dynamic;
        sym.size = std::max(sym.size, d.size);
    }
    sym.vaddr = first.vaddr;
    // The uprobe offset: where the loader maps the function's bytes from.  Every byte of
    // the function must come from the file, in an executable segment; segments that
    // disagree about those bytes leave it unmapped.
    bool mapped = false;
    for (const auto& p : exec_loads_) {
        if (sym.vaddr < p.p_vaddr) continue;
        uint64_t rel = sym.vaddr - p.p_vaddr;
        if (rel >= p.p_filesz || sym.size > p.p_filesz - rel) continue;
        uint64_t off = p.p_offset + rel;
        if (mapped && off != sym.file_offset) {
            out_.missing[name] = Miss::not_mapped;
            return;
        }
        sym.file_offset = off;
        mapped = true;
    }
    if (!mapped) {
        out_.missing[name] = Miss::not_mapped;
        return;
    }
    out_.found[name] = sym;
}

std::string Reader::run(const std::vector<std::string>& wanted) {
    struct stat st{};
    if (::fstat(fd_, &st) != 0) return std::string("fstat: ") + std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return "not a regular file";
    file_size_ = static_cast<uint64_t>(st.st_size);
    for (const auto& w : wanted) defs_.try_emplace(w);
    if (auto e = read_header(); !e.empty()) return e;
    if (auto e = read_sections(); !e.empty()) return e;
    if (auto e = read_segments(); !e.empty()) return e;
    if (auto e = pick_tables(); !e.empty()) return e;
    for (const auto& t : tables_)
        if (auto e = scan(t); !e.empty()) return e;
    for (const auto& w : wanted) resolve(w);
    return "";
}

}  // namespace

std::string_view to_string(Miss m) {
    switch (m) {
    case Miss::absent: return "absent";
    case Miss::ambiguous: return "ambiguous";
    case Miss::not_mapped: return "not in an executable segment";
    }
    return "?";
}

Lookup lookup_functions(int fd, const std::vector<std::string>& wanted, const Limits& limits) {
    Lookup out;
    try {
        Reader r(fd, limits, out);
        out.error = r.run(wanted);
    } catch (const std::bad_alloc&) {
        out.error = "out of memory reading symbols";
    } catch (const std::exception& e) {
        out.error = std::string("reading symbols: ") + e.what();
    }
    if (!out.ok()) {
        out.found.clear();
        out.missing.clear();
    }
    return out;
}

uint16_t host_machine() {
#if defined(__x86_64__)
    return EM_X86_64;
#elif defined(__aarch64__)
    return EM_AARCH64;
#elif defined(__riscv)
    return EM_RISCV;
#elif defined(__s390x__)
    return EM_S390;
#elif defined(__powerpc64__)
    return EM_PPC64;
#else
    return EM_NONE;
#endif
}

}  // namespace jvmwatch::observer::elf
