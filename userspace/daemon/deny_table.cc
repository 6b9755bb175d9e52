#include "userspace/daemon/deny_table.h"

#include <algorithm>

#include "attach/procfs.h"
#include "userspace/policy/rule_matcher.h"

namespace jvmwatch::daemon {

using observer::DenyMaps;

DenyTable::DenyTable(observer::DenyMaps* maps, DenyTableConfig cfg)
    : maps_(maps), cfg_(std::move(cfg)) {}

const std::vector<policy::DenyRule>& DenyTable::rules() const {
    static const std::vector<policy::DenyRule> kNone;
    return gens_[0].policy ? gens_[0].policy->deny : kNone;
}

// The rules whose target matches the JVM (the inject matchers).
jw_deny_mask DenyTable::match(const jvm::JvmProcess& j) const {
    jw_deny_mask m{};
    policy::Subject s(j, cfg_.proc_root);
    const auto& rs = rules();
    for (size_t i = 0; i < rs.size() && i < JW_DENY_MAX_RULES; ++i)
        if (policy::matches(rs[i].target, s)) policy::mask_set(&m, i);
    return m;
}

std::vector<DenyTable::Key> DenyTable::keys_of(const jvm::JvmProcess& j) const {
    auto mnt = proc::read_ns_inode(cfg_.proc_root, j.pid, "mnt");
    if (!mnt || j.nspid <= 0) return {};
    uint32_t m = static_cast<uint32_t>(*mnt), n = static_cast<uint32_t>(j.nspid);
    // The names it is reached by, and {0, 0, N}: the fallback for names matching no key.
    std::vector<Key> keys = {{m, 0, n}, {m, n, n}, {0, 0, n}};
    if (cfg_.host_mntns) keys.emplace_back(cfg_.host_mntns, static_cast<uint32_t>(j.pid), n);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
}

jw_deny_mask DenyTable::mask_of(const Key& k) const {
    jw_deny_mask m{};
    auto it = names_.find(k);
    if (it == names_.end()) return m;
    for (pid_t pid : it->second)
        if (auto j = jvms_.find(pid); j != jvms_.end()) {
            m.w[0] |= j->second.mask.w[0];
            m.w[1] |= j->second.mask.w[1];
        }
    return m;
}

// A key stays while a JVM is named by it, with an empty mask if no rule covers it: a
// known, uncovered JVM must not fall back to {0, 0, N} (another JVM with the same pid).
void DenyTable::write_key(uint32_t slot, const Key& k) {
    if (!maps_) return;
    jw_deny_target_key key{slot, std::get<0>(k), std::get<1>(k), std::get<2>(k)};
    if (!names_.count(k)) {
        maps_->remove(DenyMaps::Map::targets, &key);   // absent is fine
    } else if (!maps_->put(DenyMaps::Map::targets, &key, mask_of(k))) {
        ++stats_.map_errors;
    }
}

bool DenyTable::set_policy(std::shared_ptr<const policy::AlertPolicy> p, std::string* err,
                           std::vector<std::string>* notes) {
    static const std::vector<policy::DenyRule> kNone;
    const auto& rules = p ? p->deny : kNone;
    policy::CompiledDeny c;
    if (!policy::compile_deny(rules, cfg_.host_root, cfg_.cgroup_root, &c, err)) return false;
    if (notes) notes->insert(notes->end(), c.notes.begin(), c.notes.end());

    std::lock_guard<std::mutex> g(mu_);
    gens_[1] = gens_[0];
    gens_[0] = Generation{next_gen_++, p};
    stats_.covered = 0;
    for (auto& [pid, j] : jvms_) {
        j.mask = match(j.process);
        if (!policy::mask_empty(j.mask)) ++stats_.covered;
    }
    stats_.generation = gens_[0].gen;
    if (!maps_) return true;

    // Fill the idle slot, flip, then empty the old one.
    uint32_t old = slot_, idle = slot_ ^ 1;
    maps_->clear_slot(idle);
    if (!rules.empty()) {
        jw_deny_slot cfg{c.enforce, gens_[0].gen, 0};
        if (!maps_->set_slot(idle, cfg)) ++stats_.map_errors;
        auto put = [&](DenyMaps::Map m, const void* key, const jw_deny_mask& v) {
            if (!maps_->put(m, key, v)) ++stats_.map_errors;
        };
        for (const auto& [di, v] : c.exe) {
            jw_deny_exe_key k{idle, 0, di.first, di.second};
            put(DenyMaps::Map::allow_exe, &k, v);
        }
        for (const auto& [uid, v] : c.uid) {
            jw_deny_id_key k{idle, 0, uid};
            put(DenyMaps::Map::allow_uid, &k, v);
        }
        for (const auto& [id, v] : c.cgroup) {
            jw_deny_id_key k{idle, 0, id};
            put(DenyMaps::Map::allow_cgroup, &k, v);
        }
        for (const auto& [k, pids] : names_) write_key(idle, k);
    }
    if (!maps_->set_active(rules.empty() ? 0 : idle + 1)) ++stats_.map_errors;
    slot_ = idle;
    maps_->clear_slot(old);
    return true;
}

void DenyTable::on_jvm_started(const jvm::JvmProcess& jvm, uint64_t, bool) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = jvms_.find(jvm.pid);
    if (it == jvms_.end() && jvms_.size() >= cfg_.max_jvms) {
        ++stats_.jvms_dropped;
        return;
    }
    if (it != jvms_.end()) {   // the pid's old image (its exit was missed): forget it first
        for (const auto& k : it->second.keys) names_[k].erase(jvm.pid);
        if (!policy::mask_empty(it->second.mask)) --stats_.covered;
        jvms_.erase(it);
    }
    Jvm j;
    j.start_ticks = jvm.start_time_ticks;
    j.process = jvm;
    j.keys = keys_of(jvm);
    j.mask = match(jvm);
    if (!policy::mask_empty(j.mask)) ++stats_.covered;
    auto keys = j.keys;
    jvms_[jvm.pid] = std::move(j);
    for (const auto& k : keys) {
        names_[k].insert(jvm.pid);
        if (!rules().empty()) write_key(slot_, k);
    }
}

void DenyTable::on_jvm_exited(pid_t pid, uint64_t start_time_ticks) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = jvms_.find(pid);
    if (it == jvms_.end()) return;
    if (start_time_ticks && it->second.start_ticks && it->second.start_ticks != start_time_ticks)
        return;
    auto keys = std::move(it->second.keys);
    if (!policy::mask_empty(it->second.mask)) --stats_.covered;
    jvms_.erase(it);
    for (const auto& k : keys) {
        auto n = names_.find(k);
        if (n != names_.end()) {
            n->second.erase(pid);
            if (n->second.empty()) names_.erase(n);
        }
        write_key(slot_, k);
    }
}

std::optional<DenyRuleRef> DenyTable::rule_at(uint8_t gen, uint16_t index) const {
    std::lock_guard<std::mutex> g(mu_);
    for (const auto& G : gens_) {
        if (!G.policy || G.gen != gen) continue;
        if (index >= G.policy->deny.size()) return std::nullopt;
        const auto& r = G.policy->deny[index];
        return DenyRuleRef{r.name, r.mode, r.severity};
    }
    return std::nullopt;
}

std::optional<DenyRuleRef> DenyTable::covering(pid_t pid) const {
    std::lock_guard<std::mutex> g(mu_);
    auto it = jvms_.find(pid);
    if (it == jvms_.end()) return std::nullopt;
    const auto& rs = rules();
    for (size_t i = 0; i < rs.size() && i < JW_DENY_MAX_RULES; ++i)
        if (policy::mask_test(it->second.mask, i))
            return DenyRuleRef{rs[i].name, rs[i].mode, rs[i].severity};
    return std::nullopt;
}

size_t DenyTable::rule_count() const {
    std::lock_guard<std::mutex> g(mu_);
    return rules().size();
}

DenyTableStats DenyTable::stats() const {
    std::lock_guard<std::mutex> g(mu_);
    DenyTableStats s = stats_;
    s.jvms = jvms_.size();
    return s;
}

}  // namespace jvmwatch::daemon
