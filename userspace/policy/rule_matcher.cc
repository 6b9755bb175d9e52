#include "userspace/policy/rule_matcher.h"

#include <algorithm>
#include <cctype>

#include "attach/procfs.h"

namespace jvmwatch::policy {

namespace {
bool any_of(const std::vector<Pattern>& ps, const std::string& s) {
    return std::any_of(ps.begin(), ps.end(), [&](const Pattern& p) { return p.matches(s); });
}

// The class or jar alone: "-jar /x/app.jar" -> "/x/app.jar", "m/c.Main" -> "c.Main" also.
std::vector<std::string> main_forms(const std::string& main) {
    std::vector<std::string> out{main};
    if (main.rfind("-jar ", 0) == 0) out.push_back(main.substr(5));
    if (auto slash = main.find('/'); slash != std::string::npos && main.rfind("-jar ", 0) != 0)
        out.push_back(main.substr(slash + 1));
    return out;
}
}  // namespace


const std::vector<std::string>& Subject::environ() const {
    if (!environ_) environ_ = proc::read_environ(proc_root_, jvm_.pid);
    return *environ_;
}

const std::string& Subject::cgroup() const {
    if (!cgroup_) cgroup_ = proc::read_cgroup(proc_root_, jvm_.pid);
    return *cgroup_;
}

bool matches(const Matcher& m, const Subject& s) {
    const auto& j = s.jvm();
    if (!m.main.empty()) {
        auto forms = main_forms(j.main);
        if (j.main.empty() ||
            std::none_of(forms.begin(), forms.end(), [&](auto& f) { return any_of(m.main, f); }))
            return false;
    }
    if (!m.args.empty()) {
        // argv[0] is the launcher, not an argument.
        bool hit = false;
        for (size_t i = 1; i < j.cmdline.size() && !hit; ++i) hit = any_of(m.args, j.cmdline[i]);
        if (!hit) return false;
    }
    if (!m.exe.empty() && !any_of(m.exe, j.exe)) return false;
    if (!m.users.empty() || !m.uids.empty()) {
        bool hit = std::find(m.uids.begin(), m.uids.end(), j.euid) != m.uids.end() ||
                   std::find(m.users.begin(), m.users.end(), j.user) != m.users.end();
        if (!hit) return false;
    }
    if (!m.cgroup.empty() && !any_of(m.cgroup, s.cgroup())) return false;
    if (!m.container.empty()) {
        auto id = s.container_id();
        if (id.empty() || !any_of(m.container, id)) return false;
    }
    for (const auto& e : m.env) {
        const auto& env = s.environ();
        auto it = std::find_if(env.begin(), env.end(), [&](const std::string& kv) {
            return kv.size() > e.name.size() && kv.compare(0, e.name.size(), e.name) == 0 &&
                   kv[e.name.size()] == '=';
        });
        if (it == env.end()) return false;
        if (e.value && !e.value->matches(it->substr(e.name.size() + 1))) return false;
    }
    if (m.jdk && !m.jdk->contains(j.jdk_version)) return false;
    for (const auto& f : m.flags) {
        // JVM options come before the main class / -jar; later words are the app's.
        bool hit = false;
        for (size_t i = 1; i < j.cmdline.size(); ++i) {
            const auto& a = j.cmdline[i];
            if (a == "-jar" || (!a.empty() && a[0] != '-')) {
                bool is_value = i > 1 && (j.cmdline[i - 1] == "-cp" ||
                                          j.cmdline[i - 1] == "-classpath" ||
                                          j.cmdline[i - 1] == "--class-path" ||
                                          j.cmdline[i - 1] == "-p" ||
                                          j.cmdline[i - 1] == "--module-path");
                if (!is_value) break;
            }
            if (a == f) { hit = true; break; }
        }
        if (!hit) return false;
    }
    return true;
}

Decision decide(const Policy& p, const Subject& s) {
    for (const auto& r : p.rules) {
        if (!matches(r.match, s)) continue;
        bool excluded = std::any_of(r.exclude.begin(), r.exclude.end(),
                                    [&](const Matcher& m) { return matches(m, s); });
        return {&r, excluded};
    }
    return {};
}

std::string_view to_string(Milestone m) {
    switch (m) {
        case Milestone::signal_dispatch: return "signal_dispatch";
        case Milestone::attach_listener: return "attach_listener";
        case Milestone::main: return "main";
    }
    return "?";
}

}  // namespace jvmwatch::policy
