#include "userspace/inject/agent_probe.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "attach/procfs.h"

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
}  // namespace

bool agent_loaded(const std::string& proc_root, pid_t pid, const std::string& file) {
    struct stat want;
    if (stat(file.c_str(), &want) != 0) return false;
    const std::string base = proc_root + "/" + std::to_string(pid);
    bool found = false;
    for_each_entry(base + "/fd", [&](const std::string& n) {
        struct stat st;
        if (stat((base + "/fd/" + n).c_str(), &st) == 0 && st.st_dev == want.st_dev &&
            st.st_ino == want.st_ino)
            found = true;
        return found;
    });
    if (found) return true;
    // maps: "addr perms offset MAJ:MIN inode path"
    std::ifstream maps(base + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
        unsigned maj = 0, min = 0;
        unsigned long long ino = 0;
        if (std::sscanf(line.c_str(), "%*s %*s %*s %x:%x %llu", &maj, &min, &ino) == 3 &&
            ino == want.st_ino && makedev(maj, min) == want.st_dev)
            return true;
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
