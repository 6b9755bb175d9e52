// What the injector did to which JVM, persisted so that a JVM gets its agent exactly once
// even across a daemon crash: an append-only journal (STATE_DIR/inject.journal, JSON
// lines, fdatasync'd per record).  "in_progress" is written BEFORE an attach, "done" or
// "failed" after it.  Records of JVMs that no longer exist are dropped when the journal
// is compacted (at open, and when dead records outnumber live ones).
//
// Sessions: each daemon start appends a session record and a clean stop a "stop" record.
// If the previous session did not stop (crash), JVMs that started after it began were
// due for the daemon and are treated as new, not as "existing".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace jvmwatch::inject {

struct JvmKey {
    pid_t pid = 0;
    uint64_t start_ticks = 0;
    bool operator==(const JvmKey&) const = default;
};

enum class AttachState { in_progress, done, failed };
std::string_view to_string(AttachState);

struct StateEntry {
    AttachState state = AttachState::in_progress;
    std::string rule;
    std::string agent;      // path as the target sees it
    std::string host_path;  // path the daemon can stat (the staged copy via /proc/PID/root)
    int64_t time_ms = 0;    // CLOCK_REALTIME of the record
};

class StateStore {
public:
    // Creates DIR (0711) if needed, loads and compacts the journal.  DIR must be a
    // directory of ours (root) reached without a symlink, not writable by group or others;
    // the journal a regular file of ours, mode 0600, at most 64 MiB.  `proc_root` is used to
    // tell which JVMs still exist.  nullptr and *error on failure.
    static std::unique_ptr<StateStore> open(const std::string& dir, const std::string& proc_root,
                                            std::string* error);
    ~StateStore();
    StateStore(const StateStore&) = delete;
    StateStore& operator=(const StateStore&) = delete;

    std::optional<StateEntry> get(const JvmKey& k) const;
    // Appends and syncs one record; false and *error if it could not be made durable.
    bool record(const JvmKey& k, const StateEntry& e, std::string* error);
    // The JVM exited: forget it (its record is dropped at the next compaction).
    void forget(const JvmKey& k);
    // Rewrites the journal with the live entries only, if worth it (dead > live + 64).
    void maybe_compact();
    // If the previous session crashed: JVMs with start_ticks >= this were due for it.
    std::optional<uint64_t> crashed_since_ticks() const { return crashed_since_; }
    // Marks a clean stop (the next start treats no JVM as missed).
    void close_cleanly();

    size_t live_entries() const;
    // Malformed journal lines skipped at open (wrong types, bad JSON, a torn last line).
    size_t skipped_lines() const { return skipped_lines_; }
    const std::string& journal_path() const { return path_; }

private:
    StateStore() = default;
    bool rewrite(std::string* error);   // mu_ held
    bool append(const std::string& line, std::string* error);  // mu_ held

    mutable std::mutex mu_;
    std::string dir_, path_, proc_root_, boot_id_;
    int fd_ = -1;      // the journal, O_APPEND
    int dir_fd_ = -1;  // STATE_DIR, checked once at open; every file is reached below it
    size_t skipped_lines_ = 0;
    uint64_t session_since_ = 0;
    std::optional<uint64_t> crashed_since_;
    size_t dead_records_ = 0;
    struct KeyHash {
        size_t operator()(const JvmKey& k) const {
            return std::hash<uint64_t>()(k.start_ticks * 4194301u ^ static_cast<uint64_t>(k.pid));
        }
    };
    std::unordered_map<JvmKey, StateEntry, KeyHash> entries_;
};

}  // namespace jvmwatch::inject
