#include "userspace/daemon/jvm_probe_manager.h"

#include <sys/stat.h>

#include <algorithm>

#include "attach/safe_fs.h"

namespace jvmwatch::daemon {

namespace obs = jvmwatch::observer;

std::vector<std::string> libjvm_candidates(const std::string& java_home) {
    return {java_home + "/lib/server/libjvm.so", java_home + "/jre/lib/amd64/server/libjvm.so",
            java_home + "/lib/client/libjvm.so"};
}

std::vector<std::string> libinstrument_candidates(const std::string& java_home) {
    return {java_home + "/lib/libinstrument.so", java_home + "/jre/lib/amd64/libinstrument.so"};
}

JvmProbeManager::JvmProbeManager(size_t max_libraries, Attach attach, Log log)
    : max_(max_libraries ? max_libraries : 1), attach_(std::move(attach)), log_(std::move(log)) {}

std::shared_ptr<JvmProbeManager::Library> JvmProbeManager::library(int root_fd,
                                                                   const std::string& rel,
                                                                   obs::JdkLibrary kind,
                                                                   const std::string& label,
                                                                   std::string* why) {
    // Opened as the JVM sees it, never following a link out of its root; a FIFO or a
    // device is refused without being opened.
    struct stat st{};
    safefs::Failure f;
    safefs::UniqueFd path_fd = safefs::open_path(root_fd, rel, safefs::Resolve::in_root,
                                                 safefs::Expect{}, &st, &f);
    if (!path_fd) {
        *why = f.why;
        return nullptr;
    }
    obs::LibraryKey key{obs::FileId::of(st), kind};
    {
        std::lock_guard<std::mutex> g(mu_);
        if (auto it = libs_.find(key); it != libs_.end()) return it->second;
        if (libs_.size() >= max_) {
            ++stats_.table_full;
            *why = "JVM-side probes are on " + std::to_string(max_) + " library files already";
            return nullptr;
        }
    }
    // Parsed and probed outside the lock (a slow filesystem stalls only this worker).
    auto lib = std::make_shared<Library>();
    safefs::UniqueFd read_fd = safefs::reopen_for_read(path_fd.get(), &f);
    if (!read_fd) {
        *why = f.why;
        return nullptr;
    }
    lib->probes = std::make_shared<obs::LibraryProbes>(obs::resolve_probes(read_fd.get(), kind));
    std::string err;
    if (!lib->probes->error.empty()) {
        lib->why = std::string(obs::file_name(kind)) + " unusable: " + lib->probes->error;
    } else if (lib->probes->sites.empty()) {
        lib->why = std::string(obs::file_name(kind)) +
                   (lib->probes->has_symtab ? " has none of the probe symbols"
                                            : " has no symbol table (stripped)");
    } else {
        std::shared_lock<std::shared_timed_mutex> a(attach_mu_);
        if (closed_) err = "stopping";
        else if (!attach_) err = "no observer";
        else lib->links = attach_(path_fd.get(), *lib->probes, &err);
        if (!lib->links) lib->why = "placing the probes failed: " + err;
    }
    std::lock_guard<std::mutex> g(mu_);
    ++stats_.parses;
    if (!lib->links && !lib->why.empty() && lib->probes->error.empty() && !lib->probes->sites.empty())
        ++stats_.attach_failures;
    auto [it, added] = libs_.emplace(key, lib);
    if (added && log_) {
        std::string line = "JVM-side probes: " + lib->probes->summary(label);
        line += lib->links ? "; live: " : "; none live: " + lib->why;
        if (lib->links)
            for (size_t i = 0; i < lib->links->live().size(); ++i)
                line += (i ? "," : "") + lib->links->live()[i];
        log_(line);
    }
    stats_.libraries = libs_.size();
    return it->second;
}

JvmVisibility JvmProbeManager::ensure(const std::string& proc_root, pid_t pid,
                                      const jvm::JvmProcess& jvm) {
    JvmVisibility v;
    if (jvm.java_home.empty()) {
        v.why = "JAVA_HOME of the JVM unknown";
        return v;
    }
    safefs::Failure f;
    safefs::UniqueFd root = safefs::open_proc_root(proc_root, pid, &f);
    if (!root) {
        v.why = "its root: " + f.why;
        return v;
    }
    const std::string label = jvm.jdk_version.empty() ? jvm.java_home
                                                      : jvm.jdk_version + " " + jvm.java_home;
    std::string why;
    std::shared_ptr<Library> libjvm;
    for (const auto& p : libjvm_candidates(jvm.java_home)) {
        libjvm = library(root.get(), safefs::relative_to_root(p), obs::JdkLibrary::libjvm, label, &why);
        if (libjvm) break;
    }
    if (!libjvm) {
        v.why = "libjvm.so: " + why;
        return v;
    }
    std::shared_ptr<Library> instrument;
    std::string instrument_why;
    for (const auto& p : libinstrument_candidates(jvm.java_home)) {
        instrument = library(root.get(), safefs::relative_to_root(p), obs::JdkLibrary::libinstrument,
                             label, &instrument_why);
        if (instrument) break;
    }
    for (const auto& lib : {libjvm, instrument})
        if (lib && lib->links) v.probes.insert(v.probes.end(), lib->links->live().begin(),
                                               lib->links->live().end());
    // Seen from inside when the requests are: the attach listener's read_request.
    if (std::find(v.probes.begin(), v.probes.end(), "read_request") != v.probes.end()) {
        v.level = "jvm";
    } else {
        v.why = libjvm->why.empty() ? "libjvm.so lacks read_request" : libjvm->why;
    }
    return v;
}

bool JvmProbeManager::close(std::chrono::milliseconds grace) {
    std::unique_lock<std::shared_timed_mutex> a(attach_mu_, std::defer_lock);
    if (!a.try_lock_for(grace)) return false;
    closed_ = true;
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [key, lib] : libs_) lib->links.reset();
    return true;
}

ProbeManagerStats JvmProbeManager::stats() const {
    std::lock_guard<std::mutex> g(mu_);
    return stats_;
}

}  // namespace jvmwatch::daemon
