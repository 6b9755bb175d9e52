// An agent file as a target JVM sees it: found inside the process's root (a relative path
// against its cwd), never following a link out of that root, opened O_PATH first (a FIFO,
// device or socket is refused without being opened), re-opened non-blocking read-only,
// and from that one descriptor: owner, mode, mtime, size, sha256 (under a byte cap), what
// it is by content (zip or ELF magic), a jar's manifest (jar_manifest.h), and optionally
// an evidence copy (evidence_store.h).
//
// Files belong to whoever started the JVM: call this on an enrichment worker only, never
// on the event path.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "attach/safe_fs.h"
#include "userspace/artifacts/jar_manifest.h"

namespace jvmwatch::artifacts {

class EvidenceStore;

struct ArtifactLimits {
    uint64_t max_hash_bytes = 64ull << 20;   // a larger file gets a size, no sha256
    ManifestLimits manifest;
};

struct AgentArtifact {
    std::string path;             // as given
    std::string resolved_in;      // "root": inside the process's root; "open_fd": unlinked,
                                  // read through the process's open fd ("" if not found)
    bool found = false;           // stat known: the fields below are set
    uint64_t size = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    mode_t mode = 0;              // permission bits (07777)
    int64_t mtime_ns = 0;         // since the epoch
    std::string sha256;           // lower-case hex; "" when not hashed
    std::string content;          // "jar", "native" (ELF), "unknown"; "" if not read
    std::optional<JarManifest> manifest;
    std::string manifest_why;     // a jar whose manifest could not be read: why
    std::string evidence;         // path of the evidence copy ("" if none)
    std::string evidence_why;     // evidence wanted but not kept: why
    std::string why;              // why there is no sha256 ("" when hashed)
};

// A process's view of the file system: its root (opened once) and its cwd inside that
// root (learnt once, when a relative path needs it).  One per process and batch of files.
class ProcessFiles {
public:
    ProcessFiles(std::string proc_root, pid_t pid) : proc_root_(std::move(proc_root)), pid_(pid) {}
    // O_PATH fd of `path` as the process would resolve it (a regular file only), *st
    // its stat; or an invalid fd and *why (without the path: the caller has it).
    // A path gone by name that the process still holds open (an agent deleted right
    // after its load) is found through its fd: held_unlinked() then says so.
    safefs::UniqueFd open_regular(const std::string& path, struct stat* st, std::string* why);
    bool held_unlinked() const { return held_unlinked_; }

private:
    std::string proc_root_;
    pid_t pid_;
    bool root_tried_ = false;
    safefs::UniqueFd root_;
    std::string root_why_;
    std::optional<std::string> cwd_;   // "" when unknown (then cwd_why_)
    std::string cwd_why_;
    bool held_unlinked_ = false;   // the last open_regular found an unlinked, held file
};

// Inspects `path` as process PID sees it.  `evidence` may be null (no copy kept).
AgentArtifact inspect_agent(const std::string& proc_root, pid_t pid, const std::string& path,
                            const ArtifactLimits& limits, EvidenceStore* evidence);
// The same through an existing view (several files of one process).
AgentArtifact inspect_agent(ProcessFiles& files, const std::string& path,
                            const ArtifactLimits& limits, EvidenceStore* evidence);

// The artifact's fields of a "jvm.agents" entry (docs/events.md): path, and when known
// resolved_in, size, uid, gid, mode ("0644"), mtime (RFC 3339), sha256, content,
// manifest {...}, manifest_why, evidence, evidence_why, why.
nlohmann::json artifact_json(const AgentArtifact& a);

}  // namespace jvmwatch::artifacts
