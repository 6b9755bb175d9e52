#include "userspace/inject/agent_probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "attach/procfs.h"
#include "attach/safe_fs.h"

namespace jvmwatch::inject {

namespace {
template <class F>
void for_each_entry(const std::string& dir, F f) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        if (f(std::string(e->d_name))) break;
    }
    closedir(d);
}

// The file's identity, resolved without following a link out of where it lives: a path
// below <proc_root>/<pid>/root/ inside that process's root, any other path with no
// symlink at all.
std::optional<struct stat> identity_of(const std::string& proc_root, pid_t pid,
                                       const std::string& file) {
    const std::string prefix = proc_root + "/" + std::to_string(pid) + "/root/";
    safefs::UniqueFd root;
    int at = AT_FDCWD;
    std::string path = file;
    auto how = safefs::Resolve::no_symlinks;
    if (file.rfind(prefix, 0) == 0) {
        root = safefs::open_proc_root(proc_root, pid);
        if (!root) return std::nullopt;
        at = root.get();
        path = file.substr(prefix.size() - 1);
        how = safefs::Resolve::in_root;
    }
    struct stat st;
    if (!safefs::open_path(at, path, how, {}, &st)) return std::nullopt;
    return st;
}

// A link text of /proc/PID/fd/N (or a maps path) naming `file`, also once deleted (a
// store wiped and re-created holds the same content under the same name).
bool names_file(const std::string& shown, const std::string& file) {
    return shown == file || shown == file + " (deleted)";
}
}  // namespace

bool agent_loaded(const std::string& proc_root, pid_t pid, const std::string& file) {
    auto want = identity_of(proc_root, pid, file);
    const std::string base = proc_root + "/" + std::to_string(pid);
    bool found = false;
    for_each_entry(base + "/fd", [&](const std::string& n) {
        const std::string fd = base + "/fd/" + n;
        struct stat st;
        if (want && stat(fd.c_str(), &st) == 0 && st.st_dev == want->st_dev &&
            st.st_ino == want->st_ino)
            found = true;
        char buf[4096];
        ssize_t len = readlink(fd.c_str(), buf, sizeof buf - 1);
        if (len > 0 && names_file(std::string(buf, static_cast<size_t>(len)), file)) found = true;
        return found;
    });
    if (found) return true;
    // maps: "addr perms offset MAJ:MIN inode path"
    std::ifstream maps(base + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
        unsigned maj = 0, min = 0;
        unsigned long long ino = 0;
        int path_at = 0;
        if (std::sscanf(line.c_str(), "%*s %*s %*s %x:%x %llu %n", &maj, &min, &ino, &path_at) < 3)
            continue;
        if (want && ino == want->st_ino && makedev(maj, min) == want->st_dev) return true;
        if (path_at > 0 && names_file(line.substr(static_cast<size_t>(path_at)), file)) return true;
    }
    return false;
}

bool has_thread_named(const std::string& proc_root, pid_t pid, const std::string& comm) {
    const std::string task = proc_root + "/" + std::to_string(pid) + "/task";
    bool found = false;
    for_each_entry(task, [&](const std::string& tid) {
        auto c = proc::read_file(task + "/" + tid + "/comm", 64);
        if (c && c->substr(0, c->find('\n')) == comm) found = true;
        return found;
    });
    return found;
}

}  // namespace jvmwatch::inject
