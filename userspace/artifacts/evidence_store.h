// Evidence copies of agent files (config `artifacts.evidence`): an agent deleted right
// after it was loaded can still be examined.  A root-only directory (0700, owned by the
// daemon's uid, reached without a symlink, not writable by group or others), one file per
// content named by its sha256 (0400; the same bytes are kept once), written from the fd
// the bytes were hashed through (never by opening the agent's path again) with
// O_CREAT|O_EXCL|O_NOFOLLOW and renamed into place (inject/agent_copy.h).
//
// Bounded by total bytes and file count: the oldest copies are evicted to make room (and
// counted); a file larger than the whole store is refused.  Thread-safe: enrichment
// workers share one store; the copying is done outside the lock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "attach/safe_fs.h"

namespace jvmwatch::artifacts {

struct EvidenceOptions {
    std::string dir = "/var/lib/jvmwatch/evidence";
    uint64_t max_bytes = 256ull << 20;
    uint32_t max_files = 1024;
};

class EvidenceStore {
public:
    struct Stats {
        uint64_t stored = 0;        // copies written
        uint64_t deduplicated = 0;  // content already kept
        uint64_t evicted = 0;       // older copies removed to make room
        uint64_t refused = 0;       // not kept (too large, write failed)
        uint64_t files = 0;         // now kept
        uint64_t bytes = 0;
    };

    // Opens (creating the last component, 0700) the directory; an existing one is
    // checked and set to 0700; copies already there are indexed (oldest first by
    // mtime), leftover temporary files removed.  nullptr and *error (one line) otherwise.
    static std::unique_ptr<EvidenceStore> open(const EvidenceOptions& opts, uid_t owner,
                                               std::string* error);

    // Keeps the `size` bytes of `fd` (which hash to `sha256`): the copy's path, or
    // nullopt and *why.
    std::optional<std::string> put(int fd, uint64_t size, const std::string& sha256,
                                   std::string* why);

    Stats stats() const;
    const std::string& dir() const { return opts_.dir; }

private:
    struct Item {
        uint64_t size = 0;
        int64_t mtime_ns = 0;       // when copied (oldest evicted first)
        uint64_t seq = 0;           // ties: in the order they were indexed or copied
        bool writing = false;       // being copied: not evicted
        bool older_than(const Item& o) const {
            return mtime_ns != o.mtime_ns ? mtime_ns < o.mtime_ns : seq < o.seq;
        }
    };
    EvidenceStore() = default;
    void evict_for(uint64_t size);  // with mu_ held

    EvidenceOptions opts_;
    uid_t owner_ = 0;
    safefs::UniqueFd dir_;          // readable directory fd
    mutable std::mutex mu_;
    std::map<std::string, Item> items_;
    uint64_t next_seq_ = 0;
    Stats stats_;
};

}  // namespace jvmwatch::artifacts
