#include "userspace/policy/deny_rules.h"

#include <glob.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <set>

#include "userspace/policy/alert_rules.h"
#include "userspace/policy/rule_reader.h"
#include "userspace/policy/policy_parser.h"
#include "userspace/policy/yaml_reader.h"

namespace jvmwatch::policy {

std::string_view to_string(DenyMode m) { return m == DenyMode::enforce ? "enforce" : "monitor"; }

uint64_t kernel_dev(dev_t dev) {
    return (static_cast<uint64_t>(major(dev)) << 20) | minor(dev);
}

namespace {

// Bounds of the kernel maps (bpf/connect.bpf.c).
constexpr size_t kMaxAllowExe = 4096;
constexpr size_t kMaxAllowIds = 4096;

class DenyParser : RuleReader {
public:
    using RuleReader::RuleReader;

    bool rules(const YAML::Node& n, std::vector<DenyRule>* out) {
        if (!n || n.IsNull()) return true;
        if (!n.IsSequence()) {
            fail(n, "alerts.deny: expected a list of deny rules");
            return false;
        }
        if (n.size() > JW_DENY_MAX_RULES) {
            fail(n, "alerts.deny: " + std::to_string(n.size()) + " rules; at most " +
                        std::to_string(JW_DENY_MAX_RULES) + " (one bit each in the kernel)");
            return false;
        }
        std::set<std::string> names;
        for (size_t i = 0; i < n.size(); ++i) {
            auto r = rule(n[i], "alerts.deny[" + std::to_string(i) + "]");
            if (!r) continue;
            if (!names.insert(r->name).second)
                fail(n[i], "alerts.deny[" + std::to_string(i) + "]: the name \"" + r->name +
                               "\" is used already");
            else
                out->push_back(std::move(*r));
        }
        return errors_->empty();
    }

private:
    std::vector<std::string> strings(const YAML::Node& n, const std::string& what, bool* ok) {
        std::vector<std::string> v;
        if (n.IsScalar()) {
            v.push_back(n.Scalar());
        } else if (n.IsSequence() && n.size() > 0) {
            for (const auto& e : n) {
                if (auto s = str(e, what)) v.push_back(*s); else *ok = false;
            }
        } else {
            fail(n, what + ": expected a string or a non-empty list of strings");
            *ok = false;
        }
        return v;
    }

    // An absolute glob without "." or ".." parts: it names files of the host as they are.
    bool path_glob(const YAML::Node& n, const std::string& what, const std::string& g) {
        if (g.empty() || g[0] != '/') {
            fail(n, what + ": \"" + g + "\" is not an absolute path glob");
            return false;
        }
        if (g.find("/../") != std::string::npos || g.find("/./") != std::string::npos ||
            g.ends_with("/..") || g.ends_with("/.") || g.find('\0') != std::string::npos) {
            fail(n, what + ": \"" + g + "\" has . or .. parts");
            return false;
        }
        return true;
    }

    bool allow(const YAML::Node& n, const std::string& what, DenyAllow* a) {
        if (!is_map(n, what) || !known_keys(n, what, {"exe", "users", "uids", "cgroup"}))
            return false;
        bool ok = true;
        for (const char* key : {"exe", "cgroup"}) {
            if (!n[key]) continue;
            auto* out = std::string_view(key) == "exe" ? &a->exe : &a->cgroup;
            for (auto& g : strings(n[key], what + "." + key, &ok)) {
                if (path_glob(n[key], what + "." + key, g)) out->push_back(g);
                else ok = false;
            }
        }
        for (const char* key : {"users", "uids"}) {
            if (!n[key]) continue;
            for (auto& u : strings(n[key], what + "." + key, &ok)) {
                if (!u.empty() && u.size() < 10 && u.find_first_not_of("0123456789") == std::string::npos) {
                    a->uids.push_back(static_cast<uid_t>(std::stoul(u)));
                    continue;
                }
                // A name is resolved now: the kernel compares numbers.
                struct passwd pw, *res = nullptr;
                char buf[4096];
                if (getpwnam_r(u.c_str(), &pw, buf, sizeof buf, &res) != 0 || !res) {
                    fail(n[key], what + "." + key + ": no user named \"" + u + "\"");
                    ok = false;
                } else {
                    a->uids.push_back(res->pw_uid);
                }
            }
        }
        return ok;
    }

    std::optional<DenyRule> rule(const YAML::Node& n, const std::string& what) {
        if (!is_map(n, what) ||
            !known_keys(n, what, {"name", "mode", "severity", "target", "allow"}))
            return std::nullopt;
        size_t before = errors_->size();
        DenyRule r;
        r.line = n.Mark().line + 1;
        r.severity = Severity::high;
        rule_name(n, what, &r.name);
        if (n["mode"]) {
            auto s = str(n["mode"], what + ".mode");
            if (s && *s == "enforce") r.mode = DenyMode::enforce;
            else if (s && *s == "monitor") r.mode = DenyMode::monitor;
            else if (s) fail(n["mode"], what + ".mode: expected monitor or enforce, not \"" + *s + "\"");
        }
        rule_severity(n, what, &r.severity);
        if (n["target"]) {
            auto m = parse_matcher(n["target"], what + ".target", file_, errors_);
            // The table matches on the JVM-start path: no reading of another process's
            // environment there (it can be held up by its owner).
            if (m && !m->env.empty())
                fail(n["target"], what + ".target.env: not available to deny rules (use main, args, "
                                         "exe, user, uid, cgroup, container, jdk or flags)");
            else if (m)
                r.target = std::move(*m);
        }
        if (!n["allow"]) fail(n, what + ": a deny rule needs an allow list (what may still attach)");
        else allow(n["allow"], what + ".allow", &r.allow);
        if (errors_->size() != before) return std::nullopt;
        return r;
    }
};

}  // namespace

bool parse_deny_rules(const YAML::Node& deny, const std::string& file, std::vector<DenyRule>* out,
                      std::vector<std::string>* errors) {
    std::vector<std::string> local;
    std::vector<std::string>* errs = errors ? errors : &local;
    size_t before = errs->size();
    std::vector<std::string> mine;
    bool ok = DenyParser(file, &mine).rules(deny, out);
    errs->insert(errs->end(), mine.begin(), mine.end());
    return ok && errs->size() == before;
}

bool compile_deny(const std::vector<DenyRule>& rules, const std::string& host_root,
                  const std::string& cgroup_root, CompiledDeny* out, std::string* err) {
    *out = CompiledDeny{};
    // Every path a glob gives, through stat(): the inode an exec of it maps (symlinks
    // such as /etc/alternatives lead to the file itself).
    auto expand = [](const std::string& pattern, bool dirs_only, auto&& each) {
        glob_t g{};
        int rc = glob(pattern.c_str(), GLOB_NOSORT | (dirs_only ? GLOB_ONLYDIR : 0), nullptr, &g);
        size_t n = 0;
        if (rc == 0)
            for (size_t i = 0; i < g.gl_pathc; ++i) {
                struct stat st;
                if (stat(g.gl_pathv[i], &st) != 0) continue;
                if (dirs_only ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) continue;
                each(st);
                ++n;
            }
        globfree(&g);
        return n;
    };
    for (size_t i = 0; i < rules.size() && i < JW_DENY_MAX_RULES; ++i) {
        const DenyRule& r = rules[i];
        if (r.mode == DenyMode::enforce) mask_set(&out->enforce, i);
        for (const auto& g : r.allow.exe) {
            size_t n = expand(host_root + g, false, [&](const struct stat& st) {
                mask_set(&out->exe[{kernel_dev(st.st_dev), st.st_ino}], i);
            });
            if (n == 0) out->notes.push_back("deny rule " + r.name + ": exe " + g + " matches no file");
        }
        for (uid_t u : r.allow.uids) mask_set(&out->uid[u], i);
        for (const auto& g : r.allow.cgroup) {
            if (cgroup_root.empty()) {
                *err = "deny rule " + r.name + ": allow.cgroup needs the cgroup v2 root (none found)";
                return false;
            }
            // A cgroup v2 directory's inode number is the id the kernel reports.
            size_t n = expand(cgroup_root + (g == "/" ? "" : g), true, [&](const struct stat& st) {
                mask_set(&out->cgroup[st.st_ino], i);
            });
            if (n == 0) out->notes.push_back("deny rule " + r.name + ": cgroup " + g + " matches no cgroup");
        }
    }
    if (out->exe.size() > kMaxAllowExe) {
        *err = "deny rules: the exe globs name " + std::to_string(out->exe.size()) +
               " files; the kernel map holds " + std::to_string(kMaxAllowExe);
        return false;
    }
    if (out->uid.size() > kMaxAllowIds || out->cgroup.size() > kMaxAllowIds) {
        *err = "deny rules: more than " + std::to_string(kMaxAllowIds) + " uids or cgroups";
        return false;
    }
    return true;
}

}  // namespace jvmwatch::policy
