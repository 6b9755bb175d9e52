#include "userspace/inject/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attach/procfs.h"

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
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        *error = sys_error("state_dir " + dir);
        return nullptr;
    }
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        *error = "state_dir " + dir + " is not a directory";
        return nullptr;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        *error = "state_dir " + dir + " is writable by group or others";
        return nullptr;
    }
    auto boot = proc::read_file(proc_root + "/sys/kernel/random/boot_id");
    s->boot_id_ = boot ? boot->substr(0, boot->find('\n')) : "";
    auto self = proc::read_stat(proc_root, getpid());
    s->session_since_ = self ? self->start_time_ticks : 0;

    // Load: later records override earlier ones; records of another boot are void.
    bool session_open = false;  // a session start without a stop after it
    uint64_t open_since = 0;
    std::ifstream in(s->path_);
    std::string line;
    while (std::getline(in, line)) {
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue;  // a torn last line after a crash
        if (j.value("boot", "") != s->boot_id_) { session_open = false; continue; }
        if (j.contains("session")) {
            session_open = j["session"] == "start";
            if (session_open) open_since = j.value("since", uint64_t{0});
            continue;
        }
        auto st_ = state_from(j.value("state", ""));
        if (!st_ || !j.contains("pid") || !j.contains("start")) continue;
        JvmKey k{j["pid"].get<pid_t>(), j["start"].get<uint64_t>()};
        s->entries_[k] = StateEntry{*st_, j.value("rule", ""), j.value("agent", ""),
                                    j.value("host_path", ""), j.value("t", int64_t{0})};
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
}

bool StateStore::rewrite(std::string* error) {
    std::string tmp = path_ + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) { *error = sys_error("create " + tmp); return false; }
    std::string text = json{{"session", "start"}, {"boot", boot_id_}, {"since", session_since_},
                            {"pid", getpid()}, {"t", now_ms()}}.dump() + "\n";
    for (auto& [k, e] : entries_) text += entry_json(k, e, boot_id_).dump() + "\n";
    bool ok = write_all(fd, text) && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok) { errno = e; *error = sys_error("write " + tmp); return false; }
    if (rename(tmp.c_str(), path_.c_str()) != 0) { *error = sys_error("rename " + tmp); return false; }
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
    if (fd_ >= 0) close(fd_);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd_ < 0) { *error = sys_error("open " + path_); return false; }
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
