#include "userspace/daemon/event_processor.h"

#include "userspace/daemon/container_id.h"
#include "userspace/daemon/identity_json.h"

namespace jvmwatch::daemon {

EventProcessor::EventProcessor(ProcessorConfig cfg, ProcessorDeps deps)
    : cfg_(std::move(cfg)),
      d_(std::move(deps)),
      cgroups_(cfg_.proc_root, cfg_.max_cgroups),
      users_(cfg_.max_users),
      procs_(cfg_.proc_root, cfg_.max_processes, &cgroups_),
      jvms_(cfg_.max_jvms),
      correlator_(cfg_.correlation,
                  AttachCorrelator::Deps{
                      &procs_, &jvms_, &users_, d_.sink, d_.clock,
                      [this](pid_t pid) { return jvm_at(pid, "lookup", 0); },
                      [this](pid_t pid) { track(pid); },
                      d_.now, d_.alive}) {}

bool EventProcessor::track(pid_t pid) {
    if (!d_.track) return true;
    bool ok = d_.track(pid);
    if (!ok) ++track_failed_;
    return ok;
}

void EventProcessor::add_listener(JvmListener* l) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    listeners_.push_back(l);
}

void EventProcessor::handle(const void* data, size_t size) {
    DecodeError err;
    auto r = decode_event(data, size, &err);
    if (!r) {
        std::lock_guard<std::recursive_mutex> g(mu_);
        ++malformed_;
        return;
    }
    handle(*r);
}

void EventProcessor::handle(const Record& r) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    ++decoded_;
    ++by_type_[r.index()];
    std::visit(
        [this](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, ExecRecord>) on_exec(e);
            else if constexpr (std::is_same_v<T, ExitRecord>) on_exit(e);
            else if constexpr (std::is_same_v<T, ThreadNameRecord>) on_thread_name(e);
            else if constexpr (std::is_same_v<T, SigquitRecord>) correlator_.on_sigquit(e);
            else if constexpr (std::is_same_v<T, ConnectRecord>) correlator_.on_connect(e);
            else if constexpr (std::is_same_v<T, TriggerRecord>) correlator_.on_trigger(e);
            else if constexpr (std::is_same_v<T, SockDataRecord>) correlator_.on_sock_data(e);
            else if constexpr (std::is_same_v<T, SockCloseRecord>) correlator_.on_close(e);
            else if constexpr (std::is_same_v<T, IdentityRecord>) procs_.on_identity(e);
        },
        r);
}

JvmInfo* EventProcessor::add_jvm(const jvm::JvmProcess& p, const char* detected_by,
                                 uint64_t exec_ts, uint64_t cgroup_id, uint32_t pidns,
                                 uint32_t mntns, bool existing) {
    JvmInfo info;
    info.proc = p;
    info.cgroup = cgroups_.resolve(cgroup_id, p.pid);
    info.container_id = container_id_from_cgroup(info.cgroup);
    info.pidns = pidns;
    info.mntns = mntns;
    if (!info.pidns)
        if (auto ns = proc::read_ns_inode(cfg_.proc_root, p.pid, "pid")) info.pidns = static_cast<uint32_t>(*ns);
    if (!info.mntns)
        if (auto ns = proc::read_ns_inode(cfg_.proc_root, p.pid, "mnt")) info.mntns = static_cast<uint32_t>(*ns);
    info.detected_by = detected_by;
    info.exec_ts_ns = exec_ts;
    JvmInfo& j = jvms_.put(std::move(info));
    ++jvm_starts_;
    track(p.pid);
    nlohmann::json ev = {{"type", "jvm.start"},
                         {"jvm", jvm_json(j)},
                         {"detected_by", detected_by},
                         {"existing", existing},
                         {"libjvm_loaded", p.libjvm_loaded}};
    if (exec_ts) ev["exec_time"] = d_.clock.format(exec_ts);
    d_.sink->emit(std::move(ev));
    for (auto* l : listeners_) l->on_jvm_started(j.proc, exec_ts, existing);
    return &j;
}

const JvmInfo* EventProcessor::jvm_at(pid_t pid, const char* detected_by, uint64_t ts) {
    if (pid <= 0) return nullptr;
    if (JvmInfo* j = jvms_.find(pid)) return j;
    auto p = d_.inspect ? d_.inspect(pid) : std::nullopt;
    if (!p || p->kind == jvm::Kind::not_jvm) return nullptr;
    const ProcessInfo* pi = procs_.find(pid);
    (void)ts;
    return add_jvm(*p, detected_by, 0, pi ? pi->cgroup_id : 0, pi ? pi->pidns : 0,
                   pi ? pi->mntns : 0, false);
}

void EventProcessor::on_exec(const ExecRecord& e) {
    const ProcessInfo& pi = procs_.on_exec(e);
    bool java = is_java_launcher(e.filename);
    if (JvmInfo* old = jvms_.find(e.who.pid)) {
        if (java) {
            // The launcher re-exec'd itself (same process): still the same JVM starting.
            old->proc.exe = e.filename;
            old->proc.cmdline = e.args;
            old->proc.main = jvm::main_from_cmdline(e.args);
            return;
        }
        // The JVM's process image was replaced by another program: that JVM is gone.
        JvmInfo copy = *old;
        jvms_.erase(e.who.pid);
        emit_jvm_exit(copy, nullptr);
    }
    if (!java) return;
    std::optional<jvm::JvmProcess> p = d_.inspect ? d_.inspect(e.who.pid) : std::nullopt;
    if (!p) {
        // Gone already (or unreadable): what the exec event says.
        jvm::JvmProcess q;
        q.pid = e.who.pid;
        q.nspid = e.who.nspid;
        q.start_time_ticks = e.start_ticks;
        q.kind = jvm::Kind::hotspot;
        q.euid = e.who.uid;
        q.egid = e.who.gid;
        q.user = users_.name(e.who.uid);
        q.exe = e.filename;
        q.cmdline = e.args;
        q.main = jvm::main_from_cmdline(e.args);
        p = std::move(q);
    }
    if (p->start_time_ticks == 0) p->start_time_ticks = e.start_ticks;
    add_jvm(*p, "exec", e.who.ts_ns, pi.cgroup_id, e.who.pidns, e.who.mntns, false);
}

void EventProcessor::on_thread_name(const ThreadNameRecord& e) {
    JvmInfo* j = jvms_.find(e.who.pid);
    if (!j) {
        bool hotspot_name = e.milestone == JW_MS_VM_THREAD || e.milestone == JW_MS_SIGNAL_DISPATCH ||
                            e.milestone == JW_MS_ATTACH_LISTENER;
        if (!hotspot_name) return;
        procs_.ensure(e.who);
        if (!jvm_at(e.who.pid, "vm_thread", e.who.ts_ns)) return;
        j = jvms_.find(e.who.pid);
        if (!j) return;
    }
    if (e.milestone < 32) j->milestones |= 1u << e.milestone;
    if (e.milestone == JW_MS_VM_THREAD && !j->proc.libjvm_loaded) {
        // libjvm is mapped now: learn the JDK the launcher picked.
        if (auto p = d_.inspect ? d_.inspect(e.who.pid) : std::nullopt; p && p->kind != jvm::Kind::not_jvm)
            j->proc = *p;
    }
    for (auto* l : listeners_)
        l->on_jvm_milestone(e.who.pid, j->proc.start_time_ticks, static_cast<int>(e.milestone), e.who.ts_ns);
}

void EventProcessor::emit_jvm_exit(const JvmInfo& j, const ExitRecord* e) {
    ++jvm_exits_;
    nlohmann::json ev = {{"type", "jvm.exit"}, {"jvm", jvm_json(j)}};
    uint64_t ts = e ? e->who.ts_ns : (d_.now ? d_.now() : 0);
    ev["exit_time"] = d_.clock.format(ts);
    if (e) {
        uint32_t st = e->exit_code;
        if ((st & 0x7f) == 0) ev["exit_code"] = static_cast<int>((st >> 8) & 0xff);
        else ev["signal"] = static_cast<int>(st & 0x7f);
    }
    if (j.exec_ts_ns && ts >= j.exec_ts_ns) ev["lifetime_ms"] = static_cast<double>(ts - j.exec_ts_ns) / 1e6;
    d_.sink->emit(std::move(ev));
    for (auto* l : listeners_) l->on_jvm_exited(j.proc.pid, j.proc.start_time_ticks);
}

void EventProcessor::on_exit(const ExitRecord& e) {
    procs_.mark_exited(e.who.pid);
    correlator_.on_exit(e.who.pid, e.who.ts_ns);
    if (JvmInfo* j = jvms_.find(e.who.pid)) {
        // A pid reused by a newer process is not this JVM.
        if (j->proc.start_time_ticks && e.start_ticks && j->proc.start_time_ticks != e.start_ticks) return;
        JvmInfo copy = *j;
        jvms_.erase(e.who.pid);
        emit_jvm_exit(copy, &e);
    }
    if (d_.untrack) d_.untrack(e.who.pid);
}

size_t EventProcessor::adopt_running(const std::vector<jvm::JvmProcess>& jvms) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    size_t n = 0;
    for (const auto& p : jvms) {
        if (jvms_.find(p.pid)) continue;
        add_jvm(p, "scan", 0, 0, 0, 0, true);
        ++n;
    }
    return n;
}

void EventProcessor::tick(uint64_t now_ns) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    correlator_.tick(now_ns);
    // A JVM whose exit the kernel could not report (its tracked map was full) would stay
    // in the table for good: look for vanished JVMs now and then.
    constexpr uint64_t kSweepNs = 5'000'000'000;
    if (d_.alive && now_ns >= last_sweep_ns_ + kSweepNs) {
        last_sweep_ns_ = now_ns;
        for (pid_t pid : jvms_.pids()) {
            const JvmInfo* j = jvms_.peek(pid);
            if (!j || d_.alive(pid, j->proc.start_time_ticks)) continue;
            JvmInfo copy = *j;
            jvms_.erase(pid);
            ++jvm_exits_unreported_;
            emit_jvm_exit(copy, nullptr);
        }
    }
}

void EventProcessor::finish(uint64_t now_ns) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    correlator_.finish_all(now_ns);
}

nlohmann::json EventProcessor::stats_event(const KernelCounters& k, uint64_t sink_dropped,
                                           bool final, double uptime_s, uint64_t sink_write_lost) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    const auto& cs = correlator_.stats();
    static const char* kTypeNames[] = {"exec", "exit", "thread_name", "sigquit", "connect",
                                       "trigger", "sock_data", "sock_close", "identity"};
    nlohmann::json user = {{"decoded", decoded_},
                           {"malformed", malformed_},
                           {"jvm_starts", jvm_starts_},
                           {"jvm_exits", jvm_exits_},
                           {"attach_records", cs.attach_records},
                           {"thread_dump_records", cs.thread_dump_records},
                           {"sigquit_not_jvm", cs.sigquit_not_jvm},
                           {"orphan_socket_events", cs.orphan_socket_events},
                           {"proc_reads", procs_.proc_reads()},
                           {"track_failed", track_failed_},
                           {"jvm_exits_found_by_sweep", jvm_exits_unreported_}};
    for (size_t i = 0; i < std::size(kTypeNames); ++i)
        user[std::string("events_") + kTypeNames[i]] = by_type_[i];
    return {{"type", "stats"},
            {"final", final},
            {"uptime_s", uptime_s},
            {"kernel", {{"events", k.events}, {"ringbuf_drops", k.ringbuf_drops},
                        {"tracked_full", k.tracked_full}, {"received", k.received},
                        {"malformed", k.malformed}, {"execs", k.execs},
                        {"identity_sent", k.identity_sent}, {"identity_full", k.identity_full},
                        {"identity_miss", k.identity_miss},
                        {"milestone_repeats", k.milestone_repeats},
                        {"milestone_full", k.milestone_full},
                        {"deep_map_full", k.deep_map_full}}},
            {"userspace", user},
            {"drops", {{"ringbuf", k.ringbuf_drops},
                       {"malformed", k.malformed + malformed_},
                       {"sink_queue", sink_dropped},
                       {"sink_write", sink_write_lost},
                       {"own_expect", correlator_.own_expect_dropped()}}},
            {"evictions", {{"processes", procs_.evictions()}, {"jvms", jvms_.evictions()},
                           {"correlations", cs.evicted}, {"cgroups", cgroups_.evictions()}}},
            {"tables", {{"processes", procs_.size()}, {"jvms", jvms_.size()},
                        {"open_correlations", correlator_.open_count()}}}};
}

}  // namespace jvmwatch::daemon
