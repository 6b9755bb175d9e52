// A small ELF64 shared object built in memory, for the ELF symbol reader's tests: the
// tests corrupt one header field at a time.  Layout (file offsets):
//   0x0 ELF header, 0x40 program headers:
//     [0] PT_LOAD R   offset 0      vaddr 0          0x1000 bytes (the headers)
//     [1] PT_LOAD R+X offset 0x1000 vaddr text_vaddr 0x1000 bytes (.text)
//     [2] PT_LOAD RW  offset 0      vaddr 0x200000   0x1000 bytes in the file, 0x3000 in memory
//   0x1000 .text, 0x2000 .symtab, then .strtab, .shstrtab, the section headers:
//     [0] null [1] .text [2] .symtab [3] .strtab [4] .shstrtab [5] .dynsym (optional,
//     the same entries as .symtab)
#pragma once

#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "attach/safe_fs.h"
#include "userspace/observer/elf_symbols.h"

namespace jvmwatch::test {

struct TestFn {
    std::string name;
    uint64_t vaddr;
    uint64_t size = 16;
    unsigned char type = STT_FUNC;
    unsigned char bind = STB_GLOBAL;
    uint16_t shndx = 1;
};

class ElfImage {
public:
    static constexpr uint64_t kTextOff = 0x1000, kTextSize = 0x1000, kSymtabOff = 0x2000;
    static constexpr uint64_t kDataVaddr = 0x200000;
    static constexpr size_t kSymtab = 2, kStrtab = 3, kDynsym = 5;

    explicit ElfImage(const std::vector<TestFn>& fns, uint64_t text_vaddr = 0x1000,
                      bool with_dynsym = false, uint16_t machine = observer::elf::host_machine()) {
        std::string strtab(1, '\0');
        std::vector<Elf64_Sym> syms(1);
        for (const auto& f : fns) {
            Elf64_Sym s{};
            s.st_name = static_cast<uint32_t>(strtab.size());
            strtab += f.name + '\0';
            s.st_info = ELF64_ST_INFO(f.bind, f.type);
            s.st_shndx = f.shndx;
            s.st_value = f.vaddr;
            s.st_size = f.size;
            syms.push_back(s);
        }
        const std::string shstr = std::string("\0.text\0.symtab\0.strtab\0.shstrtab\0.dynsym\0", 42);
        bytes_.assign(kSymtabOff, '\0');
        std::memset(bytes_.data() + kTextOff, 0xc3, kTextSize);   // ret
        append(syms.data(), syms.size() * sizeof(Elf64_Sym));
        strtab_off_ = bytes_.size();
        bytes_ += strtab;
        uint64_t shstr_off = bytes_.size();
        bytes_ += shstr;
        bytes_.resize((bytes_.size() + 7) & ~size_t{7}, '\0');
        shoff_ = bytes_.size();

        std::vector<Elf64_Shdr> sh(with_dynsym ? 6 : 5);
        sh[1] = {1, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_vaddr, kTextOff, kTextSize, 0, 0, 16, 0};
        sh[2] = {7, SHT_SYMTAB, 0, 0, kSymtabOff, syms.size() * sizeof(Elf64_Sym), kStrtab, 1, 8, sizeof(Elf64_Sym)};
        sh[3] = {15, SHT_STRTAB, 0, 0, strtab_off_, strtab.size(), 0, 0, 1, 0};
        sh[4] = {23, SHT_STRTAB, 0, 0, shstr_off, shstr.size(), 0, 0, 1, 0};
        if (with_dynsym) sh[5] = {33, SHT_DYNSYM, 0, 0, kSymtabOff, sh[2].sh_size, kStrtab, 1, 8, sizeof(Elf64_Sym)};
        append(sh.data(), sh.size() * sizeof(Elf64_Shdr));

        Elf64_Phdr ph[3] = {
            {PT_LOAD, PF_R, 0, 0, 0, 0x1000, 0x1000, 0x1000},
            {PT_LOAD, PF_R | PF_X, kTextOff, text_vaddr, text_vaddr, kTextSize, kTextSize, 0x1000},
            {PT_LOAD, PF_R | PF_W, 0, kDataVaddr, kDataVaddr, 0x1000, 0x3000, 0x1000},
        };
        std::memcpy(bytes_.data() + sizeof(Elf64_Ehdr), ph, sizeof ph);

        Elf64_Ehdr eh{};
        std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = ET_DYN;
        eh.e_machine = machine;
        eh.e_version = EV_CURRENT;
        eh.e_phoff = sizeof(Elf64_Ehdr);
        eh.e_shoff = shoff_;
        eh.e_ehsize = sizeof(Elf64_Ehdr);
        eh.e_phentsize = sizeof(Elf64_Phdr);
        eh.e_phnum = 3;
        eh.e_shentsize = sizeof(Elf64_Shdr);
        eh.e_shnum = static_cast<uint16_t>(sh.size());
        eh.e_shstrndx = 4;
        std::memcpy(bytes_.data(), &eh, sizeof eh);
    }

    const std::string& bytes() const { return bytes_; }
    std::string& bytes() { return bytes_; }
    uint64_t shoff() const { return shoff_; }
    uint64_t strtab_off() const { return strtab_off_; }

    // Edits a header in place: f(T&).
    template <class F> void ehdr(F f) { edit<Elf64_Ehdr>(0, f); }
    template <class F> void phdr(size_t i, F f) { edit<Elf64_Phdr>(sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr), f); }
    template <class F> void shdr(size_t i, F f) { edit<Elf64_Shdr>(shoff_ + i * sizeof(Elf64_Shdr), f); }
    template <class F> void sym(size_t i, F f) { edit<Elf64_Sym>(kSymtabOff + i * sizeof(Elf64_Sym), f); }

private:
    void append(const void* p, size_t n) { bytes_.append(static_cast<const char*>(p), n); }
    template <class T, class F> void edit(uint64_t off, F f) {
        T v;
        std::memcpy(&v, bytes_.data() + off, sizeof v);
        f(v);
        std::memcpy(bytes_.data() + off, &v, sizeof v);
    }

    std::string bytes_;
    uint64_t shoff_ = 0, strtab_off_ = 0;
};

// An anonymous regular file holding `bytes`.
inline safefs::UniqueFd memfd_with(const std::string& bytes) {
    safefs::UniqueFd fd(::memfd_create("jw-elf-test", MFD_CLOEXEC));
    if (fd && !bytes.empty() && ::write(fd.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
        fd.reset();
    return fd;
}

}  // namespace jvmwatch::test
