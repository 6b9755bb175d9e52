#include "userspace/daemon/event_processor.h"

#include "userspace/daemon/container_id.h"
#include "userspace/daemon/identity_json.h"
#include "userspace/daemon/proc_enrichment.h"

#include <thread>

namespace jvmwatch::daemon {

EventProcessor::EventProcessor(ProcessorConfig cfg, ProcessorDeps deps)
    : cfg_(std::move(cfg)),
      d_(std::move(deps)),
      cgroups_(cfg_.max_cgroups),
      users_(cfg_.max_users),
      procs_(cfg_.max_processes, &cgroups_),
      jvms_(cfg_.max_jvms),
      correlator_(cfg_.correlation,
                  AttachCorrelator::Deps{
                      &procs_, &jvms_, &users_, d_.sink, d_.clock,
                      [this](pid_t pid, bool want_jvm) {
                          request(pid, 0, want_jvm, want_jvm ? "lookup" : "process");
                      },
                      [this](pid_t pid) { return enricher_.pending(pid); },
                      [this](pid_t pid) {
                          if (enricher_.known_not_jvm(pid, 0)) return true;
                          const EnrichResult::Status* v = verdicts_.peek(pid);
                          return v && (*v == EnrichResult::Status::not_jvm ||
                                       *v == EnrichResult::Status::gone);
                      },
                      [this](pid_t pid) { track(pid); },
                      d_.now, d_.alive, d_.deny_rule, d_.deny_covering}),
      enricher_(cfg_.enrichment,
                make_proc_enrichment({cfg_.proc_root, d_.inspect, d_.read_process, d_.user_name,
                                      cfg_.artifacts, d_.evidence, d_.probe_jvm}),
                [this](EnrichResult r) { on_enriched(std::move(r)); }) {
    enricher_.start();
}

EventProcessor::~EventProcessor() { enricher_.stop(); }

void EventProcessor::stop_enrichment(std::chrono::milliseconds grace) { enricher_.stop(grace); }

bool EventProcessor::wait_enrichment_idle(std::chrono::milliseconds timeout) {
    return enricher_.wait_idle(timeout);
}

void EventProcessor::request(pid_t pid, uint64_t start_ticks, bool want_jvm, const char* purpose,
                             int milestone) {
    if (pid <= 0) return;
    EnrichJob job;
    job.pid = pid;
    job.start_ticks = start_ticks;
    job.want_jvm = want_jvm;
    job.purpose = purpose;
    job.milestone = milestone;
    auto r = enricher_.request(job);
    if (r != Enricher::Submit::dropped && r != Enricher::Submit::stopped) return;
    // Nobody will answer: a JVM waiting for it is reported with what is known.
    if (JvmInfo* j = jvms_.find(pid); j && !j->reported)
        report_start(*j, r == Enricher::Submit::dropped ? "queue_full" : "stopping");
}

bool EventProcessor::track(pid_t pid) {
    if (!d_.track) return true;
    bool ok = d_.track(pid);
    if (!ok) ++track_failed_;
    return ok;
}

std::optional<AgentInventory> EventProcessor::agents_of(pid_t pid, uint64_t start_ticks) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    const JvmInfo* j = jvms_.peek(pid);
    if (!j || (start_ticks && j->proc.start_time_ticks && j->proc.start_time_ticks != start_ticks))
        return std::nullopt;
    return AgentInventory{j->agents, j->dynamic_agents, j->visibility.level};
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
            else if constexpr (std::is_same_v<T, JvmAttachRecord>) correlator_.on_jvm_attach(e);
            else if constexpr (std::is_same_v<T, JvmAgentRecord>) on_jvm_agent(e);
            else if constexpr (std::is_same_v<T, JvmDcmdRecord>) on_jvm_dcmd(e);
            else if constexpr (std::is_same_v<T, JvmResultRecord>) correlator_.on_jvm_result(e);
        },
        r);
}

namespace {

// Fields of a jvm.start that enrichment would have filled and did not.
nlohmann::json missing_fields(const JvmInfo& j) {
    nlohmann::json m = nlohmann::json::array();
    if (!j.enriched) m.push_back("libjvm_loaded");
    if (j.proc.java_home.empty()) m.push_back("java_home");
    if (j.proc.jdk_version.empty()) m.push_back("jdk_version");
    if (j.cgroup.empty()) m.push_back("cgroup");
    if (j.proc.user.empty() || j.proc.user == std::to_string(j.proc.euid)) m.push_back("user");
    return m;
}

// What the exec record says of a JVM (everything else comes from enrichment).
JvmInfo jvm_from_exec(const ExecRecord& e, const ProcessInfo& pi, const std::string& user) {
    JvmInfo info;
    jvm::JvmProcess& q = info.proc;
    q.pid = e.who.pid;
    q.nspid = e.who.nspid;
    q.start_time_ticks = e.start_ticks;
    q.kind = jvm::Kind::hotspot;
    q.euid = e.who.uid;
    q.egid = e.who.gid;
    q.user = user;
    q.exe = e.filename;
    q.cmdline = e.args;
    q.main = jvm::main_from_cmdline(e.args);
    info.cgroup = pi.cgroup;
    info.container_id = pi.container_id;
    info.pidns = e.who.pidns;
    info.mntns = e.who.mntns;
    info.detected_by = "exec";
    info.exec_ts_ns = e.who.ts_ns;
    return info;
}

// Merges what jvm::inspect() found into what the events said.
void merge_inspected(JvmInfo& j, const jvm::JvmProcess& p) {
    jvm::JvmProcess keep = j.proc;
    j.proc = p;
    if (j.proc.exe.empty()) j.proc.exe = keep.exe;
    if (j.proc.cmdline.empty()) {
        j.proc.cmdline = keep.cmdline;
        j.proc.main = keep.main;
    }
    if (!j.proc.start_time_ticks) j.proc.start_time_ticks = keep.start_time_ticks;
    if (!j.proc.nspid) j.proc.nspid = keep.nspid;
    if (j.proc.user.empty()) j.proc.user = keep.user;
    j.enriched = true;
}

void merge_process(JvmInfo& j, const ProcessInfo& p) {
    if (j.cgroup.empty() && !p.cgroup.empty()) {
        j.cgroup = p.cgroup;
        j.container_id = p.container_id;
    }
    if (!j.pidns) j.pidns = p.pidns;
    if (!j.mntns) j.mntns = p.mntns;
}

}  // namespace

void EventProcessor::report_start(JvmInfo& j, const std::string& missing_reason) {
    if (j.reported) return;
    j.reported = true;
    ++jvm_starts_;
    bool existing = j.detected_by == "scan";
    nlohmann::json ev = {{"type", "jvm.start"},
                         {"jvm", jvm_json(j)},
                         {"detected_by", j.detected_by},
                         {"existing", existing},
                         {"libjvm_loaded", j.proc.libjvm_loaded}};
    if (j.agents) {
        ev["jvm"]["agents"] = static_agents_json(*j.agents);
        if (j.agents->dropped) ev["jvm"]["agents_dropped"] = j.agents->dropped;
    }
    if (j.exec_ts_ns) ev["exec_time"] = d_.clock.format(j.exec_ts_ns);
    ev["jvm_probes"] = {{"live", j.visibility.probes}};
    if (!j.visibility.why.empty()) ev["jvm_probes"]["why"] = j.visibility.why;
    if (!missing_reason.empty())
        ev["enrichment"] = {{"complete", false}, {"reason", missing_reason}, {"missing", missing_fields(j)}};
    d_.sink->emit(std::move(ev));
    // A JVM already gone needs no attach.
    if (missing_reason == "gone" || missing_reason == "exited") return;
    for (auto* l : listeners_) {
        l->on_jvm_started(j.proc, j.exec_ts_ns, existing);
        l->on_jvm_visibility(j.proc.pid, j.proc.start_time_ticks, j.visibility.level);
    }
}

void EventProcessor::on_enriched(EnrichResult r) {
    using S = EnrichResult::Status;
    std::lock_guard<std::recursive_mutex> g(mu_);
    if (r.job.purpose == "agent") {
        on_agent_inspected(r);
        return;
    }
    const pid_t pid = r.job.pid;
    if (r.process) procs_.apply(*r.process);
    uint64_t start = r.jvm && r.jvm->start_time_ticks ? r.jvm->start_time_ticks
                   : r.process ? r.process->start_ticks : r.job.start_ticks;
    if (!r.user.empty()) {
        if (r.jvm) users_.remember(r.jvm->euid, r.user);
        else if (r.process) users_.remember(r.process->uid, r.user);
    }
    if (r.job.want_jvm) verdicts_.put(pid, r.status);
    bool scan = r.job.purpose == "scan";
    // Counted when this answer is done with (below), so the scanner sees its JVMs.
    struct ScanDone {
        EventProcessor* p;
        bool scan;
        ~ScanDone() {
            if (!scan) return;
            std::lock_guard<std::mutex> sg(p->scan_mu_);
            if (p->scan_outstanding_) --p->scan_outstanding_;
            p->scan_cv_.notify_all();
        }
    } scan_done{this, scan};
    JvmInfo* j = jvms_.find(pid);
    if (j && start && j->proc.start_time_ticks && start != j->proc.start_time_ticks) j = nullptr;
    if (j) {
        if (r.jvm && (r.status == S::ok || r.status == S::not_jvm)) merge_inspected(*j, *r.jvm);
        if (r.agents) j->agents = std::move(r.agents);
        if (r.visibility) j->visibility = std::move(*r.visibility);
        if (r.process) merge_process(*j, *r.process);
        if (j->cgroup.empty()) {
            // The cgroup of a process in an already known cgroup.
            if (const ProcessInfo* pi = procs_.find(pid); pi && !pi->cgroup.empty()) {
                j->cgroup = pi->cgroup;
                j->container_id = pi->container_id;
            }
        }
        if (j->proc.user.empty() || j->proc.user == std::to_string(j->proc.euid))
            if (users_.known(j->proc.euid)) j->proc.user = users_.name(j->proc.euid);
        if (!j->reported) {
            bool whole = r.status == S::ok || r.status == S::not_jvm;
            std::string why = whole ? "" : to_string(r.status);
            if (r.status == S::timed_out && r.why == "queue_wait") why = "queue_wait";
            report_start(*j, why);
        }
    } else if (r.status == S::ok && r.jvm && r.jvm->kind != jvm::Kind::not_jvm &&
               (r.job.purpose == "vm_thread" || r.job.purpose == "lookup" || scan)) {
        // A JVM the daemon did not see exec (started by another launcher, or missed).
        JvmInfo info;
        info.proc = *r.jvm;
        info.enriched = true;
        info.agents = std::move(r.agents);
        if (r.visibility) info.visibility = std::move(*r.visibility);
        info.detected_by = r.job.purpose;
        if (r.process) {
            info.cgroup = r.process->cgroup;
            info.container_id = r.process->container_id;
            info.pidns = r.process->pidns;
            info.mntns = r.process->mntns;
        }
        JvmInfo& added = jvms_.put(std::move(info));
        track(pid);
        if (scan) {
            std::lock_guard<std::mutex> sg(scan_mu_);
            ++scan_found_;
        }
        report_start(added, "");
        if (r.job.milestone >= 0 && r.job.milestone < 32) {
            added.milestones |= 1u << r.job.milestone;
            for (auto* l : listeners_)
                l->on_jvm_milestone(pid, added.proc.start_time_ticks, r.job.milestone, 0);
        }
    }
    correlator_.on_enriched(pid);
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
        report_start(*old, "exited");
        JvmInfo copy = *old;
        jvms_.erase(e.who.pid);
        emit_jvm_exit(copy, nullptr);
    }
    if (!java) return;
    // A new program: whatever was concluded of the old one no longer holds.
    enricher_.forget(e.who.pid);
    verdicts_.erase(e.who.pid);
    JvmInfo& j = jvms_.put(jvm_from_exec(e, pi, users_.name(e.who.uid)));
    track(e.who.pid);   // its exit must be reported even if enrichment is slow
    (void)j;
    request(e.who.pid, e.start_ticks, true, "exec");
}

void EventProcessor::on_thread_name(const ThreadNameRecord& e) {
    JvmInfo* j = jvms_.find(e.who.pid);
    if (!j) {
        bool hotspot_name = e.milestone == JW_MS_VM_THREAD || e.milestone == JW_MS_SIGNAL_DISPATCH ||
                            e.milestone == JW_MS_ATTACH_LISTENER;
        if (!hotspot_name) return;
        // Maybe a JVM the daemon did not see exec: ask (deduplicated, and cached when
        // it is not one), and report it when the answer comes.
        const ProcessInfo* pi = procs_.find(e.who.pid);
        request(e.who.pid, pi ? pi->start_ticks : 0, true, "vm_thread", static_cast<int>(e.milestone));
        return;
    }
    if (e.milestone < 32) j->milestones |= 1u << e.milestone;
    if (e.milestone == JW_MS_VM_THREAD && !j->proc.libjvm_loaded && j->enriched)
        request(e.who.pid, j->proc.start_time_ticks, true, "libjvm");   // learn the JDK picked
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
    if (j.agents) ev["jvm"]["agents"] = static_agents_json(*j.agents);
    ev["jvm"]["dynamic_agents"] = dynamic_agents_json(j);
    if (j.dynamic_agents_dropped) ev["jvm"]["dynamic_agents_dropped"] = j.dynamic_agents_dropped;
    d_.sink->emit(std::move(ev));
    for (auto* l : listeners_) l->on_jvm_exited(j.proc.pid, j.proc.start_time_ticks);
}

// "<jar>[=<options>]" as libinstrument splits it: at the first '='.
std::pair<std::string, std::string> split_agent_options(const std::string& s) {
    size_t eq = s.find('=');
    if (eq == std::string::npos) return {s, ""};
    return {s.substr(0, eq), s.substr(eq + 1)};
}

void EventProcessor::on_jvm_agent(const JvmAgentRecord& e) {
    const pid_t pid = e.who.pid;
    JvmInfo* j = jvms_.find(pid);
    DynamicAgent a;
    a.ts_ns = e.who.ts_ns;
    a.tid = e.who.tid;
    bool java = e.via == JW_AGENT_VIA_ON_ATTACH || (e.agent == "instrument" && e.absolute != 1);
    if (java) {
        a.kind = "java";
        auto [path, options] = split_agent_options(e.options);
        a.path = path;
        a.options = options;
    } else {
        a.kind = e.absolute == 0 ? "lib" : "native";
        a.path = e.agent;
        a.options = e.options;
    }
    // libinstrument's Agent_OnAttach repeats, on the same thread, the jar the JVM was
    // just asked to load: one load.  Alone it is a call into libinstrument from inside.
    if (e.via == JW_AGENT_VIA_ON_ATTACH && j && !j->dynamic_agents.empty()) {
        const DynamicAgent& last = j->dynamic_agents.back();
        if (last.tid == a.tid && last.kind == "java" && last.path == a.path &&
            a.ts_ns - last.ts_ns < 10'000'000'000ull)
            return;
    }
    ++agent_loads_;
    nlohmann::json brief = {{"kind", a.kind}, {"path", a.path}, {"options", a.options}};
    a.attacher = correlator_.attach_on_thread(pid, a.tid, brief);
    if (a.attacher) a.origin = "attach";
    else if (j && j->last_dcmd_tid == a.tid) a.origin = dcmd_source_name(j->last_dcmd_source);
    else a.origin = "in_process";

    nlohmann::json ev = {{"type", "agent.load"},
                         {"time", d_.clock.format(e.who.ts_ns)},
                         {"jvm", j ? jvm_json(*j) : nlohmann::json{{"pid", pid}}},
                         {"agent", brief},
                         {"via", agent_via_name(e.via)},
                         {"thread", e.who.comm},
                         {"origin", a.origin}};
    if (a.attacher) ev["attacher_pid"] = a.attacher;
    if (a.origin == "jmx" || a.origin == "internal") ev["dcmd"] = j->last_dcmd;
    if (j) {
        ev["first_dynamic_agent"] = j->dynamic_agents.empty() && !j->dynamic_agents_dropped;
        if (j->dynamic_agents.size() < kMaxDynamicAgents) j->dynamic_agents.push_back(a);
        else ++j->dynamic_agents_dropped;
    }
    if (a.kind == "lib" || a.path.empty()) {   // a library name: no file to look at
        d_.sink->emit(std::move(ev));
        return;
    }
    // The file's facts come from a worker; the event waits for them (bounded).
    EnrichJob job;
    job.pid = pid;
    job.start_ticks = j ? j->proc.start_time_ticks : 0;
    job.purpose = "agent";
    job.agent_path = a.path;
    job.agent_kind = a.kind;
    auto sub = pending_agents_.size() < kMaxPendingAgents ? enricher_.request(job)
                                                          : Enricher::Submit::dropped;
    if (sub == Enricher::Submit::queued || sub == Enricher::Submit::duplicate) {
        pending_agents_.push_back({pid, a.path, std::move(ev)});
        return;
    }
    ++agent_loads_uninspected_;
    ev["artifact"] = {{"why", "not inspected: enrichment queue full"}};
    d_.sink->emit(std::move(ev));
}

void EventProcessor::on_agent_inspected(const EnrichResult& r) {
    nlohmann::json artifact;
    if (r.agent) {
        StaticAgents one;
        one.agents.push_back(*r.agent);
        artifact = static_agents_json(one).at(0);
    } else {
        artifact = {{"why", r.why.empty() ? to_string(r.status) : r.why}};
    }
    JvmInfo* j = jvms_.find(r.job.pid);
    for (auto it = pending_agents_.begin(); it != pending_agents_.end();) {
        if (it->pid != r.job.pid || it->path != r.job.agent_path) {
            ++it;
            continue;
        }
        it->event["artifact"] = artifact;
        if (j && r.agent)
            for (auto& a : j->dynamic_agents)
                if (a.path == it->path && a.sha256.empty() && r.agent->file) a.sha256 = r.agent->file->sha256;
        d_.sink->emit(std::move(it->event));
        it = pending_agents_.erase(it);
    }
}

void EventProcessor::on_jvm_dcmd(const JvmDcmdRecord& e) {
    ++dcmds_;
    if (e.source == JW_DCMD_ATTACH) {   // part of an attach: its record says it
        correlator_.on_jvm_dcmd(e);
        return;
    }
    // Starting the JMX agent runs `help <command>` for the DiagnosticCommand MBean's
    // metadata: bookkeeping that reads nothing and changes nothing (counted, not sent).
    if (e.cmdline == "help" || e.cmdline.rfind("help ", 0) == 0) return;
    JvmInfo* j = jvms_.find(e.who.pid);
    if (j) {
        j->last_dcmd_tid = e.who.tid;
        j->last_dcmd_source = e.source;
        j->last_dcmd = e.cmdline;
    }
    d_.sink->emit({{"type", "jvm.dcmd"},
                   {"time", d_.clock.format(e.who.ts_ns)},
                   {"jvm", j ? jvm_json(*j) : nlohmann::json{{"pid", e.who.pid}}},
                   {"source", dcmd_source_name(e.source)},
                   {"command", e.cmdline},
                   {"thread", e.who.comm}});
}

void EventProcessor::on_exit(const ExitRecord& e) {
    procs_.mark_exited(e.who.pid);
    correlator_.on_exit(e.who.pid, e.who.ts_ns);
    if (JvmInfo* j = jvms_.find(e.who.pid)) {
        // A pid reused by a newer process is not this JVM.
        if (j->proc.start_time_ticks && e.start_ticks && j->proc.start_time_ticks != e.start_ticks) return;
        report_start(*j, "exited");   // jvm.start always precedes jvm.exit
        JvmInfo copy = *j;
        jvms_.erase(e.who.pid);
        emit_jvm_exit(copy, &e);
    }
    if (d_.untrack) d_.untrack(e.who.pid);
}

size_t EventProcessor::scan_running(const std::vector<pid_t>& pids,
                                    std::chrono::milliseconds max_wait) {
    auto deadline = std::chrono::steady_clock::now() + max_wait;
    for (pid_t pid : pids) {
        EnrichJob job;
        job.pid = pid;
        job.want_jvm = true;
        job.purpose = "scan";
        for (;;) {
            {
                std::lock_guard<std::recursive_mutex> g(mu_);
                if (jvms_.find(pid)) break;   // the events reported it already
                auto r = enricher_.request(job);
                if (r == Enricher::Submit::queued) {
                    std::lock_guard<std::mutex> sg(scan_mu_);
                    ++scan_outstanding_;
                }
                if (r != Enricher::Submit::dropped) break;
            }
            // The queue is full: this thread (not the event path) may wait its turn.
            if (std::chrono::steady_clock::now() >= deadline) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    std::unique_lock<std::mutex> sl(scan_mu_);
    scan_cv_.wait_until(sl, deadline, [&] { return scan_outstanding_ == 0; });
    return scan_found_;
}

void EventProcessor::tick(uint64_t now_ns) {
    std::vector<std::pair<pid_t, uint64_t>> candidates;
    {
        std::lock_guard<std::recursive_mutex> g(mu_);
        correlator_.tick(now_ns);
        // A JVM whose exit the kernel could not report (its tracked map was full) would
        // stay in the table for good: look for vanished JVMs now and then.
        constexpr uint64_t kSweepNs = 5'000'000'000;
        if (!d_.alive || now_ns < last_sweep_ns_ + kSweepNs) return;
        last_sweep_ns_ = now_ns;
        for (pid_t pid : jvms_.pids())
            if (const JvmInfo* j = jvms_.peek(pid)) candidates.emplace_back(pid, j->proc.start_time_ticks);
    }
    // Checked without the lock: the event thread never waits for /proc.
    std::vector<std::pair<pid_t, uint64_t>> vanished;
    for (auto& c : candidates)
        if (!d_.alive(c.first, c.second)) vanished.push_back(c);
    std::lock_guard<std::recursive_mutex> g(mu_);
    for (auto& [pid, start] : vanished) {
        JvmInfo* j = jvms_.find(pid);
        if (!j || j->proc.start_time_ticks != start) continue;
        report_start(*j, "exited");
        JvmInfo copy = *j;
        jvms_.erase(pid);
        ++jvm_exits_unreported_;
        emit_jvm_exit(copy, nullptr);
    }
}

void EventProcessor::finish(uint64_t now_ns) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    correlator_.finish_all(now_ns);
    for (pid_t pid : jvms_.pids())
        if (JvmInfo* j = jvms_.find(pid); j && !j->reported) report_start(*j, "stopping");
}

nlohmann::json EventProcessor::stats_event(const KernelCounters& k, uint64_t sink_dropped,
                                           bool final, double uptime_s, uint64_t sink_write_lost) {
    std::lock_guard<std::recursive_mutex> g(mu_);
    const auto& cs = correlator_.stats();
    EnrichStats es = enricher_.stats();
    static const char* kTypeNames[] = {"exec",      "exit",       "thread_name", "sigquit",
                                       "connect",   "trigger",    "sock_data",   "sock_close",
                                       "identity",  "jvm_attach", "jvm_agent",   "jvm_dcmd",
                                       "jvm_result"};
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
                           {"jvm_exits_found_by_sweep", jvm_exits_unreported_},
                           {"jvm_requests", cs.jvm_requests},
                           {"alias_attaches", cs.alias_attaches},
                           {"self_attaches", cs.self_attaches},
                           {"jvm_requests_unknown_peer", cs.jvm_requests_unknown_peer},
                           {"agent_loads", agent_loads_},
                           {"agent_loads_uninspected", agent_loads_uninspected_},
                           {"dcmds", dcmds_}};
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
                        {"deep_map_full", k.deep_map_full},
                        {"jvm_pending_miss", k.jvm_pending_miss}}},
            {"userspace", user},
            {"drops", {{"ringbuf", k.ringbuf_drops},
                       {"malformed", k.malformed + malformed_},
                       {"sink_queue", sink_dropped},
                       {"sink_write", sink_write_lost},
                       {"own_expect", correlator_.own_expect_dropped()},
                       {"enrichment_queue", es.dropped},
                       {"jvm_requests", k.jvm_pending_miss}}},
            {"enrichment", {{"queued", es.queued}, {"done", es.done}, {"failed", es.failed},
                            {"timed_out", es.timed_out}, {"dropped", es.dropped},
                            {"deduplicated", es.deduplicated},
                            {"abandoned_workers", es.abandoned_workers},
                            {"late_results_discarded", es.late_results_discarded},
                            {"negative_cache_hits", es.negative_hits},
                            {"workers", es.workers}, {"queue", es.queue}}},
            {"evictions", {{"processes", procs_.evictions()}, {"jvms", jvms_.evictions()},
                           {"correlations", cs.evicted}, {"cgroups", cgroups_.evictions()}}},
            {"tables", {{"processes", procs_.size()}, {"jvms", jvms_.size()},
                        {"open_correlations", correlator_.open_count()}}}};
}

}  // namespace jvmwatch::daemon
