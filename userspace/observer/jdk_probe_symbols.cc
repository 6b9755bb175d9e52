#include "userspace/observer/jdk_probe_symbols.h"

#include <sys/sysmacros.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>

namespace jvmwatch::observer {
namespace {

using A = ProbeAbi;

// Mangled names checked with `nm` in Debian's OpenJDK 17.0.15 ("17") and Temurin 25.0.3
// ("25"); the others follow from the JDK sources of other releases (8-16: Thread* TRAPS
// and the AttachOperation* agent loader; 21: JvmtiAgentList with a string absParam;
// 22-24: the Posix listener).  A GCC clone (`.isra.0`, `.constprop.0`) is never a
// candidate: its arguments are not the declared ones.
constexpr ProbeCandidate kReadRequest[] = {
    {"_ZN19LinuxAttachListener12read_requestEi", A::read_request_fd, "17"},
    {"_ZN19PosixAttachListener12read_requestEi", A::read_request_fd, ""},
    {"_ZN15AttachOperation13RequestReader12read_requestEPS_PNS_11ReplyWriterE", A::read_request_reader, "25"},
};
#define OP_HANDLER(mangled_len_name)                                                        \
    {"_ZL" mangled_len_name "P15AttachOperationP12outputStream", A::attach_op_handler, "17"}, \
    {"_ZL" mangled_len_name "P15AttachOperationP12attachStream", A::attach_op_handler, "25"}
constexpr ProbeCandidate kOpLoadAgent[] = {OP_HANDLER("10load_agent")};
constexpr ProbeCandidate kOpJcmd[] = {OP_HANDLER("4jcmd")};
constexpr ProbeCandidate kOpDumpHeap[] = {
    // Not static in JDK 17 (a global symbol), static in 25.
    {"_Z9dump_heapP15AttachOperationP12outputStream", A::attach_op_handler, "17"},
    {"_ZL9dump_heapP15AttachOperationP12outputStream", A::attach_op_handler, ""},
    {"_ZL9dump_heapP15AttachOperationP12attachStream", A::attach_op_handler, "25"},
};
constexpr ProbeCandidate kOpThreadDump[] = {OP_HANDLER("11thread_dump")};
constexpr ProbeCandidate kOpDataDump[] = {OP_HANDLER("9data_dump")};
constexpr ProbeCandidate kOpHeapInspection[] = {OP_HANDLER("15heap_inspection")};
constexpr ProbeCandidate kOpSetFlag[] = {OP_HANDLER("8set_flag")};
constexpr ProbeCandidate kOpPrintFlag[] = {OP_HANDLER("10print_flag")};
constexpr ProbeCandidate kOpAgentProperties[] = {OP_HANDLER("20get_agent_properties")};
constexpr ProbeCandidate kOpSystemProperties[] = {OP_HANDLER("21get_system_properties")};
#undef OP_HANDLER
constexpr ProbeCandidate kOpGetVersion[] = {
    {"_ZL11get_versionP15AttachOperationP12attachStream", A::attach_op_handler, "25"},
};
constexpr ProbeCandidate kLoadAgentLibrary[] = {
    {"_ZN11JvmtiExport18load_agent_libraryEPKcS1_S1_P12outputStream", A::load_agent_strings, "17"},
    {"_ZN11JvmtiExport18load_agent_libraryEP15AttachOperationP12outputStream", A::load_agent_library_op, ""},
};
constexpr ProbeCandidate kAgentListLoadAgent[] = {
    {"_ZN14JvmtiAgentList10load_agentEPKcbS1_P12outputStream", A::load_agent_bool, "25"},
    {"_ZN14JvmtiAgentList10load_agentEPKcS1_S1_P12outputStream", A::load_agent_strings, ""},
};
constexpr ProbeCandidate kJvmtiAgentLoad[] = {
    {"_ZN10JvmtiAgent4loadEP12outputStream", A::jvmti_agent_load, "25"},
};
constexpr ProbeCandidate kDcmd[] = {
    // JDK 25 runs every command (attach, MBean, internal) through DCmd::Executor, whose
    // jcmd op calls it directly: probing it alone sees each command once.
    {"_ZN4DCmd8Executor17parse_and_executeEPKccP10JavaThread", A::dcmd_executor, "25"},
    {"_ZN4DCmd17parse_and_executeE10DCmdSourceP12outputStreamPKccP10JavaThread", A::dcmd_parse_and_execute, "17 25"},
    {"_ZN4DCmd17parse_and_executeE10DCmdSourceP12outputStreamPKccP6Thread", A::dcmd_parse_and_execute, ""},
};
constexpr ProbeCandidate kAgentOnAttach[] = {
    {"Agent_OnAttach", A::agent_on_attach, "17 25"},
};

constexpr auto J = JdkLibrary::libjvm;
constexpr ProbeSpec kProbes[] = {
    {"read_request", J, kReadRequest},
    {"op_load_agent", J, kOpLoadAgent},
    {"op_jcmd", J, kOpJcmd},
    {"op_dump_heap", J, kOpDumpHeap},
    {"op_thread_dump", J, kOpThreadDump},
    {"op_data_dump", J, kOpDataDump},
    {"op_heap_inspection", J, kOpHeapInspection},
    {"op_set_flag", J, kOpSetFlag},
    {"op_print_flag", J, kOpPrintFlag},
    {"op_agent_properties", J, kOpAgentProperties},
    {"op_system_properties", J, kOpSystemProperties},
    {"op_get_version", J, kOpGetVersion},
    {"load_agent_library", J, kLoadAgentLibrary},
    {"agent_list_load_agent", J, kAgentListLoadAgent},
    {"jvmti_agent_load", J, kJvmtiAgentLoad},
    {"dcmd", J, kDcmd},
    {"agent_on_attach", JdkLibrary::libinstrument, kAgentOnAttach},
};

int64_t ns(const struct timespec& t) {
    return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

size_t mix(size_t h, uint64_t v) {
    return h ^ (std::hash<uint64_t>{}(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

std::string join(const std::vector<std::string_view>& names) {
    std::string s;
    for (auto n : names) {
        if (!s.empty()) s += ", ";
        s += n;
    }
    return s;
}

}  // namespace

std::string_view file_name(JdkLibrary lib) {
    return lib == JdkLibrary::libjvm ? "libjvm.so" : "libinstrument.so";
}

std::span<const ProbeSpec> jdk_probe_table() { return kProbes; }

FileId FileId::of(const struct stat& st) {
    return {st.st_dev, st.st_ino, st.st_size, ns(st.st_mtim), ns(st.st_ctim)};
}

const ProbeSite* LibraryProbes::site(std::string_view probe) const {
    for (const auto& s : sites)
        if (s.probe == probe) return &s;
    return nullptr;
}

std::string LibraryProbes::summary(std::string_view label) const {
    std::string s(file_name(library));
    if (!label.empty()) (s += ' ') += label;
    s += " (dev " + std::to_string(major(file.dev)) + ":" + std::to_string(minor(file.dev)) +
         " ino " + std::to_string(file.ino) + "): ";
    if (!error.empty()) return s + "unusable: " + error;
    std::vector<std::string_view> found;
    for (const auto& p : sites) found.push_back(p.probe);
    s += found.empty() ? "no probe symbols" : "found " + join(found);
    if (!missing.empty()) s += "; missing " + join(missing);
    if (!has_symtab) s += has_dynsym ? "; no .symtab (stripped)" : "; no symbol tables";
    return s;
}

LibraryProbes resolve_probes(int fd, JdkLibrary lib, const elf::Limits& limits) {
    LibraryProbes out;
    out.library = lib;
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        out.error = std::string("fstat: ") + std::strerror(errno);
        return out;
    }
    out.file = FileId::of(st);
    try {
        std::vector<std::string> wanted;
        for (const auto& spec : kProbes)
            if (spec.library == lib)
                for (const auto& c : spec.candidates) wanted.emplace_back(c.mangled);
        auto found = elf::lookup_functions(fd, wanted, limits);
        out.error = found.error;
        out.has_symtab = found.has_symtab;
        out.has_dynsym = found.has_dynsym;
        if (out.error.empty() && found.machine != elf::host_machine())
            out.error = "built for machine " + std::to_string(found.machine) + ", this host is " +
                        std::to_string(elf::host_machine());
        if (!out.error.empty()) return out;
        for (const auto& spec : kProbes) {
            if (spec.library != lib) continue;
            const ProbeCandidate* chosen = nullptr;
            for (const auto& c : spec.candidates) {
                std::string name(c.mangled);
                if (auto it = found.found.find(name); it != found.found.end()) {
                    if (!chosen) {
                        chosen = &c;
                        out.sites.push_back({spec.id, c.mangled, c.abi, it->second.vaddr,
                                             it->second.file_offset});
                    } else {
                        out.notes.push_back(std::string(spec.id) + ": also has " + name + ", using " +
                                            std::string(chosen->mangled));
                    }
                } else if (auto m = found.missing.find(name);
                           m != found.missing.end() && m->second != elf::Miss::absent) {
                    out.notes.push_back(std::string(spec.id) + ": " + name + " " +
                                        std::string(elf::to_string(m->second)));
                }
            }
            if (!chosen) out.missing.push_back(spec.id);
        }
    } catch (const std::exception& e) {
        out.sites.clear();
        out.error = std::string("resolving probes: ") + e.what();
    }
    return out;
}

ProbeSymbolCache::ProbeSymbolCache(size_t capacity, elf::Limits limits)
    : limits_(limits), entries_(capacity) {}

std::shared_ptr<const LibraryProbes> ProbeSymbolCache::resolve(int fd, JdkLibrary lib) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        auto failed = std::make_shared<LibraryProbes>();
        failed->library = lib;
        failed->error = std::string("fstat: ") + std::strerror(errno);
        return failed;   // not cached: there is no file identity to cache it under
    }
    LibraryKey key{FileId::of(st), lib};
    if (auto* hit = entries_.get(key)) {
        ++hits_;
        return *hit;
    }
    ++parses_;
    auto parsed = std::make_shared<const LibraryProbes>(resolve_probes(fd, lib, limits_));
    // A file rewritten during the parse is cached under the identity it had before; its
    // new identity misses next time and is parsed again.
    return entries_.put(key, parsed);
}

}  // namespace jvmwatch::observer

size_t std::hash<jvmwatch::observer::LibraryKey>::operator()(
    const jvmwatch::observer::LibraryKey& k) const noexcept {
    using jvmwatch::observer::mix;
    size_t h = 0;
    h = mix(h, k.file.dev);
    h = mix(h, k.file.ino);
    h = mix(h, static_cast<uint64_t>(k.file.size));
    h = mix(h, static_cast<uint64_t>(k.file.mtime_ns));
    h = mix(h, static_cast<uint64_t>(k.file.ctime_ns));
    return mix(h, static_cast<uint64_t>(k.library));
}
