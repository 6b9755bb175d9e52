#include "userspace/artifacts/agent_artifact.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "userspace/artifacts/evidence_store.h"
#include "userspace/audit/wall_clock.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::artifacts {

namespace {

// Link text of <proc_root>/PID/NAME; nullopt if unreadable.
std::optional<std::string> link_text(const std::string& proc_root, pid_t pid, const char* name) {
    std::string p = proc_root + "/" + std::to_string(pid) + "/" + name;
    char buf[4096];
    ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
}

// The process's cwd as a path inside its root, or "" and *why.
std::string cwd_in_root(const std::string& proc_root, pid_t pid, std::string* why) {
    auto root = link_text(proc_root, pid, "root");
    auto cwd = link_text(proc_root, pid, "cwd");
    if (!root || !cwd) {
        *why = "relative path: cwd unreadable";
        return "";
    }
    if (cwd->empty() || (*cwd)[0] != '/' || cwd->ends_with(" (deleted)")) {
        *why = "relative path: cwd not a path in its root";
        return "";
    }
    if (*root == "/") return *cwd;
    // A chroot: the kernel shows both from our root; the cwd must lie below the root.
    if (*cwd == *root) return "/";
    if (cwd->size() > root->size() && cwd->compare(0, root->size(), *root) == 0 &&
        (*cwd)[root->size()] == '/')
        return cwd->substr(root->size());
    *why = "relative path: cwd outside its root";
    return "";
}

// safefs says "<path> is a FIFO, ..." or "<path>: <error>": the event has the path already.
std::string without_path(const std::string& why, const std::string& path) {
    for (const std::string& sep : {std::string(" is "), std::string(": ")})
        if (why.size() > path.size() + sep.size() && why.compare(0, path.size(), path) == 0 &&
            why.compare(path.size(), sep.size(), sep) == 0)
            return why.substr(path.size() + sep.size());
    return why;
}

// What the first bytes say the file is.
std::string content_of(int fd) {
    unsigned char m[4];
    ssize_t n;
    do n = ::pread(fd, m, sizeof m, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return "";
    if (n == 4 && m[0] == 'P' && m[1] == 'K' && ((m[2] == 3 && m[3] == 4) || (m[2] == 5 && m[3] == 6)))
        return "jar";
    if (n == 4 && m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F') return "native";
    return "unknown";
}

// Nanoseconds since the epoch, saturated: the owner sets mtime to anything (year 9999 does
// not fit in int64 nanoseconds).
int64_t to_ns(const timespec& t) {
    constexpr int64_t kMaxSecs = INT64_MAX / 1'000'000'000 - 1;
    if (t.tv_sec > kMaxSecs) return kMaxSecs * 1'000'000'000;
    if (t.tv_sec < -kMaxSecs) return -kMaxSecs * 1'000'000'000;
    return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

std::string octal_mode(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
    return buf;
}

}  // namespace

namespace {

constexpr int kMaxFdsScanned = 65536;

// A file the process still holds open after it was unlinked (an agent jar removed right
// after its load): its fd's link reads "<path> (deleted)".  Opened O_PATH through the
// kernel's own link /proc/PID/fd/N (the one magic link followed, as for the root), and
// taken only if it is a regular file with no name left.
safefs::UniqueFd open_unlinked_held(const std::string& proc_root, pid_t pid, const std::string& path,
                                    struct stat* st) {
    std::string dir = proc_root + "/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return {};
    const std::string want = path + " (deleted)";
    safefs::UniqueFd found;
    int seen = 0;
    while (dirent* e = ::readdir(d)) {
        if (++seen > kMaxFdsScanned) break;
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char link[4096];
        ssize_t n = ::readlinkat(dirfd(d), e->d_name, link, sizeof link);
        if (n <= 0 || static_cast<size_t>(n) != want.size() || want.compare(0, want.size(), link, n) != 0)
            continue;
        safefs::UniqueFd fd(::openat(dirfd(d), e->d_name, O_PATH | O_CLOEXEC));
        if (fd && ::fstat(fd.get(), st) == 0 && S_ISREG(st->st_mode) && st->st_nlink == 0) {
            found = std::move(fd);
            break;
        }
    }
    ::closedir(d);
    return found;
}

}  // namespace

safefs::UniqueFd ProcessFiles::open_regular(const std::string& given, struct stat* st, std::string* why) {
    if (!root_tried_) {
        root_tried_ = true;
        safefs::Failure f;
        root_ = safefs::open_proc_root(proc_root_, pid_, &f);
        if (!root_) root_why_ = "root unreadable: " + f.why;
    }
    if (!root_) {
        *why = root_why_;
        return {};
    }
    if (given.empty()) {
        *why = "no path";
        return {};
    }
    std::string path = given;
    if (path[0] != '/') {
        if (!cwd_) cwd_ = cwd_in_root(proc_root_, pid_, &cwd_why_);
        if (cwd_->empty()) {
            *why = cwd_why_;
            return {};
        }
        path = (*cwd_ == "/" ? "" : *cwd_) + "/" + path;
    }
    // O_PATH, resolved inside the process's root: a FIFO or device is found, not opened.
    safefs::Failure f;
    std::string rel = safefs::relative_to_root(path);
    safefs::UniqueFd o = safefs::open_path(root_.get(), rel, safefs::Resolve::in_root,
                                           safefs::Expect{}, st, &f);
    if (!o && f.err == ENOENT) {
        // Gone by name; the process may still hold it open.
        o = open_unlinked_held(proc_root_, pid_, path, st);
        if (o) {
            held_unlinked_ = true;
            return o;
        }
    }
    held_unlinked_ = false;
    if (!o) *why = f.why.empty() ? "cannot open" : without_path(f.why, rel);
    return o;
}

AgentArtifact inspect_agent(ProcessFiles& files, const std::string& path,
                            const ArtifactLimits& limits, EvidenceStore* evidence) {
    AgentArtifact a;
    a.path = path;
    struct stat st;
    safefs::UniqueFd o = files.open_regular(path, &st, &a.why);
    if (!o) return a;
    a.found = true;
    a.resolved_in = files.held_unlinked() ? "open_fd" : "root";
    a.size = static_cast<uint64_t>(st.st_size);
    a.uid = st.st_uid;
    a.gid = st.st_gid;
    a.mode = st.st_mode & 07777;
    a.mtime_ns = to_ns(st.st_mtim);
    safefs::Failure f;
    safefs::UniqueFd r = safefs::reopen_for_read(o.get(), &f);
    if (!r) {
        a.why = f.why.empty() ? "cannot read" : f.why;
        return a;
    }
    a.content = content_of(r.get());
    if (a.content == "jar") {   // bounded on its own: read even when too large to hash
        std::string err;
        a.manifest = read_jar_manifest(r.get(), a.size, limits.manifest, &err);
        if (!a.manifest) a.manifest_why = err;
    }
    if (a.size > limits.max_hash_bytes) {
        a.why = "too large to hash";
        return a;
    }
    bool too_big = false;
    auto h = policy::sha256_fd(r.get(), limits.max_hash_bytes, &too_big);
    if (!h) {
        a.why = too_big ? "grew past the hash cap" : "read failed";
        return a;
    }
    a.sha256 = *h;
    if (evidence) {
        std::string why;
        if (auto p = evidence->put(r.get(), a.size, a.sha256, &why)) a.evidence = *p;
        else a.evidence_why = why;
    }
    return a;
}

AgentArtifact inspect_agent(const std::string& proc_root, pid_t pid, const std::string& path,
                            const ArtifactLimits& limits, EvidenceStore* evidence) {
    ProcessFiles files(proc_root, pid);
    return inspect_agent(files, path, limits, evidence);
}

nlohmann::json artifact_json(const AgentArtifact& a) {
    nlohmann::json o = {{"path", a.path}};
    if (a.found) {
        o["resolved_in"] = a.resolved_in;
        o["size"] = a.size;
        o["uid"] = a.uid;
        o["gid"] = a.gid;
        o["mode"] = octal_mode(a.mode);
        o["mtime"] = audit::format_rfc3339_ns(a.mtime_ns);
    }
    if (!a.sha256.empty()) o["sha256"] = a.sha256;
    if (!a.content.empty()) o["content"] = a.content;
    if (a.manifest) {
        const JarManifest& m = *a.manifest;
        nlohmann::json mj = nlohmann::json::object();
        auto put = [&](const char* k, const std::optional<std::string>& v) { if (v) mj[k] = *v; };
        put("agent_class", m.agent_class);
        put("premain_class", m.premain_class);
        put("launcher_agent_class", m.launcher_agent_class);
        put("can_retransform_classes", m.can_retransform_classes);
        put("can_redefine_classes", m.can_redefine_classes);
        put("boot_class_path", m.boot_class_path);
        put("implementation_title", m.implementation_title);
        put("implementation_version", m.implementation_version);
        put("implementation_vendor", m.implementation_vendor);
        if (m.truncated) mj["truncated"] = true;
        o["manifest"] = std::move(mj);
    }
    if (!a.manifest_why.empty()) o["manifest_why"] = a.manifest_why;
    if (!a.evidence.empty()) o["evidence"] = a.evidence;
    if (!a.evidence_why.empty()) o["evidence_why"] = a.evidence_why;
    if (!a.why.empty()) o["why"] = a.why;
    return o;
}

}  // namespace jvmwatch::artifacts
