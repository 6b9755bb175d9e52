#include "userspace/daemon/static_agents.h"

#include <unistd.h>

#include <optional>
#include <string_view>

#include "attach/safe_fs.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::daemon {

namespace {

// Launcher options whose value is the next argument (it does not start the program).
bool takes_value(std::string_view a) {
    for (std::string_view o : {"-cp", "-classpath", "--class-path", "-p", "--module-path",
                               "--add-modules", "--upgrade-module-path", "--limit-modules",
                               "--add-opens", "--add-exports", "--add-reads", "--patch-module",
                               "--enable-native-access"})
        if (a == o) return true;
    return false;
}

// Cut at `max` bytes, not inside a UTF-8 sequence.
std::string cut(std::string_view s, size_t max) {
    if (s.size() <= max) return std::string(s);
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n));
}

// Link text of <proc_root>/PID/NAME; nullopt if unreadable.
std::optional<std::string> link_text(const std::string& proc_root, pid_t pid, const char* name) {
    std::string p = proc_root + "/" + std::to_string(pid) + "/" + name;
    char buf[4096];
    ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
}

// The JVM's cwd as a path inside its root, or "" and *why.
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

}  // namespace

StaticAgents parse_static_agents(const std::vector<std::string>& cmdline) {
    static constexpr struct { std::string_view prefix; const char* kind; } kinds[] = {
        {"-javaagent:", "java"}, {"-agentpath:", "native"}, {"-agentlib:", "lib"}};
    StaticAgents out;
    for (size_t i = 1; i < cmdline.size(); ++i) {
        std::string_view a = cmdline[i];
        if (a.empty() || a[0] != '-' || a == "-jar" || a == "-m" || a == "--module" ||
            a.starts_with("--module="))
            break;   // the main class, jar or module: the program's own arguments follow
        if (takes_value(a)) {
            ++i;
            continue;
        }
        for (const auto& k : kinds) {
            if (!a.starts_with(k.prefix)) continue;
            if (out.agents.size() >= kMaxStaticAgents) {
                ++out.dropped;
                break;
            }
            std::string_view spec = a.substr(k.prefix.size());
            StaticAgent s;
            s.kind = k.kind;
            size_t eq = spec.find('=');
            std::string_view path = spec.substr(0, eq);
            s.path = cut(path, kMaxAgentPath);
            if (path.size() > kMaxAgentPath) s.why = "path too long";
            if (eq != std::string_view::npos) {
                s.has_options = true;
                s.options = cut(spec.substr(eq + 1), kMaxAgentOptions);
            }
            if (s.path.empty()) s.why = "no path";
            out.agents.push_back(std::move(s));
            break;
        }
    }
    return out;
}

void hash_static_agents(const std::string& proc_root, pid_t pid, StaticAgents& agents,
                        uint64_t max_bytes) {
    safefs::UniqueFd root;
    std::string root_why;
    bool root_tried = false;
    std::optional<std::string> cwd;   // learnt once, when a relative path needs it
    std::string cwd_why;
    uint64_t budget = max_bytes;
    for (auto& a : agents.agents) {
        if (a.kind == "lib" || !a.why.empty()) continue;   // a name, or already refused
        if (!root_tried) {
            root_tried = true;
            safefs::Failure f;
            root = safefs::open_proc_root(proc_root, pid, &f);
            if (!root) root_why = "root unreadable: " + f.why;
        }
        if (!root) {
            a.why = root_why;
            continue;
        }
        std::string path = a.path;
        if (path[0] != '/') {
            if (!cwd) cwd = cwd_in_root(proc_root, pid, &cwd_why);
            if (cwd->empty()) {
                a.why = cwd_why;
                continue;
            }
            path = (*cwd == "/" ? "" : *cwd) + "/" + path;
        }
        // O_PATH, resolved inside the JVM's root: a FIFO or device is found, not opened.
        struct stat st;
        safefs::Failure f;
        std::string rel = safefs::relative_to_root(path);
        safefs::UniqueFd o = safefs::open_path(root.get(), rel, safefs::Resolve::in_root,
                                               safefs::Expect{}, &st, &f);
        if (!o) {
            a.why = f.why.empty() ? "cannot open" : without_path(f.why, rel);
            continue;
        }
        a.size_known = true;
        a.size = static_cast<uint64_t>(st.st_size);
        if (a.size > budget) {
            a.why = budget < max_bytes ? "hash budget spent" : "too large to hash";
            continue;
        }
        safefs::UniqueFd r = safefs::reopen_for_read(o.get(), &f);
        if (!r) {
            a.why = f.why.empty() ? "cannot read" : f.why;
            continue;
        }
        bool too_big = false;
        auto h = policy::sha256_fd(r.get(), budget, &too_big);
        if (!h) {
            a.why = too_big ? "grew past the hash cap" : "read failed";
            continue;
        }
        a.sha256 = *h;
        budget -= std::min(budget, a.size);
    }
}

nlohmann::json static_agents_json(const StaticAgents& a) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : a.agents) {
        nlohmann::json o = {{"kind", s.kind}, {"path", s.path}};
        if (s.has_options) o["options"] = s.options;
        if (!s.sha256.empty()) o["sha256"] = s.sha256;
        if (s.size_known) o["size"] = s.size;
        if (!s.why.empty()) o["why"] = s.why;
        out.push_back(std::move(o));
    }
    return out;
}

}  // namespace jvmwatch::daemon
