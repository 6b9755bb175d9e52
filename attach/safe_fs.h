// Opening files on another process's behalf.  Any path that another user or a container
// controls (a JVM's JAVA_HOME, its /tmp, an agent jar, a file in its root) may hold a
// symlink to a device, a FIFO that blocks open(), a huge sparse file or a loop.  This is
// the one module that opens such paths; nothing else calls open() on them.
//
// Every open is in two steps: O_PATH first (no driver's open() runs, a FIFO does not
// block), fstat() of what was found (type, owner, mode), and only then a re-open through
// /proc/self/fd for reading, non-blocking, with a byte cap.  Path resolution never follows
// a symlink out of where it must stay: `no_symlinks` refuses every symlink on the path,
// `in_root` resolves absolute symlinks and ".." inside a directory fd (a process's root),
// as the process itself would see them (openat2 RESOLVE_IN_ROOT, kernel 5.6+, else an
// equivalent component-by-component walk).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

namespace jvmwatch::safefs {

// An owned file descriptor.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    explicit operator bool() const { return valid(); }
    int release() {
        int f = fd_;
        fd_ = -1;
        return f;
    }
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

enum class Resolve {
    no_symlinks,  // every component taken literally; a symlink anywhere fails (ELOOP)
    in_root,      // dirfd is a root: "/" and ".." stop at it, absolute links resolve in it
};

// Kinds of file a caller accepts (bit set).
enum Kind : unsigned { regular = 1u, directory = 2u, socket = 4u };

struct Expect {
    unsigned kinds = Kind::regular;
    // When set, the file must be owned by this uid (or by root if owner_or_root).
    std::optional<uid_t> owner;
    bool owner_or_root = false;
    // Refuse a file that users other than its owner may write (group/other w bits).
    bool not_writable_by_others = false;
};

// Why an open failed: errno (0 when the file was found but refused) and one line.
struct Failure {
    int err = 0;
    std::string why;
};

// Whether openat2(RESOLVE_IN_ROOT) works here (probed once).
bool have_openat2();
// Tests: use the component-by-component walk even where openat2 works.
void force_component_walk(bool on);

// Opens `path` below `dirfd` (or AT_FDCWD with an absolute path) as O_PATH, resolving as
// `how` says, and checks the result against `expect`.  *st receives its stat.
UniqueFd open_path(int dirfd, const std::string& path, Resolve how, const Expect& expect,
                   struct stat* st = nullptr, Failure* fail = nullptr);

// Checks an already opened fd's stat against `expect` ("" when it passes).
std::string check(const struct stat& st, const Expect& expect);

// Re-opens an O_PATH fd (of a file check()ed as regular) for reading: O_RDONLY,
// O_NONBLOCK, O_NOCTTY, no new resolution (it is the same inode).
UniqueFd reopen_for_read(int opath_fd, Failure* fail = nullptr);

// Reads from fd until EOF or `max` bytes.  *truncated tells whether more was there.
std::optional<std::string> read_capped(int fd, size_t max, bool* truncated = nullptr,
                                       Failure* fail = nullptr);

// open_path + check regular + reopen_for_read + read_capped.
std::optional<std::string> read_file(int dirfd, const std::string& path, Resolve how,
                                     size_t max, const Expect& expect = {},
                                     Failure* fail = nullptr, bool* truncated = nullptr);

// A directory fd (O_PATH) of PID's root directory as the process sees it
// (<proc_root>/<pid>/root: the kernel's own link, the one magic link we follow).
UniqueFd open_proc_root(const std::string& proc_root, pid_t pid, Failure* fail = nullptr);

// "/a/b/c" -> "a/b/c" and "" -> "." (paths below a root fd are relative to it).
std::string relative_to_root(const std::string& path);

}  // namespace jvmwatch::safefs
