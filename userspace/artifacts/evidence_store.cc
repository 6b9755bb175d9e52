#include "userspace/artifacts/evidence_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>

#include "userspace/inject/agent_copy.h"

namespace jvmwatch::artifacts {

namespace {

bool is_sha256_name(const std::string& n) {
    return n.size() == 64 && n.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Nanoseconds since the epoch, saturated (a file's mtime can be anything).
int64_t to_ns(const timespec& t) {
    constexpr int64_t kMaxSecs = INT64_MAX / 1'000'000'000 - 1;
    if (t.tv_sec > kMaxSecs) return kMaxSecs * 1'000'000'000;
    if (t.tv_sec < -kMaxSecs) return -kMaxSecs * 1'000'000'000;
    return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return to_ns(ts);
}

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::unique_ptr<EvidenceStore> EvidenceStore::open(const EvidenceOptions& opts, uid_t owner,
                                                   std::string* error) {
    auto fail = [&](const std::string& why) {
        *error = "evidence store " + opts.dir + ": " + why;
        return nullptr;
    };
    const std::string& d = opts.dir;
    size_t slash = d.find_last_of('/');
    if (d.empty() || d[0] != '/' || slash + 1 >= d.size()) return fail("must be an absolute path");
    std::string parent = slash == 0 ? "/" : d.substr(0, slash), name = d.substr(slash + 1);
    if (name == "." || name == "..") return fail("must name a directory");

    // The parent: reached without a symlink, ours or root's, and nobody else may swap
    // our directory out of it (not writable by others, or sticky like /tmp).
    safefs::Expect pe;
    pe.kinds = safefs::Kind::directory;
    pe.owner = owner;
    pe.owner_or_root = true;
    struct stat pst;
    safefs::Failure f;
    safefs::UniqueFd pfd = safefs::open_path(AT_FDCWD, parent, safefs::Resolve::no_symlinks, pe, &pst, &f);
    if (!pfd) return fail(f.why);
    if ((pst.st_mode & (S_IWGRP | S_IWOTH)) && !(pst.st_mode & S_ISVTX))
        return fail(parent + " is writable by group or others");
    if (mkdirat(pfd.get(), name.c_str(), 0700) != 0 && errno != EEXIST) return fail(sys_error("mkdir"));

    safefs::Expect de;
    de.kinds = safefs::Kind::directory;
    de.owner = owner;
    de.not_writable_by_others = true;
    struct stat st;
    safefs::UniqueFd p = safefs::open_path(pfd.get(), name, safefs::Resolve::no_symlinks, de, &st, &f);
    if (!p) return fail(f.why);
    std::unique_ptr<EvidenceStore> s(new EvidenceStore());
    s->opts_ = opts;
    s->owner_ = owner;
    s->dir_ = safefs::reopen_for_read(p.get(), &f);
    if (!s->dir_) return fail(f.why);
    if ((st.st_mode & 07777) != 0700 && fchmod(s->dir_.get(), 0700) != 0) return fail(sys_error("chmod 0700"));

    // What an earlier run kept (oldest evicted first), and no half-written copy.
    int dup = fcntl(s->dir_.get(), F_DUPFD_CLOEXEC, 0);
    DIR* dir = dup >= 0 ? fdopendir(dup) : nullptr;
    if (!dir) {
        if (dup >= 0) ::close(dup);
        return fail(sys_error("read the directory"));
    }
    while (dirent* e = readdir(dir)) {
        std::string n = e->d_name;
        struct stat fst;
        if (n.rfind(".jvmwatch-stage-", 0) == 0) {
            unlinkat(s->dir_.get(), n.c_str(), 0);
        } else if (is_sha256_name(n) && fstatat(s->dir_.get(), n.c_str(), &fst, AT_SYMLINK_NOFOLLOW) == 0 &&
                   S_ISREG(fst.st_mode)) {
            s->items_[n] = {uint64_t(fst.st_size), to_ns(fst.st_mtim), s->next_seq_++, false};
            s->stats_.bytes += uint64_t(fst.st_size);
        }
    }
    closedir(dir);
    s->stats_.files = s->items_.size();
    std::lock_guard<std::mutex> lk(s->mu_);
    s->evict_for(0);   // a smaller limit than last time
    return s;
}

void EvidenceStore::evict_for(uint64_t size) {
    auto over = [&] {
        return stats_.bytes + size > opts_.max_bytes || stats_.files + (size ? 1 : 0) > opts_.max_files;
    };
    while (over()) {
        auto oldest = items_.end();
        for (auto it = items_.begin(); it != items_.end(); ++it)
            if (!it->second.writing && (oldest == items_.end() || it->second.older_than(oldest->second)))
                oldest = it;
        if (oldest == items_.end()) return;   // only copies being written: the caller refuses
        unlinkat(dir_.get(), oldest->first.c_str(), 0);
        stats_.bytes -= oldest->second.size;
        --stats_.files;
        ++stats_.evicted;
        items_.erase(oldest);
    }
}

std::optional<std::string> EvidenceStore::put(int fd, uint64_t size, const std::string& sha256,
                                              std::string* why) {
    if (!is_sha256_name(sha256)) {
        *why = "no sha256";
        return std::nullopt;
    }
    const std::string path = opts_.dir + "/" + sha256;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (auto it = items_.find(sha256); it != items_.end()) {
            struct stat st;
            if (it->second.writing ||
                (fstatat(dir_.get(), sha256.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
                 uint64_t(st.st_size) == it->second.size)) {
                ++stats_.deduplicated;
                return path;
            }
            // Removed behind our back (an administrator): forget it and copy again.
            stats_.bytes -= it->second.size;
            --stats_.files;
            items_.erase(it);
        }
        if (size > opts_.max_bytes || opts_.max_files == 0) {
            ++stats_.refused;
            *why = "larger than artifacts.evidence_max_bytes (" + std::to_string(opts_.max_bytes) + ")";
            return std::nullopt;
        }
        evict_for(size);
        if (stats_.bytes + size > opts_.max_bytes || stats_.files + 1 > opts_.max_files) {
            ++stats_.refused;
            *why = "evidence store full (copies being written)";
            return std::nullopt;
        }
        items_[sha256] = {size, now_ns(), next_seq_++, true};   // reserved: counted, not evictable
        stats_.bytes += size;
        ++stats_.files;
    }
    std::string err;
    bool ok = inject::write_copy(dir_.get(), sha256, fd, size, sha256, owner_, getegid(), 0400, &err);
    std::lock_guard<std::mutex> lk(mu_);
    if (!ok) {
        items_.erase(sha256);
        stats_.bytes -= size;
        --stats_.files;
        ++stats_.refused;
        *why = err;
        return std::nullopt;
    }
    items_[sha256].writing = false;
    ++stats_.stored;
    return path;
}

EvidenceStore::Stats EvidenceStore::stats() const {
    std::lock_guard<std::mutex> lk(mu_);
    return stats_;
}

}  // namespace jvmwatch::artifacts
