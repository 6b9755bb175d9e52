// The functions jvmwatch's JVM-side uprobes attach to, per JDK generation, and their file
// offsets in one libjvm.so / libinstrument.so (docs/observer.md, "JVM-side probe
// symbols").  A probe has several candidate mangled names (one per signature the JDKs
// have had); the mangled name fixes the argument types, so `ProbeAbi` tells the BPF side
// how to read the arguments of whichever candidate was found.  Each distinct library file
// is parsed once (ProbeSymbolCache).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "userspace/daemon/lru_map.h"
#include "userspace/observer/elf_symbols.h"

namespace jvmwatch::observer {

enum class JdkLibrary : uint8_t { libjvm, libinstrument };
std::string_view file_name(JdkLibrary lib);   // "libjvm.so", "libinstrument.so"

// How a probe's arguments are laid out (the signature of the candidate found).
enum class ProbeAbi : uint8_t {
    read_request_fd,          // XAttachListener::read_request(int fd) -> AttachOperation*
    read_request_reader,      // AttachOperation::RequestReader::read_request(this, AttachOperation*, ReplyWriter*) -> bool
    attach_op_handler,        // static handler(AttachOperation* op, outputStream*/attachStream* out) -> jint
    load_agent_library_op,    // JvmtiExport::load_agent_library(AttachOperation*, outputStream*) (JDK 8)
    load_agent_strings,       // (const char* agent, const char* absParam, const char* options, outputStream*)
    load_agent_bool,          // (const char* agent, bool absolute, const char* options, outputStream*)
    jvmti_agent_load,         // JvmtiAgent::load(this, outputStream*) -> bool
    dcmd_parse_and_execute,   // DCmd::parse_and_execute(DCmdSource, outputStream*, const char* cmdline, char delim, THREAD)
    dcmd_executor,            // DCmd::Executor::parse_and_execute(this, const char* cmdline, char delim, THREAD)
    agent_on_attach,          // Agent_OnAttach(JavaVM*, char* options, void*) -> jint
};

struct ProbeCandidate {
    std::string_view mangled;
    ProbeAbi abi;
    std::string_view seen_in;   // JDK builds it was checked in with nm ("" = from the source)
};

struct ProbeSpec {
    std::string_view id;        // short name used in logs and by the BPF side
    JdkLibrary library;
    std::span<const ProbeCandidate> candidates;   // first found wins
};

// Every probe the JVM side wants, in a stable order.
std::span<const ProbeSpec> jdk_probe_table();

// A library file, as the cache tells files apart.  ctime is there because a file's owner
// can put its mtime back after rewriting it; only the kernel sets ctime.
struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    static FileId of(const struct stat& st);
    bool operator==(const FileId&) const = default;
};

// Where one probe attaches.
struct ProbeSite {
    std::string_view probe;     // ProbeSpec::id
    std::string_view symbol;    // the candidate found
    ProbeAbi abi;
    uint64_t vaddr = 0;
    uint64_t file_offset = 0;   // for bpf_program__attach_uprobe_opts
};

// What one library file offers.
struct LibraryProbes {
    JdkLibrary library = JdkLibrary::libjvm;
    FileId file;
    std::string error;          // the file was refused (one line); then `sites` is empty
    bool has_symtab = false;
    bool has_dynsym = false;
    std::vector<ProbeSite> sites;            // one per probe found
    std::vector<std::string_view> missing;   // probe ids with no usable candidate
    std::vector<std::string> notes;          // why a present candidate was not usable

    const ProbeSite* site(std::string_view probe) const;
    // One line, e.g. `libjvm.so 17.0.15 (dev 0:37 ino 1234): found read_request, ...;
    // missing jvmti_agent_load, ...`.  `label` is the caller's name for the JDK ("" = none).
    std::string summary(std::string_view label) const;
};

// Parses the library open on `fd` (opened with safefs) and resolves every probe of `lib`.
LibraryProbes resolve_probes(int fd, JdkLibrary lib, const elf::Limits& limits = {});

// The cache's key: one library file, read as one kind of library.
struct LibraryKey {
    FileId file;
    JdkLibrary library = JdkLibrary::libjvm;
    bool operator==(const LibraryKey&) const = default;
};

}  // namespace jvmwatch::observer

template <>
struct std::hash<jvmwatch::observer::LibraryKey> {
    size_t operator()(const jvmwatch::observer::LibraryKey& k) const noexcept;
};

namespace jvmwatch::observer {

// Resolved libraries by FileId, bounded: the least recently used is evicted (counted).
// Failures are cached too, so a hostile file costs one parse.  Not thread-safe: one
// owner thread, off the event path (a parse of libjvm reads ~5 MiB).
class ProbeSymbolCache {
public:
    explicit ProbeSymbolCache(size_t capacity = 32, elf::Limits limits = {});

    // The probes of the library open on `fd`; parsed only if this file was not seen.
    std::shared_ptr<const LibraryProbes> resolve(int fd, JdkLibrary lib);

    size_t size() const { return entries_.size(); }
    uint64_t hits() const { return hits_; }
    uint64_t parses() const { return parses_; }
    uint64_t evictions() const { return entries_.evictions(); }

private:
    elf::Limits limits_;
    daemon::LruMap<LibraryKey, std::shared_ptr<const LibraryProbes>> entries_;
    uint64_t hits_ = 0;
    uint64_t parses_ = 0;
};

}  // namespace jvmwatch::observer
