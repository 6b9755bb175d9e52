#include "userspace/inject/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "attach/procfs.h"
#include "attach/safe_fs.h"

namespace jvmwatch::inject {

using nlohmann::json;

namespace {
std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

std::optional<AttachState> state_from(const std::string& s) {
    if (s == "in_progress") return AttachState::in_progress;
    if (s == "done") return AttachState::done;
    if (s == "failed") return AttachState::failed;
    return std::nullopt;
}

constexpr const char* kJournal = "inject.journal";
constexpr const char* kJournalTmp = "inject.journal.tmp";
// Compacted at open and whenever dead records pile up, so it stays far below this.
constexpr size_t kMaxJournalBytes = 64u << 20;

std::string mode_str(mode_t m) {
    char b[8];
    std::snprintf(b, sizeof b, "%04o", m & 07777);
    return b;
}

// One journal line, its types checked (a line of another shape is malformed, never a
// crash: nlohmann's get<>() throws on a wrong type).
struct Line {
    enum class Kind { session_start, session_stop, entry } kind = Kind::entry;
    std::string boot;
    uint64_t since = 0;
    JvmKey key;
    StateEntry entry;
};

bool opt_string(const json& j, const char* name, std::string* out) {
    auto it = j.find(name);
    if (it == j.end()) return true;
    if (!it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
}

template <class T>
bool opt_number(const json& j, const char* name, T* out, bool required = false) {
    auto it = j.find(name);
    if (it == j.end()) return !required;
    if (it->is_number_unsigned()) {
        uint64_t v = it->get<uint64_t>();
        if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
        *out = static_cast<T>(v);
        return true;
    }
    if (!it->is_number_integer()) return false;
    int64_t v = it->get<int64_t>();
    if (v < static_cast<int64_t>(std::numeric_limits<T>::min())) return false;
    *out = static_cast<T>(v);
    return true;
}

std::optional<Line> parse_line(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    Line l;
    if (!opt_string(j, "boot", &l.boot)) return std::nullopt;
    if (j.contains("session")) {
        std::string what;
        if (!opt_string(j, "session", &what) || !opt_number(j, "since", &l.since)) return std::nullopt;
        if (what == "start") l.kind = Line::Kind::session_start;
        else if (what == "stop") l.kind = Line::Kind::session_stop;
        else return std::nullopt;
        return l;
    }
    std::string state;
    if (!opt_string(j, "state", &state)) return std::nullopt;
    auto st = state_from(state);
    if (!st || !opt_number(j, "pid", &l.key.pid, true) || l.key.pid <= 0 ||
        !opt_number(j, "start", &l.key.start_ticks, true) || !opt_string(j, "rule", &l.entry.rule) ||
        !opt_string(j, "agent", &l.entry.agent) || !opt_string(j, "host_path", &l.entry.host_path) ||
        !opt_number(j, "t", &l.entry.time_ms))
        return std::nullopt;
    l.entry.state = *st;
    return l;
}

json entry_json(const JvmKey& k, const StateEntry& e, const std::string& boot) {
    return {{"pid", k.pid},       {"start", k.start_ticks}, {"boot", boot},
            {"state", std::string(to_string(e.state))},     {"rule", e.rule},
            {"agent", e.agent},   {"host_path", e.host_path}, {"t", e.time_ms}};
}
}  // namespace

std::string_view to_string(AttachState s) {
    switch (s) {
        case AttachState::in_progress: return "in_progress";
        case AttachState::done: return "done";
        case AttachState::failed: return "failed";
    }
    return "?";
}

std::unique_ptr<StateStore> StateStore::open(const std::string& dir, const std::string& proc_root,
                                             std::string* error) {
    std::unique_ptr<StateStore> s(new StateStore());
    s->dir_ = dir;
    s->path_ = dir + "/inject.journal";
    s->proc_root_ = proc_root;
    // 0711: JVMs of every user must reach the agent store (STATE_DIR/agents) below it.
    if (mkdir(dir.c_str(), 0711) != 0 && errno != EEXIST) {
        *error = sys_error("state_dir " + dir);
        return nullptr;
    }
    const uid_t me = geteuid();
    safefs::Expect want_dir;
    want_dir.kinds = safefs::Kind::directory;
    want_dir.owner = me;
    safefs::Failure f;
    struct stat st;
    safefs::UniqueFd dpath = safefs::open_path(AT_FDCWD, dir, safefs::Resolve::no_symlinks,
                                               want_dir, &st, &f);
    if (!dpath) {
        *error = "state_dir " + (f.why.rfind(dir, 0) == 0 ? f.why : dir + ": " + f.why);
        return nullptr;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        *error = "state_dir " + dir + " is writable by group or others";
        return nullptr;
    }
    safefs::UniqueFd dfd = safefs::reopen_for_read(dpath.get(), &f);
    if (!dfd) { *error = "state_dir " + f.why; return nullptr; }
    // A directory made by someone else's rule (systemd's StateDirectoryMode=0700, an
    // admin's mkdir) would hide the agent store from the JVMs' users: search for all.
    if ((st.st_mode & 0711) != 0711 && fchmod(dfd.get(), (st.st_mode & 07777) | 0711) != 0) {
        *error = sys_error("state_dir " + dir + ": chmod 0711");
        return nullptr;
    }
    s->dir_fd_ = dfd.release();

    // The journal: a regular file of ours, 0600, never a link, read with a cap.
    std::string text;
    safefs::Expect want_file;
    want_file.owner = me;
    struct stat jst;
    safefs::UniqueFd jpath = safefs::open_path(s->dir_fd_, kJournal, safefs::Resolve::no_symlinks,
                                               want_file, &jst, &f);
    if (!jpath && f.err != ENOENT) {
        *error = "journal " + dir + "/" + f.why;
        return nullptr;
    }
    if (jpath) {
        if (jst.st_mode & 077) {
            *error = "journal " + s->path_ + " has mode " + mode_str(jst.st_mode) + ", must be 0600";
            return nullptr;
        }
        safefs::UniqueFd jfd = safefs::reopen_for_read(jpath.get(), &f);
        bool truncated = false;
        auto read = jfd ? safefs::read_capped(jfd.get(), kMaxJournalBytes, &truncated, &f)
                        : std::nullopt;
        if (!read) { *error = "journal " + s->path_ + ": " + f.why; return nullptr; }
        if (truncated) {
            *error = "journal " + s->path_ + " is larger than " +
                     std::to_string(kMaxJournalBytes >> 20) + " MiB";
            return nullptr;
        }
        text = std::move(*read);
    }
    auto boot = proc::read_file(proc_root + "/sys/kernel/random/boot_id");
    s->boot_id_ = boot ? boot->substr(0, boot->find('\n')) : "";
    auto self = proc::read_stat(proc_root, getpid());
    s->session_since_ = self ? self->start_time_ticks : 0;

    // Load: later records override earlier ones; records of another boot are void.  A
    // malformed line (a torn last line after a crash, or anything else) is skipped and
    // counted.
    bool session_open = false;  // a session start without a stop after it
    uint64_t open_since = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string raw = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (raw.empty()) continue;
        auto l = parse_line(raw);
        if (!l) { ++s->skipped_lines_; continue; }
        if (l->boot != s->boot_id_) { session_open = false; continue; }
        if (l->kind != Line::Kind::entry) {
            session_open = l->kind == Line::Kind::session_start;
            if (session_open) open_since = l->since;
            continue;
        }
        s->entries_[l->key] = l->entry;
    }
    if (session_open) {
        s->crashed_since_ = open_since;
        s->session_since_ = std::min(s->session_since_, open_since);  // crash chains
    }
    // Keep only JVMs that still exist (same pid and start time).
    for (auto it = s->entries_.begin(); it != s->entries_.end();) {
        auto stat = proc::read_stat(proc_root, it->first.pid);
        if (!stat || stat->start_time_ticks != it->first.start_ticks) it = s->entries_.erase(it);
        else ++it;
    }
    std::lock_guard<std::mutex> lock(s->mu_);
    if (!s->rewrite(error)) return nullptr;
    return s;
}

StateStore::~StateStore() {
    if (fd_ >= 0) close(fd_);
    if (dir_fd_ >= 0) close(dir_fd_);
}

bool StateStore::rewrite(std::string* error) {
    // A temp file of a crashed rewrite may be there: it is ours to remove (the directory
    // is ours), and the new one is created exclusively, never through a link.
    unlinkat(dir_fd_, kJournalTmp, 0);
    int fd = ::openat(dir_fd_, kJournalTmp,
                      O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) { *error = sys_error("create " + dir_ + "/" + kJournalTmp); return false; }
    std::string text = json{{"session", "start"}, {"boot", boot_id_}, {"since", session_since_},
                            {"pid", getpid()}, {"t", now_ms()}}.dump() + "\n";
    for (auto& [k, e] : entries_) text += entry_json(k, e, boot_id_).dump() + "\n";
    bool ok = write_all(fd, text) && fsync(fd) == 0;
    if (!ok || renameat(dir_fd_, kJournalTmp, dir_fd_, kJournal) != 0) {
        int e = errno;
        close(fd);
        unlinkat(dir_fd_, kJournalTmp, 0);
        errno = e;
        *error = sys_error((ok ? "rename " : "write ") + dir_ + "/" + kJournalTmp);
        return false;
    }
    fsync(dir_fd_);
    // The temp file's fd (O_APPEND) is now the journal's.
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
    dead_records_ = 0;
    return true;
}

bool StateStore::append(const std::string& line, std::string* error) {
    if (fd_ < 0) { *error = "journal not open"; return false; }
    if (!write_all(fd_, line) || fdatasync(fd_) != 0) {
        *error = sys_error("append to " + path_);
        return false;
    }
    return true;
}

std::optional<StateEntry> StateStore::get(const JvmKey& k) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(k);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
}

bool StateStore::record(const JvmKey& k, const StateEntry& e0, std::string* error) {
    StateEntry e = e0;
    if (e.time_ms == 0) e.time_ms = now_ms();
    std::lock_guard<std::mutex> lock(mu_);
    if (!append(entry_json(k, e, boot_id_).dump() + "\n", error)) return false;
    if (entries_.count(k)) ++dead_records_;  // the older record is superseded
    entries_[k] = e;
    return true;
}

void StateStore::forget(const JvmKey& k) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.erase(k)) ++dead_records_;
}

void StateStore::maybe_compact() {
    std::lock_guard<std::mutex> lock(mu_);
    if (dead_records_ <= entries_.size() + 64) return;
    std::string error;
    rewrite(&error);  // on failure the old journal stays valid; we keep appending to it
}

void StateStore::close_cleanly() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string error;
    append(json{{"session", "stop"}, {"boot", boot_id_}, {"t", now_ms()}}.dump() + "\n", &error);
    if (fd_ >= 0) { close(fd_); fd_ = -1; }
}

size_t StateStore::live_entries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.size();
}

}  // namespace jvmwatch::inject
