#include "userspace/daemon/attach_correlator.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "userspace/daemon/identity_json.h"

namespace jvmwatch::daemon {

namespace {
// An own attach announced done is finalised this long after, so the kernel events of
// its last bytes have time to arrive through the ring buffer.
constexpr uint64_t kOwnDoneGraceNs = 250'000'000;
// An attacher whose exit the kernel did not report (it exited before it was tracked) is
// looked for this long after its last event, so in-flight events arrive first.
constexpr uint64_t kGoneCheckDelayNs = 300'000'000;
// A due record waits at most this long for enrichment (which has its own budget and
// always answers; this only bounds a lost answer).
constexpr uint64_t kMaxCloseWaitNs = 30'000'000'000;

// P of "/proc/<P>/root/..." or "/proc/<P>/cwd/..."; 0 otherwise.
pid_t proc_prefix_pid(const std::string& path) {
    static const std::string kProc = "/proc/";
    if (path.compare(0, kProc.size(), kProc) != 0) return 0;
    size_t i = kProc.size(), j = i;
    while (j < path.size() && path[j] >= '0' && path[j] <= '9') ++j;
    if (j == i || j - i > 10 || j >= path.size() || path[j] != '/') return 0;
    long v = std::strtol(path.substr(i, j - i).c_str(), nullptr, 10);
    std::string rest = path.substr(j + 1);
    if (rest.compare(0, 5, "root/") != 0 && rest.compare(0, 4, "cwd/") != 0) return 0;
    return v > 0 && v <= 0x7fffffff ? static_cast<pid_t>(v) : 0;
}
// JDK 24+ clients ask "getversion" on a connection of its own before the operation:
// protocol negotiation, not an operation of its own record.
bool is_negotiation(const std::string& op) { return op == "getversion"; }

// Whether the JVM side read an operation (not a negotiation) in this record.
template <class C> bool has_operation(const C& c) {
    for (const auto& r : c.jvm_requests)
        if (!is_negotiation(r.op)) return true;
    return false;
}

// The peer of a JVM-side request as an event actor: as the tables know it (its identity
// was sent just before), with the credentials its socket recorded at connect.
Actor peer_actor(const JvmAttachRecord& e, const ProcessInfo* known) {
    Actor a;
    a.ts_ns = e.who.ts_ns;
    a.pid = e.peer_pid;
    a.tid = e.peer_pid;
    a.uid = e.peer_uid;
    a.gid = e.peer_gid;
    if (known) {
        a.cgroup_id = known->cgroup_id;
        a.mntns = known->mntns;
        a.pidns = known->pidns;
        a.nspid = known->nspid;
        a.ppid = known->ppid;
        a.comm = known->comm;
    }
    return a;
}
}  // namespace

AttachCorrelator::AttachCorrelator(CorrelatorConfig cfg, Deps deps)
    : cfg_(cfg), d_(std::move(deps)) {
    if (cfg_.max_open == 0) cfg_.max_open = 1;
}

AttachCorrelator::Iter AttachCorrelator::open_for(const Actor& who, pid_t target_pid,
                                                  pid_t target_nspid, bool want_unconnected) {
    // Newest first: the latest correlation of this attacher on this target.
    for (auto it = open_.end(); it != open_.begin();) {
        --it;
        if (it->attacher != who.pid || it->closing) continue;
        if (want_unconnected && it->ev.connect) continue;
        bool pid_match = target_pid && it->target_pid && it->target_pid == target_pid;
        bool ns_match = (!target_pid || !it->target_pid) && target_nspid &&
                        it->target_nspid == target_nspid;
        if (pid_match || ns_match) return it;
    }
    return open_.end();
}

AttachCorrelator::Iter AttachCorrelator::create(const Actor& who, uint64_t ts) {
    if (open_.size() >= cfg_.max_open) {
        ++stats_.evicted;
        Iter oldest = open_.begin();
        if (oldest->closing) finalize_now(oldest, oldest->close_why, oldest->close_ts);
        else finalize_now(oldest, "evicted", ts);
    }
    Correlation c;
    c.attacher = who.pid;
    c.who = d_.procs->ensure(who);
    c.first_ts = c.last_ts = ts;
    if (d_.track) d_.track(who.pid);
    // exe, cmdline and cgroup of an attacher not seen exec'ing, and its parent's name.
    if (d_.enrich) {
        if (c.who.source == ProcessInfo::Source::event) d_.enrich(who.pid, false);
        if (c.who.ppid > 0 && !d_.procs->find(c.who.ppid)) d_.enrich(c.who.ppid, false);
    }
    open_.push_back(std::move(c));
    return std::prev(open_.end());
}

AttachCorrelator::Iter AttachCorrelator::connected_of(pid_t attacher, int32_t fd) {
    Iter any = open_.end();
    for (auto it = open_.end(); it != open_.begin();) {
        --it;
        if (it->attacher != attacher || !it->conn_open || it->closing) continue;
        if (fd >= 0 && it->fd >= 0 && it->fd == fd) return it;
        if (any == open_.end() && (fd < 0 || it->fd < 0)) any = it;
    }
    return any;
}

AttachCorrelator::Resolved AttachCorrelator::resolve_target(const Actor& caller, pid_t nspid,
                                                            const std::string& path) {
    bool caller_on_host = cfg_.host_pidns == 0 || caller.pidns == cfg_.host_pidns;
    // /proc/<P>/... names P in the pid namespace of the /proc mounted in the caller's
    // mount namespace: a host pid only if the caller still sees the host's mounts (jattach
    // enters the target's mount namespace first, where /proc/1 is the JVM).
    bool host_proc = caller_on_host && (cfg_.host_mntns == 0 || caller.mntns == cfg_.host_mntns);
    if (pid_t p = proc_prefix_pid(path); p && host_proc) return {p, "path"};
    // The attacher already signalled a JVM whose namespace pid is N.
    for (auto it = open_.rbegin(); it != open_.rend(); ++it)
        if (it->attacher == caller.pid && it->target_pid && it->target_nspid == nspid)
            return {it->target_pid, "signal"};
    if (nspid == 0) return {0, "unresolved"};
    // /tmp/.java_pid<N> in the caller's mount namespace: a JVM there with nspid N.
    const JvmInfo* same_mnt = nullptr;
    for (pid_t pid : d_.jvms->pids()) {
        const JvmInfo* j = d_.jvms->peek(pid);
        if (j && j->proc.nspid == nspid && j->mntns && j->mntns == caller.mntns) { same_mnt = j; break; }
    }
    if (same_mnt) return {same_mnt->proc.pid, "jvm_table_mntns"};
    if (const JvmInfo* j = d_.jvms->find_by_nspid(caller.pidns, nspid)) return {j->proc.pid, "jvm_table_pidns"};
    if (caller_on_host && !(d_.not_jvm && d_.not_jvm(nspid))) {
        // A host pid not known as a JVM yet: ask, and check again when finalising.
        if (d_.enrich) d_.enrich(nspid, true);
        return {nspid, "caller_namespace", true};
    }
    return {0, "unresolved"};
}

void AttachCorrelator::on_trigger(const TriggerRecord& e) {
    Resolved r = resolve_target(e.who, e.target_nspid, e.path);
    Iter it = open_for(e.who, r.pid, e.target_nspid, true);
    if (it == open_.end()) {
        it = create(e.who, e.who.ts_ns);
        it->target_pid = r.pid;
        it->target_nspid = e.target_nspid;
        it->target_resolved_by = r.how;
        it->target_unverified = r.unverified;
    }
    it->ev.trigger = true;
    it->trigger_path = e.path;
    it->last_ts = e.who.ts_ns;
}

void AttachCorrelator::on_sigquit(const SigquitRecord& e) {
    if (e.target_pid == e.who.pid) return;   // a JVM signalling itself is not an attach
    const JvmInfo* jvm = d_.jvms->find(e.target_pid);
    if (!jvm) {
        if (d_.not_jvm && d_.not_jvm(e.target_pid)) {
            ++stats_.sigquit_not_jvm;
            return;
        }
        // Not known: ask, and decide when the record is due.
        if (d_.enrich) d_.enrich(e.target_pid, true);
    }
    pid_t nspid = e.target_nspid ? e.target_nspid : jvm ? jvm->proc.nspid : 0;
    Iter it = open_for(e.who, e.target_pid, nspid, true);
    if (it == open_.end()) {
        it = create(e.who, e.who.ts_ns);
        it->target_resolved_by = "signal";
        it->target_unverified = !jvm;
    } else if (jvm) {
        it->target_unverified = false;
    }
    it->target_pid = e.target_pid;
    it->target_nspid = nspid;
    it->ev.sigquit = true;
    it->signal_result = e.result;
    it->last_ts = e.who.ts_ns;
}

void AttachCorrelator::on_connect(const ConnectRecord& e) {
    Resolved r = resolve_target(e.who, e.target_nspid, e.path);
    // Connections that carried no request yet (JDK clients open and close a probe
    // connection first; without deep mode requests are never seen) merge into one
    // record; a connection after one that carried a request starts a new record.
    Iter it = open_.end();
    for (auto c = open_.end(); c != open_.begin();) {
        --c;
        if (c->attacher != e.who.pid || c->closing) continue;
        bool same = (r.pid && c->target_pid == r.pid) ||
                    ((!r.pid || !c->target_pid) && c->target_nspid == e.target_nspid);
        if (!same) continue;
        if (!c->ev.request && !has_operation(*c)) { it = c; break; }
        Iter done = c;
        ++c;
        finalize(done, "next_connect", e.who.ts_ns);
    }
    if (it == open_.end()) {
        it = create(e.who, e.who.ts_ns);
        it->target_nspid = e.target_nspid;
    }
    if (!it->target_pid) {
        it->target_pid = r.pid;
        it->target_resolved_by = r.how;
        it->target_unverified = r.unverified;
    }
    if (e.deny_verdict > it->deny_verdict) {
        it->deny_verdict = e.deny_verdict;
        it->deny_gen = e.policy_gen;
        it->deny_rule = e.deny_rule;
    }
    it->ev.connect = true;
    it->conn_open = true;
    ++it->connects;
    it->fd = e.fd;
    it->socket_path = e.path;
    it->last_ts = e.who.ts_ns;
}

void AttachCorrelator::on_sock_data(const SockDataRecord& e) {
    Iter it = connected_of(e.who.pid, e.fd);
    if (it == open_.end()) {
        ++stats_.orphan_socket_events;
        return;
    }
    if (it->fd < 0) it->fd = e.fd;
    if (e.is_write) {
        it->request.add(e.data, e.total_len);
        it->ev.request = true;
    } else {
        it->reply.add(e.data);
        it->ev.reply = true;
    }
    it->last_ts = e.who.ts_ns;
}

void AttachCorrelator::on_close(const SockCloseRecord& e) {
    Iter it = connected_of(e.who.pid, e.fd);
    if (it == open_.end()) {
        ++stats_.orphan_socket_events;
        return;
    }
    it->ev.close = true;
    it->conn_open = false;
    it->last_ts = e.who.ts_ns;
    // A probe connection (no request) is followed by the real one: keep collecting.
    if (it->ev.request) finalize(it, "close", e.who.ts_ns);
}

void AttachCorrelator::on_jvm_attach(const JvmAttachRecord& e) {
    ++stats_.jvm_requests;
    const pid_t target = e.who.pid;
    const JvmInfo* jvm = d_.jvms->find(target);
    const pid_t target_nspid = jvm ? jvm->proc.nspid : 0;
    const bool peer_known = e.peer_known && e.peer_pid > 0;
    if (!peer_known) ++stats_.jvm_requests_unknown_peer;
    Iter it = open_.end();
    if (peer_known) {
        for (auto c = open_.end(); c != open_.begin();) {
            --c;
            if (c->attacher != e.peer_pid || c->closing) continue;
            if (c->target_pid == target ||
                (!c->target_pid && target_nspid && c->target_nspid == target_nspid)) {
                it = c;
                break;
            }
        }
    }
    if (it == open_.end()) {
        // No connect to this JVM's .java_pid name by this peer was seen: it connected
        // through another name, or with an fd it was given.
        const ProcessInfo* known = d_.procs->find(e.peer_pid);
        // A peer already gone cannot have written this request: it connected and handed
        // the connection to another process.
        const bool gone = known && known->exited;
        it = create(peer_actor(e, known), e.who.ts_ns);
        it->alias = peer_known;
        it->alias_via = !peer_known ? "" : gone ? "passed_fd" : "other_name";
        if (gone) it->attacher_exited = true;
        if (peer_known) ++stats_.alias_attaches;
        it->target_nspid = target_nspid;
    }
    if (!it->target_pid || it->target_unverified) {
        it->target_pid = target;
        it->target_resolved_by = it->target_resolved_by.empty() || it->target_resolved_by == "unresolved"
                                     ? "jvm_side" : it->target_resolved_by;
        it->target_unverified = false;
    }
    if (e.self && !it->self_attach) {
        it->self_attach = true;
        ++stats_.self_attaches;
    }
    it->ev.jvm_request = true;
    it->last_ts = std::max(it->last_ts, e.who.ts_ns);
    if (it->jvm_requests.size() >= kMaxJvmRequests) {
        ++it->jvm_requests_dropped;
        return;
    }
    JvmRequest r;
    r.ts = e.who.ts_ns;
    r.tid = e.who.tid;
    r.thread = e.who.comm;
    r.op = e.op;
    r.args = e.args;
    r.arg_count = e.arg_count;
    r.layout = e.layout;
    r.op_read = e.op_read;
    r.peer_uid = e.peer_uid;
    r.peer_gid = e.peer_gid;
    it->jvm_requests.push_back(std::move(r));
}

void AttachCorrelator::on_jvm_dcmd(const JvmDcmdRecord& e) {
    for (auto c = open_.rbegin(); c != open_.rend(); ++c) {
        if (c->target_pid != e.who.pid || c->jvm_requests.empty()) continue;
        JvmRequest& r = c->jvm_requests.back();
        if (r.tid != e.who.tid || !r.dcmd.empty()) continue;
        r.dcmd_source = dcmd_source_name(e.source);
        r.dcmd = e.cmdline;
        return;
    }
}

void AttachCorrelator::on_jvm_result(const JvmResultRecord& e) {
    for (auto c = open_.rbegin(); c != open_.rend(); ++c) {
        if (c->target_pid != e.who.pid || c->jvm_requests.empty()) continue;
        JvmRequest& r = c->jvm_requests.back();
        if (r.tid != e.who.tid || r.result) continue;
        r.result = e.result;
        return;
    }
}

pid_t AttachCorrelator::attach_on_thread(pid_t target, pid_t tid, const nlohmann::json& agent) {
    for (auto c = open_.rbegin(); c != open_.rend(); ++c) {
        if (c->target_pid != target || c->jvm_requests.empty() || c->jvm_requests.back().tid != tid)
            continue;
        if (c->agents.size() < kMaxRecordAgents) c->agents.push_back(agent);
        return c->attacher;
    }
    return 0;
}

nlohmann::json AttachCorrelator::jvm_side_json(const Correlation& c) const {
    nlohmann::json reqs = nlohmann::json::array();
    for (const auto& r : c.jvm_requests) {
        nlohmann::json j = {{"time", d_.clock.format(r.ts)},
                            {"thread", r.thread},
                            {"tid", r.tid},
                            {"operation", r.op},
                            {"args", r.args},
                            {"arg_count", r.arg_count},
                            {"request_layout", r.layout == JW_LAYOUT_V2 ? "v2" : "v1"},
                            {"accepted", r.op_read},
                            {"peer_uid", r.peer_uid},
                            {"peer_gid", r.peer_gid}};
        if (!r.dcmd.empty()) j["dcmd"] = {{"source", r.dcmd_source}, {"command", r.dcmd}};
        if (r.result) j["result_code"] = *r.result;
        reqs.push_back(std::move(j));
    }
    nlohmann::json out = {{"requests", std::move(reqs)}};
    if (c.jvm_requests_dropped) out["requests_dropped"] = c.jvm_requests_dropped;
    return out;
}

void AttachCorrelator::on_exit(pid_t pid, uint64_t ts_ns) {
    for (Iter it = open_.begin(); it != open_.end();) {
        Iter next = std::next(it);
        if (it->attacher == pid && !it->closing) {
            it->attacher_exited = true;
            // Without a connect the SIGQUIT window decides (another process may connect).
            if (connected(*it)) finalize(it, "exit", ts_ns);
        }
        it = next;
    }
}

void AttachCorrelator::tick(uint64_t now) {
    std::vector<pid_t> done;
    {
        std::lock_guard<std::mutex> g(own_mu_);
        for (auto it = own_.begin(); it != own_.end();) {
            if (it->second.done_ns && now > it->second.done_ns + kOwnDoneGraceNs) {
                done.push_back(it->first);
            } else if (now > it->second.since_ns + cfg_.own_expect_ttl_ns) {
                it = own_.erase(it);
                continue;
            }
            ++it;
        }
    }
    for (pid_t target : done) {
        for (Iter it = open_.begin(); it != open_.end();) {
            Iter next = std::next(it);
            bool self = false;
            own_rule(*it, &self);
            if (self && !it->closing && it->target_pid == target && connected(*it))
                finalize(it, "own_done", now);
            it = next;
        }
        std::lock_guard<std::mutex> g(own_mu_);
        own_.erase(target);
    }
    for (Iter it = open_.begin(); it != open_.end();) {
        Iter next = std::next(it);
        if (it->closing) {
            if (!waiting(*it) || now >= it->closing_since + kMaxCloseWaitNs)
                finalize_now(it, it->close_why, it->close_ts);
        } else if (connected(*it) && d_.alive && now >= it->last_ts + kGoneCheckDelayNs &&
            !d_.alive(it->attacher, it->who.start_ticks)) {
            it->attacher_exited = true;
            finalize(it, "exit", it->last_ts);
        } else if (!connected(*it) && now >= it->first_ts + cfg_.sigquit_window_ns)
            finalize(it, "timeout", now);
        else if (connected(*it) && now >= it->last_ts + cfg_.attach_timeout_ns)
            finalize(it, "timeout", now);
        it = next;
    }
}

void AttachCorrelator::finish_all(uint64_t now) {
    while (!open_.empty()) {
        Iter it = open_.begin();
        if (it->closing) finalize_now(it, it->close_why, it->close_ts);
        else finalize_now(it, "stop", now);
    }
}

void AttachCorrelator::on_enriched(pid_t pid) {
    for (Iter it = open_.begin(); it != open_.end();) {
        Iter next = std::next(it);
        bool concerns = it->attacher == pid || it->who.ppid == pid || it->target_pid == pid;
        if (it->closing && concerns && !waiting(*it)) finalize_now(it, it->close_why, it->close_ts);
        it = next;
    }
}

bool AttachCorrelator::waiting(const Correlation& c) const {
    if (!d_.pending) return false;
    if (d_.pending(c.attacher)) return true;
    if (c.who.ppid > 0 && d_.pending(c.who.ppid)) return true;
    return c.target_unverified && c.target_pid && d_.pending(c.target_pid);
}

void AttachCorrelator::refresh_identities(Correlation& c) {
    // What enrichment learnt since the first evidence (the header fields stay).
    if (const ProcessInfo* p = d_.procs->find(c.attacher);
        p && c.who.source == ProcessInfo::Source::event && p->source != ProcessInfo::Source::event &&
        (!c.who.start_ticks || !p->start_ticks || c.who.start_ticks == p->start_ticks)) {
        c.who.exe = p->exe;
        c.who.cmdline = p->cmdline;
        c.who.start_ticks = p->start_ticks;
        if (c.who.cgroup.empty()) {
            c.who.cgroup = p->cgroup;
            c.who.container_id = p->container_id;
        }
        if (!c.who.ppid) c.who.ppid = p->ppid;
        c.who.source = p->source;
    }
    if (c.target_unverified && c.target_pid && d_.jvms->find(c.target_pid)) c.target_unverified = false;
}

void AttachCorrelator::expect_own_attach(pid_t target_pid, const std::string& rule_name) {
    uint64_t now = d_.now ? d_.now() : 0;
    std::lock_guard<std::mutex> g(own_mu_);
    if (own_.size() >= cfg_.max_own_expected && !own_.count(target_pid)) {
        ++own_expect_dropped_;
        return;
    }
    own_[target_pid] = OwnExpect{rule_name, now, 0};
}

void AttachCorrelator::own_attach_done(pid_t target_pid) {
    uint64_t now = d_.now ? d_.now() : 0;
    std::lock_guard<std::mutex> g(own_mu_);
    auto it = own_.find(target_pid);
    if (it != own_.end()) it->second.done_ns = now ? now : 1;
}

std::string AttachCorrelator::own_rule(const Correlation& c, bool* is_self) {
    *is_self = false;
    if (cfg_.self_pid == 0) return "";
    // The daemon, a helper it forked, or one forked by that helper (a setns double fork).
    pid_t p = c.attacher, parent = c.who.ppid;
    for (int depth = 0; depth < 4 && p > 1; ++depth) {
        if (p == cfg_.self_pid) { *is_self = true; break; }
        p = parent;
        const ProcessInfo* pi = d_.procs->find(p);
        parent = pi ? pi->ppid : 0;
    }
    if (!*is_self) return "";
    std::lock_guard<std::mutex> g(own_mu_);
    auto it = own_.find(c.target_pid);
    return it == own_.end() ? "" : it->second.rule;
}

nlohmann::json AttachCorrelator::attacher_json(const Correlation& c) {
    const ProcessInfo* parent = c.who.ppid > 0 ? d_.procs->find(c.who.ppid) : nullptr;
    auto j = process_json(c.who, d_.users->name(c.who.uid), parent);
    j["exited"] = c.attacher_exited;
    return j;
}

nlohmann::json AttachCorrelator::target_json(const Correlation& c) {
    nlohmann::json j;
    if (c.target_pid) {
        if (const JvmInfo* jvm = d_.jvms->find(c.target_pid)) {
            j = jvm_json(*jvm);
        } else {
            j = {{"pid", c.target_pid}, {"nspid", c.target_nspid}};
        }
    } else {
        j = {{"nspid", c.target_nspid}};
    }
    j["resolved_by"] = c.target_resolved_by.empty() ? "unresolved" : c.target_resolved_by;
    return j;
}

void AttachCorrelator::finalize(Iter it, const char* why, uint64_t end_ts) {
    if (!it->closing && waiting(*it)) {
        it->closing = true;
        it->close_why = why;
        it->close_ts = end_ts;
        it->closing_since = d_.now ? d_.now() : end_ts;
        return;
    }
    finalize_now(it, why, end_ts);
}

void AttachCorrelator::finalize_now(Iter it, const char* why, uint64_t end_ts) {
    Correlation& c = *it;
    refresh_identities(c);
    if (c.target_unverified && c.target_pid && d_.not_jvm && d_.not_jvm(c.target_pid)) {
        // The target turned out not to be a JVM.
        if (!connected(c) && !c.ev.trigger) {
            ++stats_.sigquit_not_jvm;
            open_.erase(it);
            return;
        }
        c.target_pid = 0;
        c.target_resolved_by = "unresolved";
    }
    if (c.last_ts > end_ts || std::string(why) == "timeout" || std::string(why) == "stop")
        end_ts = c.last_ts;
    bool self = false;
    std::string rule = own_rule(c, &self);
    nlohmann::json ev;
    if (!connected(c) && !c.ev.trigger && c.ev.sigquit) {
        ev = {{"type", "thread_dump_request"},
              {"sender", attacher_json(c)},
              {"target", target_json(c)},
              {"signal_time", d_.clock.format(c.first_ts)},
              {"signal_result", c.signal_result},
              {"self", self}};
        if (self && !rule.empty()) ev["rule"] = rule;
        ++stats_.thread_dump_records;
    } else {
        ev = {{"type", "attach"},
              {"attacher", attacher_json(c)},
              {"target", target_json(c)},
              {"self", self},
              {"start_time", d_.clock.format(c.first_ts)},
              {"end_time", d_.clock.format(end_ts)},
              {"duration_ms", static_cast<double>(end_ts - c.first_ts) / 1e6},
              {"evidence",
               {{"trigger", c.ev.trigger}, {"sigquit", c.ev.sigquit}, {"connect", c.ev.connect},
                {"request", c.ev.request}, {"reply", c.ev.reply}, {"close", c.ev.close},
                {"jvm_request", c.ev.jvm_request}}},
              {"finalized_by", why},
              {"connects", c.connects}};
        if (self && !rule.empty()) ev["rule"] = rule;
        ev["outcome"] = c.ev.reply ? "replied" : connected(c) ? "connected" : "no_connect";
        ev["visibility"] = c.ev.jvm_request ? "jvm" : "client";
        ev["alias"] = c.alias;
        if (c.alias) ev["alias_via"] = c.alias_via;
        ev["self_attach"] = c.self_attach;
        if (!c.socket_path.empty()) ev["socket_path"] = c.socket_path;
        if (!c.trigger_path.empty()) ev["trigger_path"] = c.trigger_path;
        if (!c.request.empty()) {
            AttachRequest r = c.request.parse();
            ev["protocol"] = r.protocol;
            if (r.protocol) {
                ev["operation"] = r.operation;
                ev["args"] = r.args;
                if (!r.options.empty()) ev["options"] = r.options;
            }
            ev["request_complete"] = r.complete && !c.request.truncated();
            if (r.protocol) ev["operation_seen_by"] = "client";
        }
        if (c.ev.jvm_request) {
            ev["jvm_side"] = jvm_side_json(c);
            // What the JVM parsed is what it ran: it wins over the client's bytes.
            const JvmRequest* last = nullptr;
            for (const auto& r : c.jvm_requests)
                if (r.op_read && (!last || !is_negotiation(r.op))) last = &r;
            if (last) {
                ev["operation"] = last->op;
                ev["args"] = last->args;
                ev["operation_seen_by"] = "jvm";
                // The JVM ran it and answered with this code (the reply's first line).
                if (last->result && !ev.contains("result_code")) {
                    ev["result_code"] = *last->result;
                    if (ev["outcome"] == "connected") ev["outcome"] = "replied";
                }
            }
        }
        if (!c.agents.empty()) ev["agents"] = c.agents;
        if (!c.reply.empty()) {
            if (auto code = c.reply.result_code(true)) ev["result_code"] = *code;
            ev["reply"] = c.reply.detail();
        }
        policy_json(c, ev);
        ++stats_.attach_records;
    }
    open_.erase(it);
    d_.sink->emit(std::move(ev));
}

// What the deny rules said (docs/events.md, `policy`): the kernel's verdict at connect,
// or, for an attach that reached a covered JVM by another name, that no rule could decide.
void AttachCorrelator::policy_json(const Correlation& c, nlohmann::json& ev) {
    auto put = [&](const char* verdict, const std::optional<policy::DenyRuleRef>& r,
                   std::optional<uint16_t> index) {
        nlohmann::json p = {{"verdict", verdict}};
        if (index) p["rule_index"] = *index;
        if (r) {
            p["rule"] = r->name;
            p["mode"] = std::string(policy::to_string(r->mode));
            p["severity"] = std::string(policy::to_string(r->severity));
        }
        ev["policy"] = std::move(p);
    };
    if (c.deny_verdict == JW_DENY_DENIED || c.deny_verdict == JW_DENY_WOULD) {
        auto r = d_.deny_rule ? d_.deny_rule(c.deny_gen, c.deny_rule) : std::nullopt;
        put(c.deny_verdict == JW_DENY_DENIED ? "denied" : "would_deny", r, c.deny_rule);
        if (c.deny_verdict == JW_DENY_DENIED && !c.ev.reply && !c.ev.jvm_request)
            ev["outcome"] = "denied";
        return;
    }
    if (c.alias && c.target_pid && d_.deny_covering)
        if (auto r = d_.deny_covering(c.target_pid)) put("unchecked", r, std::nullopt);
}

}  // namespace jvmwatch::daemon
