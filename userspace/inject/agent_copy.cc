#include "userspace/inject/agent_copy.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "attach/safe_fs.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::inject {

namespace {
std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

// Copies src to dst from offset 0, hashing what was written; stops one byte past
// max_bytes (a source that grew is not copied through).
std::optional<std::string> copy_hashed(int src, int dst, uint64_t max_bytes) {
    policy::Sha256 h;
    char buf[65536];
    uint64_t off = 0;
    for (;;) {
        ssize_t n = pread(src, buf, sizeof buf, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        if (off + static_cast<uint64_t>(n) > max_bytes) return "";  // grew: cannot match
        for (ssize_t w = 0; w < n;) {
            ssize_t m = write(dst, buf + w, static_cast<size_t>(n - w));
            if (m < 0 && errno == EINTR) continue;
            if (m <= 0) return std::nullopt;
            w += m;
        }
        h.update(buf, static_cast<size_t>(n));
        off += static_cast<uint64_t>(n);
    }
    return policy::Sha256::hex(h.finish());
}

std::string temp_name() {
    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
        rnd = static_cast<uint64_t>(getpid()) << 32 ^ static_cast<uint64_t>(time(nullptr));
    char name[64];
    std::snprintf(name, sizeof name, ".jvmwatch-stage-%016llx.tmp",
                  static_cast<unsigned long long>(rnd));
    return name;
}
}  // namespace

bool existing_copy_matches(int dirfd, const std::string& name, uid_t owner, bool owner_or_root,
                           const policy::AgentSource& src) {
    safefs::Expect e;
    e.kinds = safefs::Kind::regular;
    e.owner = owner;
    e.owner_or_root = owner_or_root;
    e.not_writable_by_others = true;
    struct stat st;
    safefs::UniqueFd p = safefs::open_path(dirfd, name, safefs::Resolve::no_symlinks, e, &st);
    if (!p || st.st_nlink != 1) return false;
    // Size first: a huge (sparse) file planted under the name is never read.
    if (static_cast<uint64_t>(st.st_size) != src.size) return false;
    safefs::UniqueFd fd = safefs::reopen_for_read(p.get());
    if (!fd) return false;
    auto h = policy::sha256_fd(fd.get(), src.size);
    return h && *h == src.sha256;
}

bool write_copy(int dirfd, const std::string& name, const policy::AgentSource& src, uid_t uid,
                gid_t gid, std::string* error) {
    return write_copy(dirfd, name, src.fd.get(), src.size, src.sha256, uid, gid, 0444, error);
}

bool write_copy(int dirfd, const std::string& name, int src_fd, uint64_t size,
                const std::string& sha256, uid_t uid, gid_t gid, mode_t mode, std::string* error) {
    const std::string tmp = temp_name();
    safefs::UniqueFd dst(
        openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400));
    if (!dst) { *error = sys_error("create " + tmp); return false; }
    auto fail = [&](const std::string& why) {
        *error = why;
        unlinkat(dirfd, tmp.c_str(), 0);
        return false;
    };
    auto written = copy_hashed(src_fd, dst.get(), size);
    if (!written) return fail(sys_error("copy the agent"));
    if (*written != sha256) return fail("the agent file changed while being copied");
    if (fchown(dst.get(), uid, gid) != 0 || fchmod(dst.get(), mode) != 0 || fsync(dst.get()) != 0)
        return fail(sys_error("chown/chmod/fsync the copy"));
    if (renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0)
        return fail(sys_error("rename the copy to " + name));
    fsync(dirfd);
    return true;
}

}  // namespace jvmwatch::inject
