// The ELF symbol reader and the JDK probe table: offsets compared with binutils' readelf
// (a separate implementation) on synthetic images and on every JDK in /usr/lib/jvm;
// hostile headers each refused with one line; the cache parses each file once.
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "attach/safe_fs.h"
#include "tests/common/support.h"
#include "tests/unit/elf_test_image.h"
#include "userspace/observer/elf_symbols.h"
#include "userspace/observer/jdk_probe_symbols.h"

namespace jvmwatch::observer {
namespace {

using elf::Limits;
using elf::Lookup;
using elf::Miss;
using test::ElfImage;
using test::TestFn;

// ---- the peer: readelf's view of a file -------------------------------------------
// Symbol values from `readelf -sW`, segments from `readelf -lW`; the file offset of a
// function computed from those alone.
struct Peer {
    struct Seg { uint64_t offset, vaddr, filesz; bool exec; };
    std::vector<Seg> segs;
    std::map<std::string, std::set<uint64_t>> values;   // defined FUNC symbols, both tables
    std::map<std::string, uint64_t> sizes;              // largest st_size seen

    static std::vector<std::string> words(const std::string& line) {
        std::istringstream in(line);
        std::vector<std::string> w;
        for (std::string t; in >> t;) w.push_back(t);
        return w;
    }

    explicit Peer(const std::string& path) {
        std::string out;
        EXPECT_EQ(test::run_command({"readelf", "-lW", path}, &out), 0) << out;
        std::istringstream lines(out);
        for (std::string line; std::getline(lines, line);) {
            auto w = words(line);
            // LOAD offset vaddr paddr filesz memsz flags... align; flags may be "R E".
            if (w.size() < 8 || w[0] != "LOAD") continue;
            bool exec = false;
            for (size_t i = 6; i + 1 < w.size(); ++i) exec |= w[i].find('E') != std::string::npos;
            segs.push_back({std::stoull(w[1], nullptr, 16), std::stoull(w[2], nullptr, 16),
                            std::stoull(w[4], nullptr, 16), exec});
        }
        EXPECT_EQ(test::run_command({"readelf", "-sW", path}, &out), 0);
        lines = std::istringstream(out);
        for (std::string line; std::getline(lines, line);) {
            auto w = words(line);
            // Num: Value Size Type Bind Vis Ndx Name
            if (w.size() < 8 || w[0].back() != ':' || w[3] != "FUNC" || w[6] == "UND") continue;
            std::string name = w[7].substr(0, w[7].find('@'));   // readelf adds @VERSION
            values[name].insert(std::stoull(w[1], nullptr, 16));
            sizes[name] = std::max<uint64_t>(sizes[name], std::stoull(w[2], nullptr, 0));
        }
    }

    // The uprobe offset of `name`, if it is one function wholly in one executable segment's
    // file bytes (the contract of elf::lookup_functions).
    std::optional<uint64_t> offset(const std::string& name) const {
        auto it = values.find(name);
        if (it == values.end() || it->second.size() != 1) return std::nullopt;
        uint64_t v = *it->second.begin(), size = sizes.at(name);
        std::optional<uint64_t> off;
        for (const auto& s : segs)
            if (s.exec && v >= s.vaddr && v + size <= s.vaddr + s.filesz && v < s.vaddr + s.filesz) {
                if (off && *off != v - s.vaddr + s.offset) return std::nullopt;
                off = v - s.vaddr + s.offset;
            }
        return off;
    }
};

// As the daemon opens another process's library: inside its root (here our own).
safefs::UniqueFd open_library(const std::string& path) {
    safefs::Failure f;
    auto root = safefs::open_proc_root("/proc", ::getpid(), &f);
    EXPECT_TRUE(root) << f.why;
    auto opath = safefs::open_path(root.get(), path, safefs::Resolve::in_root, {}, nullptr, &f);
    EXPECT_TRUE(opath) << path << ": " << f.why;
    if (!opath) return {};
    auto fd = safefs::reopen_for_read(opath.get(), &f);
    EXPECT_TRUE(fd) << path << ": " << f.why;
    return fd;
}

Lookup lookup_bytes(const std::string& bytes, const std::vector<std::string>& wanted,
                    const Limits& limits = {}) {
    auto fd = test::memfd_with(bytes);
    EXPECT_TRUE(fd);
    return elf::lookup_functions(fd.get(), wanted, limits);
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

const std::vector<TestFn> kFns = {
    {"alpha", 0x401000 + 0x10},
    {"_ZN19LinuxAttachListener12read_requestEi", 0x401000 + 0x100, 64, STT_FUNC, STB_LOCAL},
    {"omega", 0x401000 + 0xff0, 16},
};

// ---- synthetic images ---------------------------------------------------------------

TEST(ElfSymbols, FunctionOffsetsMatchReadelfWhenAddressesAreNotOffsets) {
    test::TempDir dir("jw-elf");
    ElfImage img(kFns, 0x401000);   // .text at file 0x1000, address 0x401000
    write_file(dir.file("lib.so"), img.bytes());
    Peer peer(dir.file("lib.so"));
    ASSERT_EQ(peer.segs.size(), 3u);

    auto fd = open_library(dir.file("lib.so"));
    std::vector<std::string> wanted = {"alpha", "_ZN19LinuxAttachListener12read_requestEi", "omega", "nope"};
    auto r = elf::lookup_functions(fd.get(), wanted);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_TRUE(r.has_symtab);
    EXPECT_FALSE(r.has_dynsym);
    EXPECT_EQ(r.machine, elf::host_machine());
    for (const auto& name : {"alpha", "_ZN19LinuxAttachListener12read_requestEi", "omega"}) {
        ASSERT_TRUE(r.found.count(name)) << name;
        auto expect = peer.offset(name);
        ASSERT_TRUE(expect) << name;
        EXPECT_EQ(r.found[name].file_offset, *expect) << name;
        EXPECT_NE(r.found[name].file_offset, r.found[name].vaddr) << name;
    }
    EXPECT_EQ(r.found["alpha"].file_offset, 0x1010u);
    EXPECT_FALSE(r.found["_ZN19LinuxAttachListener12read_requestEi"].global);
    EXPECT_TRUE(r.found["alpha"].global);
    EXPECT_EQ(r.missing.at("nope"), Miss::absent);
    EXPECT_EQ(r.found.size() + r.missing.size(), wanted.size());
}

TEST(ElfSymbols, ASymbolInBothTablesIsOneFunction) {
    ElfImage img(kFns, 0x401000, /*with_dynsym=*/true);
    auto r = lookup_bytes(img.bytes(), {"alpha"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_TRUE(r.has_dynsym);
    ASSERT_TRUE(r.found.count("alpha"));
    EXPECT_TRUE(r.found["alpha"].dynamic);
    EXPECT_EQ(r.symbols_scanned, 2 * (kFns.size() + 1));
}

TEST(ElfSymbols, SymbolsThatCannotBeProbedAreMissingWithTheirReason) {
    const uint64_t t = 0x1000;
    std::vector<TestFn> fns = {
        {"undefined", 0, 0, STT_FUNC, STB_GLOBAL, SHN_UNDEF},
        {"object", t + 0x20, 8, STT_OBJECT},
        {"ifunc_resolver", t + 0x30, 8, STT_GNU_IFUNC},   // its value is the resolver
        {"in_data_segment", ElfImage::kDataVaddr + 0x10},
        {"in_bss", ElfImage::kDataVaddr + 0x2000},
        {"in_no_segment", 0x900000},
        {"past_segment_end", t + ElfImage::kTextSize - 8, 64},
        {"huge_size", t + 0x40, ~0ull},
        {"twice", t + 0x50}, {"twice", t + 0x60},              // two static functions
        {"same_twice", t + 0x70}, {"same_twice", t + 0x70},
        {"at_end", t + ElfImage::kTextSize - 16, 16},
        {"wrapping_vaddr", ~0ull - 4, 16},
    };
    ElfImage img(fns, t);
    std::vector<std::string> wanted;
    for (const auto& f : fns) wanted.push_back(f.name);
    auto r = lookup_bytes(img.bytes(), wanted);
    ASSERT_TRUE(r.ok()) << r.error;
    auto miss = [&](const char* n) { return r.missing.count(n) ? std::string(elf::to_string(r.missing.at(n))) : "found"; };
    EXPECT_EQ(miss("undefined"), "absent");
    EXPECT_EQ(miss("object"), "absent");
    EXPECT_EQ(miss("ifunc_resolver"), "absent");
    EXPECT_EQ(miss("in_data_segment"), "not in an executable segment");
    EXPECT_EQ(miss("in_bss"), "not in an executable segment");
    EXPECT_EQ(miss("in_no_segment"), "not in an executable segment");
    EXPECT_EQ(miss("past_segment_end"), "not in an executable segment");
    EXPECT_EQ(miss("huge_size"), "not in an executable segment");
    EXPECT_EQ(miss("wrapping_vaddr"), "not in an executable segment");
    EXPECT_EQ(miss("twice"), "ambiguous");
    EXPECT_EQ(miss("same_twice"), "found");
    EXPECT_EQ(miss("at_end"), "found");
    EXPECT_EQ(r.found["at_end"].file_offset, ElfImage::kTextOff + ElfImage::kTextSize - 16);
}

TEST(ElfSymbols, BadNameIndexesNameNothing) {
    ElfImage img({{"alpha", 0x1010}, {"beta", 0x1020}, {"gamma", 0x1030}});
    img.sym(1, [](Elf64_Sym& s) { s.st_name = 0xfffffff0; });   // out of the string table
    // The table's last name loses its terminating NUL: it runs to the end of the table.
    img.shdr(ElfImage::kStrtab, [](Elf64_Shdr& s) { s.sh_size -= 1; });
    auto r = lookup_bytes(img.bytes(), {"alpha", "beta", "gamma"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.missing.at("alpha"), Miss::absent);
    EXPECT_EQ(r.missing.at("gamma"), Miss::absent);
    EXPECT_TRUE(r.found.count("beta"));
}

struct Hostile {
    const char* what;
    std::function<void(ElfImage&)> edit;
    const char* error;   // a substring of the one-line refusal
};

TEST(ElfSymbols, HostileHeadersAreRefusedWithOneLine) {
    const std::vector<Hostile> cases = {
        {"ELF32", [](ElfImage& i) { i.bytes()[EI_CLASS] = ELFCLASS32; }, "not a 64-bit ELF"},
        {"big-endian", [](ElfImage& i) { i.bytes()[EI_DATA] = ELFDATA2MSB; }, "not a little-endian ELF"},
        {"bad magic", [](ElfImage& i) { i.bytes()[1] = 'X'; }, "not an ELF file"},
        {"version", [](ElfImage& i) { i.bytes()[EI_VERSION] = 9; }, "unknown ELF version"},
        {"relocatable", [](ElfImage& i) { i.ehdr([](Elf64_Ehdr& e) { e.e_type = ET_REL; }); }, "not a shared object"},
        {"shoff past EOF", [](ElfImage& i) { i.ehdr([](Elf64_Ehdr& e) { e.e_shoff = 1ull << 40; }); }, "past end of file"},
        {"shoff wraps", [](ElfImage& i) { i.ehdr([](Elf64_Ehdr& e) { e.e_shoff = ~0ull - 8; }); }, "past end of file"},
        {"shentsize", [](ElfImage& i) { i.ehdr([](Elf64_Ehdr& e) { e.e_shentsize = 40; }); }, "bad section header size"},
        {"e_shnum huge", [](ElfImage& i) { i.ehdr([](Elf64_Ehdr& e) { e.e_shnum = 0xffff; }); }, "section headers (limit"},
        {"e_shnum runs past EOF", [](ElfImage& i) { i.ehdr([](Elf64_Ehdr& e) { e.e_shnum = 200; }); }, "run past end of file"},
        {"extended shnum huge", [](ElfImage& i) {
             i.ehdr([](Elf64_Ehdr& e) { e.e_shnum = 0; });
             i.shdr(0, [](Elf64_Shdr& s) { s.sh_size = 1ull << 40; });
         }, "section headers (limit"},
        {"extended phnum huge", [](ElfImage& i) {
             i.ehdr([](Elf64_Ehdr& e) { e.e_phnum = PN_XNUM; });
             i.shdr(0, [](Elf64_Shdr& s) { s.sh_info = 1000000000; });
         }, "program headers (limit"},
        {"no program headers", [](ElfImage& i) { i.ehdr([](Elf64_Ehdr& e) { e.e_phnum = 0; }); }, "no program headers"},
        {"phentsize", [](ElfImage& i) { i.ehdr([](Elf64_Ehdr& e) { e.e_phentsize = 32; }); }, "bad program header size"},
        {"phoff past EOF", [](ElfImage& i) { i.ehdr([](Elf64_Ehdr& e) { e.e_phoff = ~0ull - 100; }); }, "program headers at"},
        {"PT_LOAD past EOF", [](ElfImage& i) { i.phdr(1, [](Elf64_Phdr& p) { p.p_filesz = 1ull << 40; }); }, "runs past end of file"},
        {"PT_LOAD wraps", [](ElfImage& i) { i.phdr(1, [](Elf64_Phdr& p) { p.p_vaddr = ~0ull - 8; }); }, "wraps the address space"},
        {"symtab past EOF", [](ElfImage& i) {
             auto size = i.bytes().size();
             i.shdr(ElfImage::kSymtab, [&](Elf64_Shdr& s) { s.sh_offset = size + 100; });
         }, ".symtab (section 2) runs past end of file"},
        {"symtab size past EOF", [](ElfImage& i) { i.shdr(ElfImage::kSymtab, [](Elf64_Shdr& s) { s.sh_size = 24ull << 30; }); }, "runs past end of file"},
        {"sh_entsize 0", [](ElfImage& i) { i.shdr(ElfImage::kSymtab, [](Elf64_Shdr& s) { s.sh_entsize = 0; }); }, "bad entry size 0"},
        {"sh_entsize huge", [](ElfImage& i) { i.shdr(ElfImage::kSymtab, [](Elf64_Shdr& s) { s.sh_entsize = 1ull << 62; }); }, "bad entry size"},
        {"partial entry", [](ElfImage& i) { i.shdr(ElfImage::kSymtab, [](Elf64_Shdr& s) { s.sh_size -= 1; }); }, "not a whole number of entries"},
        {"sh_link out of range", [](ElfImage& i) { i.shdr(ElfImage::kSymtab, [](Elf64_Shdr& s) { s.sh_link = 77; }); }, "string table index 77 out of range"},
        {"sh_link 0", [](ElfImage& i) { i.shdr(ElfImage::kSymtab, [](Elf64_Shdr& s) { s.sh_link = 0; }); }, "string table index 0"},
        {"sh_link not a strtab", [](ElfImage& i) { i.shdr(ElfImage::kSymtab, [](Elf64_Shdr& s) { s.sh_link = 1; }); }, "is not a string table"},
        {"strtab past EOF", [](ElfImage& i) { i.shdr(ElfImage::kStrtab, [](Elf64_Shdr& s) { s.sh_offset = ~0ull - 2; }); }, "its string table runs past end of file"},
    };
    for (const auto& c : cases) {
        ElfImage img(kFns, 0x401000);
        c.edit(img);
        auto r = lookup_bytes(img.bytes(), {"alpha"});
        EXPECT_FALSE(r.ok()) << c.what;
        EXPECT_NE(r.error.find(c.error), std::string::npos) << c.what << ": " << r.error;
        EXPECT_EQ(r.error.find('\n'), std::string::npos) << c.what;
        EXPECT_TRUE(r.found.empty() && r.missing.empty()) << c.what;
        EXPECT_LT(r.bytes_read, 64u * 1024) << c.what;
    }
}

TEST(ElfSymbols, NonElfInputsAreRefused) {
    EXPECT_NE(lookup_bytes("", {"a"}).error.find("not an ELF file (0 bytes)"), std::string::npos);
    EXPECT_NE(lookup_bytes("#!/bin/sh\necho hello\n", {"a"}).error.find("not an ELF file (bad magic)"), std::string::npos);
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    safefs::UniqueFd r(p[0]), w(p[1]);
    EXPECT_EQ(elf::lookup_functions(r.get(), {"a"}).error, "not a regular file");
    EXPECT_NE(elf::lookup_functions(-1, {"a"}).error.find("fstat"), std::string::npos);
}

TEST(ElfSymbols, NoSectionHeadersMeansNothingToFind) {
    ElfImage img(kFns, 0x401000);
    img.ehdr([](Elf64_Ehdr& e) { e.e_shoff = 0; e.e_shnum = 0; });
    auto r = lookup_bytes(img.bytes(), {"alpha"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_FALSE(r.has_symtab || r.has_dynsym);
    EXPECT_EQ(r.missing.at("alpha"), Miss::absent);
}

// Every prefix of a valid image: refused, or read with nothing wrongly found.
TEST(ElfSymbols, EveryTruncationIsRefusedOrConsistent) {
    ElfImage img(kFns, 0x401000);
    auto whole = lookup_bytes(img.bytes(), {"alpha", "omega"});
    ASSERT_TRUE(whole.ok());
    size_t refused = 0;
    for (size_t n = 0; n < img.bytes().size(); ++n) {
        auto r = lookup_bytes(img.bytes().substr(0, n), {"alpha", "omega"});
        if (!r.ok()) {
            ++refused;
            EXPECT_EQ(r.error.find('\n'), std::string::npos);
            continue;
        }
        for (const auto& [name, sym] : r.found) EXPECT_EQ(sym.file_offset, whole.found[name].file_offset) << n;
    }
    // The section headers are the file's last bytes: every proper prefix cuts them.
    EXPECT_EQ(refused, img.bytes().size());
    EXPECT_NE(lookup_bytes(img.bytes().substr(0, 63), {"a"}).error.find("truncated ELF header (63 bytes)"), std::string::npos);
}

TEST(ElfSymbols, TablesBeyondTheCapAreNotRead) {
    ElfImage img(kFns, 0x401000);
    Limits small;
    small.max_table_bytes = 100;
    auto r = lookup_bytes(img.bytes(), {"alpha"}, small);
    EXPECT_NE(r.error.find("symbol and string tables exceed 100 bytes"), std::string::npos) << r.error;
    EXPECT_LT(r.bytes_read, 1024u);
    Limits few;
    few.max_symbols = 2;
    r = lookup_bytes(img.bytes(), {"alpha"}, few);
    EXPECT_NE(r.error.find("more than 2 symbols"), std::string::npos) << r.error;
    Limits sections;
    sections.max_sections = 4;
    EXPECT_NE(lookup_bytes(img.bytes(), {"alpha"}, sections).error.find("5 section headers (limit 4)"), std::string::npos);
}

// A 1 TiB sparse file whose .symtab claims almost all of it: refused at the cap, having
// read only headers.
TEST(ElfSymbols, TerabyteSparseFileStopsAtTheCap) {
    test::TempDir dir("jw-elf");
    ElfImage img(kFns, 0x401000);
    const uint64_t tib = 1ull << 40;
    img.shdr(ElfImage::kSymtab, [&](Elf64_Shdr& s) {
        s.sh_offset = 1ull << 20;
        s.sh_size = (tib - (2ull << 20)) / sizeof(Elf64_Sym) * sizeof(Elf64_Sym);
    });
    write_file(dir.file("big.so"), img.bytes());
    ASSERT_EQ(::truncate(dir.file("big.so").c_str(), static_cast<off_t>(tib)), 0);
    auto fd = open_library(dir.file("big.so"));
    auto r = elf::lookup_functions(fd.get(), {"alpha"});
    EXPECT_NE(r.error.find("more than 2000000 symbols"), std::string::npos) << r.error;
    EXPECT_LT(r.bytes_read, 64u * 1024);
    // Under the symbol cap, the byte cap stops it: 1.9 M entries of 24 bytes, 45 MiB,
    // plus a string table of 1 GiB.
    img.shdr(ElfImage::kSymtab, [&](Elf64_Shdr& s) { s.sh_size = 1'900'000 * sizeof(Elf64_Sym); });
    img.shdr(ElfImage::kStrtab, [&](Elf64_Shdr& s) { s.sh_offset = tib - (1ull << 30); s.sh_size = 1ull << 30; });
    write_file(dir.file("big.so"), img.bytes());
    ASSERT_EQ(::truncate(dir.file("big.so").c_str(), static_cast<off_t>(tib)), 0);
    fd = open_library(dir.file("big.so"));
    r = elf::lookup_functions(fd.get(), {"alpha"});
    EXPECT_NE(r.error.find("exceed 67108864 bytes"), std::string::npos) << r.error;
    EXPECT_LT(r.bytes_read, 64u * 1024);
}

// ---- the probe table ---------------------------------------------------------------

TEST(JdkProbeSymbols, TableIsWellFormed) {
    std::set<std::string_view> ids, names;
    for (const auto& p : jdk_probe_table()) {
        EXPECT_TRUE(ids.insert(p.id).second) << p.id;
        EXPECT_FALSE(p.candidates.empty()) << p.id;
        for (const auto& c : p.candidates) {
            EXPECT_TRUE(names.insert(c.mangled).second) << c.mangled;
            EXPECT_EQ(c.mangled.find('.'), std::string_view::npos) << "a GCC clone: " << c.mangled;
        }
    }
    EXPECT_TRUE(ids.count("read_request") && ids.count("op_load_agent") && ids.count("dcmd") &&
                ids.count("agent_on_attach"));
}

TEST(JdkProbeSymbols, ResolvesAndSummarisesASyntheticLibjvm) {
    const uint64_t t = 0x401000;
    ElfImage img({{"_ZN19LinuxAttachListener12read_requestEi", t + 0x10},
                  {"_ZL10load_agentP15AttachOperationP12outputStream", t + 0x40, 16, STT_FUNC, STB_LOCAL},
                  {"_ZL10load_agentP15AttachOperationP12outputStream", t + 0x80, 16, STT_FUNC, STB_LOCAL},
                  {"_ZN4DCmd17parse_and_executeE10DCmdSourceP12outputStreamPKccP10JavaThread", t + 0x100},
                  {"_ZN4DCmd17parse_and_executeE10DCmdSourceP12outputStreamPKccP6Thread", t + 0x200}},
                 t);
    auto fd = test::memfd_with(img.bytes());
    auto lib = resolve_probes(fd.get(), JdkLibrary::libjvm);
    ASSERT_TRUE(lib.error.empty()) << lib.error;
    ASSERT_TRUE(lib.site("read_request"));
    EXPECT_EQ(lib.site("read_request")->file_offset, 0x1010u);
    EXPECT_EQ(lib.site("read_request")->abi, ProbeAbi::read_request_fd);
    ASSERT_TRUE(lib.site("dcmd"));
    EXPECT_EQ(lib.site("dcmd")->file_offset, 0x1100u);   // the first candidate wins
    EXPECT_FALSE(lib.site("op_load_agent"));             // two static functions of that name
    EXPECT_FALSE(lib.site("agent_on_attach"));           // a libinstrument probe
    struct stat st{};
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    std::string head = "libjvm.so 17.0.15 (dev " + std::to_string(major(st.st_dev)) + ":" +
                       std::to_string(minor(st.st_dev)) + " ino " + std::to_string(st.st_ino) + "): ";
    auto line = lib.summary("17.0.15");
    EXPECT_EQ(line.rfind(head + "found read_request, dcmd; missing op_load_agent, op_jcmd,", 0), 0u) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
    ASSERT_EQ(lib.notes.size(), 2u);
    EXPECT_NE(lib.notes[0].find("op_load_agent: _ZL10load_agent"), std::string::npos) << lib.notes[0];
    EXPECT_NE(lib.notes[0].find("ambiguous"), std::string::npos) << lib.notes[0];
    EXPECT_NE(lib.notes[1].find("dcmd: also has"), std::string::npos) << lib.notes[1];
}

TEST(JdkProbeSymbols, ALibraryOfAnotherMachineIsRefused) {
    uint16_t other = elf::host_machine() == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
    ElfImage img({{"Agent_OnAttach", 0x1010}}, 0x1000, false, other);
    auto fd = test::memfd_with(img.bytes());
    auto lib = resolve_probes(fd.get(), JdkLibrary::libinstrument);
    EXPECT_NE(lib.error.find("built for machine " + std::to_string(other)), std::string::npos) << lib.error;
    EXPECT_TRUE(lib.sites.empty());
    EXPECT_NE(lib.summary("").find("libinstrument.so (dev "), std::string::npos);
    EXPECT_NE(lib.summary("").find("unusable: built for machine"), std::string::npos);
}

// ---- the cache ---------------------------------------------------------------------

TEST(ProbeSymbolCache, ParsesEachFileOnceAndEvictsTheLeastRecent) {
    test::TempDir dir("jw-elf");
    std::vector<safefs::UniqueFd> fds;
    for (int i = 0; i < 2; ++i) {
        ElfImage img({{"Agent_OnAttach", 0x1010u + 0x10u * static_cast<unsigned>(i)}});
        auto path = dir.file("lib" + std::to_string(i) + ".so");
        write_file(path, img.bytes());
        fds.push_back(open_library(path));
    }
    ProbeSymbolCache cache(2);
    auto a = cache.resolve(fds[0].get(), JdkLibrary::libinstrument);
    ASSERT_TRUE(a->site("agent_on_attach"));
    EXPECT_EQ(a->site("agent_on_attach")->file_offset, 0x1010u);
    EXPECT_EQ(cache.resolve(fds[0].get(), JdkLibrary::libinstrument), a);   // same object
    EXPECT_EQ(cache.parses(), 1u);
    EXPECT_EQ(cache.hits(), 1u);
    // The same file read as the other kind of library is another entry.
    EXPECT_TRUE(cache.resolve(fds[0].get(), JdkLibrary::libjvm)->sites.empty());
    EXPECT_EQ(cache.parses(), 2u);
    auto b = cache.resolve(fds[1].get(), JdkLibrary::libinstrument);   // evicts fds[0] as libinstrument
    EXPECT_EQ(b->site("agent_on_attach")->file_offset, 0x1020u);
    EXPECT_EQ(cache.evictions(), 1u);
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_NE(cache.resolve(fds[0].get(), JdkLibrary::libinstrument), a);   // parsed again
    EXPECT_EQ(cache.parses(), 4u);
}

TEST(ProbeSymbolCache, ARewrittenFileIsParsedAgainAndFailuresAreCached) {
    test::TempDir dir("jw-elf");
    auto path = dir.file("libinstrument.so");
    ElfImage img({{"Agent_OnAttach", 0x1010}});
    std::string garbage(img.bytes().size(), 'x');   // the same size as the ELF written later
    write_file(path, garbage);
    auto fd = open_library(path);
    ProbeSymbolCache cache;
    auto bad = cache.resolve(fd.get(), JdkLibrary::libinstrument);
    EXPECT_NE(bad->error.find("not an ELF file"), std::string::npos);
    EXPECT_EQ(cache.resolve(fd.get(), JdkLibrary::libinstrument), bad);
    EXPECT_EQ(cache.parses(), 1u);
    // Same inode and size rewritten, its mtime put back: ctime still tells.  (The pause
    // lets a coarse clock tick; multigrain timestamps would not need it.)
    struct stat before{};
    ASSERT_EQ(::fstat(fd.get(), &before), 0);
    struct timespec pause{0, 50 * 1000 * 1000};
    nanosleep(&pause, nullptr);
    write_file(path, img.bytes());
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
    struct stat after{};
    ASSERT_EQ(::fstat(fd.get(), &after), 0);
    ASSERT_EQ(after.st_size, before.st_size);
    ASSERT_EQ(after.st_ino, before.st_ino);
    ASSERT_EQ(FileId::of(after).mtime_ns, FileId::of(before).mtime_ns);
    auto good = cache.resolve(fd.get(), JdkLibrary::libinstrument);
    EXPECT_EQ(cache.parses(), 2u);
    EXPECT_TRUE(good->error.empty()) << good->error;
    EXPECT_TRUE(good->site("agent_on_attach"));
    EXPECT_NE(cache.resolve(-1, JdkLibrary::libjvm)->error.find("fstat"), std::string::npos);
    EXPECT_EQ(cache.size(), 2u);
}

// ---- the real JDKs in /usr/lib/jvm -------------------------------------------------

struct Jdk {
    std::string home, version;   // JAVA_VERSION from its release file
};

std::vector<Jdk> installed_jdks() {
    std::vector<Jdk> out;
    std::set<std::string> seen;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/jvm", ec)) {
        auto home = std::filesystem::canonical(e.path(), ec).string();
        if (ec || !std::filesystem::exists(home + "/lib/server/libjvm.so") || !seen.insert(home).second) continue;
        std::ifstream rel(home + "/release");
        std::string line, version;
        while (std::getline(rel, line))
            if (line.rfind("JAVA_VERSION=", 0) == 0) version = line.substr(14, line.size() - 15);
        out.push_back({home, version});
    }
    std::sort(out.begin(), out.end(), [](const Jdk& a, const Jdk& b) { return a.home < b.home; });
    return out;
}

void expect_probes_match_peer(const std::string& path, JdkLibrary kind, const LibraryProbes& lib) {
    Peer peer(path);
    ASSERT_FALSE(peer.values.empty()) << path;
    for (const auto& spec : jdk_probe_table()) {
        if (spec.library != kind) continue;
        const ProbeCandidate* first = nullptr;
        for (const auto& c : spec.candidates)
            if (!first && peer.offset(std::string(c.mangled))) first = &c;
        const ProbeSite* site = lib.site(spec.id);
        ASSERT_EQ(site != nullptr, first != nullptr) << path << " " << spec.id;
        if (!site) continue;
        EXPECT_EQ(site->symbol, first->mangled) << spec.id;
        EXPECT_EQ(site->abi, first->abi) << spec.id;
        EXPECT_EQ(site->file_offset, *peer.offset(std::string(first->mangled))) << path << " " << spec.id;
        EXPECT_EQ(site->vaddr, *peer.values.at(std::string(first->mangled)).begin()) << spec.id;
    }
}

TEST(JdkProbeSymbols, EveryInstalledJdkMatchesReadelf) {
    auto jdks = installed_jdks();
    bool have17 = false, have25 = false;
    for (const auto& jdk : jdks) {
        SCOPED_TRACE(jdk.home);
        int jdk_major = std::atoi(jdk.version.c_str());
        for (auto kind : {JdkLibrary::libjvm, JdkLibrary::libinstrument}) {
            auto path = jdk.home + (kind == JdkLibrary::libjvm ? "/lib/server/libjvm.so" : "/lib/libinstrument.so");
            auto fd = open_library(path);
            ASSERT_TRUE(fd);
            auto lib = resolve_probes(fd.get(), kind);
            ASSERT_TRUE(lib.error.empty()) << lib.error;
            std::cout << "  " << lib.summary(jdk.version) << "\n";
            expect_probes_match_peer(path, kind, lib);
            if (kind == JdkLibrary::libinstrument) {
                EXPECT_TRUE(lib.site("agent_on_attach"));
                continue;
            }
            EXPECT_TRUE(lib.has_symtab);
            std::vector<std::string_view> want;
            if (jdk_major == 17) {
                have17 = true;
                want = {"read_request", "op_load_agent", "op_jcmd", "op_dump_heap", "load_agent_library", "dcmd"};
                ASSERT_TRUE(lib.site("read_request"));
                EXPECT_EQ(lib.site("read_request")->abi, ProbeAbi::read_request_fd);
            } else if (jdk_major == 25) {
                have25 = true;
                want = {"read_request", "op_load_agent", "op_jcmd", "op_dump_heap", "agent_list_load_agent",
                        "jvmti_agent_load", "dcmd"};
                ASSERT_TRUE(lib.site("read_request"));
                EXPECT_EQ(lib.site("read_request")->abi, ProbeAbi::read_request_reader);
                ASSERT_TRUE(lib.site("agent_list_load_agent"));
                EXPECT_EQ(lib.site("agent_list_load_agent")->abi, ProbeAbi::load_agent_bool);
            }
            for (auto id : want) EXPECT_TRUE(lib.site(id)) << id;
        }
    }
    EXPECT_TRUE(have17) << "JDK 17 must be installed in /usr/lib/jvm";
    if (!have25) std::cout << "  (no JDK 25 in /usr/lib/jvm: its checks skipped)\n";
}

// A JDK whose libjvm was stripped (as some distributions ship it): no probe, said so.
TEST(JdkProbeSymbols, AStrippedLibjvmHasNoProbesAndSaysSo) {
    auto jdks = installed_jdks();
    ASSERT_FALSE(jdks.empty());
    test::TempDir dir("jw-elf", "/var/tmp");
    auto copy = dir.file("libjvm.so");
    std::string out;
    ASSERT_EQ(test::run_command({"strip", "--strip-all", "-o", copy, jdks[0].home + "/lib/server/libjvm.so"}, &out), 0) << out;
    auto fd = open_library(copy);
    auto lib = resolve_probes(fd.get(), JdkLibrary::libjvm);
    ASSERT_TRUE(lib.error.empty()) << lib.error;
    EXPECT_FALSE(lib.has_symtab);
    EXPECT_TRUE(lib.has_dynsym);
    EXPECT_TRUE(lib.sites.empty());
    auto line = lib.summary(jdks[0].version);
    EXPECT_NE(line.find("): no probe symbols; missing read_request, op_load_agent,"), std::string::npos) << line;
    EXPECT_NE(line.find("; no .symtab (stripped)"), std::string::npos) << line;
}

// Thousands of libjvm's functions looked up at once: found exactly when readelf says the
// name is one function in an executable segment, at readelf's offset; ambiguous exactly
// when readelf lists it at several addresses.
TEST(JdkProbeSymbols, ASweepOfLibjvmFunctionsMatchesReadelf) {
    auto jdks = installed_jdks();
    ASSERT_FALSE(jdks.empty());
    for (const auto& jdk : jdks) {
        auto path = jdk.home + "/lib/server/libjvm.so";
        SCOPED_TRACE(path);
        Peer peer(path);
        std::vector<std::string> wanted;
        size_t i = 0, ambiguous = 0;
        for (const auto& [name, vals] : peer.values) {
            if (vals.size() > 1 && ambiguous < 200) {
                wanted.push_back(name);
                ++ambiguous;
            } else if (i++ % 20 == 0) {
                wanted.push_back(name);
            }
        }
        ASSERT_GT(wanted.size(), 2000u);
        ASSERT_GT(ambiguous, 0u) << "libjvm has static functions of one name in several files";
        auto fd = open_library(path);
        auto r = elf::lookup_functions(fd.get(), wanted);
        ASSERT_TRUE(r.ok()) << r.error;
        EXPECT_LT(r.bytes_read, 64u << 20);
        size_t found = 0;
        for (const auto& name : wanted) {
            auto expect = peer.offset(name);
            if (expect) {
                ASSERT_TRUE(r.found.count(name)) << name;
                EXPECT_EQ(r.found[name].file_offset, *expect) << name;
                ++found;
            } else {
                ASSERT_TRUE(r.missing.count(name)) << name;
                if (peer.values.at(name).size() > 1) {
                    EXPECT_EQ(r.missing[name], Miss::ambiguous) << name;
                }
            }
        }
        EXPECT_GT(found, wanted.size() / 2);
        std::cout << "  " << path << ": " << wanted.size() << " names, " << found << " found, "
                  << ambiguous << " ambiguous, " << r.symbols_scanned << " symbols, " << r.bytes_read
                  << " bytes read\n";
    }
}

}  // namespace
}  // namespace jvmwatch::observer
