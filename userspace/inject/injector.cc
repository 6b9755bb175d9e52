#include "userspace/inject/injector.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "attach/procfs.h"
#include "jvmwatch/events.h"
#include "userspace/inject/agent_checks.h"
#include "userspace/inject/agent_probe.h"
#include "userspace/inject/agent_stager.h"
#include "userspace/policy/rule_matcher.h"

namespace jvmwatch::inject {

using nlohmann::json;
using Clock = TimedQueue::Clock;

namespace {
// How long an attach may wait for the rate limit before it is given up (skipped).
constexpr auto kMaxRateWait = std::chrono::seconds(30);
// After a crash, an "in_progress" attach of the previous daemon may still be completing
// in the JVM: confirm only once its timeout (plus this) has passed.
constexpr int64_t kInProgressGraceMs = 2000;

uint64_t mono_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int milestone_code(policy::Milestone m) {
    switch (m) {
        case policy::Milestone::signal_dispatch: return JW_MS_SIGNAL_DISPATCH;
        case policy::Milestone::attach_listener: return JW_MS_ATTACH_LISTENER;
        case policy::Milestone::main: return JW_MS_MAIN;
    }
    return JW_MS_SIGNAL_DISPATCH;
}

const char* milestone_thread(int code) {
    switch (code) {
        case JW_MS_SIGNAL_DISPATCH: return "Signal Dispatch";
        case JW_MS_ATTACH_LISTENER: return "Attach Listener";
        case JW_MS_MAIN: return "main";
    }
    return nullptr;
}

// Outcomes after which another try can help; the others are final (a retry after
// agent_error would run the agent twice).  jvm_error: e.g. a load that raced the end of
// VM initialisation ("-1 java.lang.NullPointerException"): the agent did not run.
bool retryable(attach::Outcome o) {
    using O = attach::Outcome;
    return o == O::timed_out || o == O::protocol_error || o == O::system_error ||
           o == O::unsafe_target || o == O::jvm_error;
}

// Measured on JDK 17: a `load` served between "Signal Dispatch" and the end of VM
// initialisation (initPhase3: no system class loader yet) fails with a
// NullPointerException in about half the starts; once the "VM Periodic Task Thread"
// (started at the end of Threads::create_vm) exists, it succeeds: see
// InjectorDeps::vm_initialized_thread.
// If that thread never shows up (another JVM build), attach anyway after this long.
constexpr auto kMaxInitWait = std::chrono::milliseconds(2000);
// A timer in case no further thread event arrives while in init_wait.
constexpr auto kInitRecheck = std::chrono::milliseconds(250);

// Outcomes where the JVM may have loaded the agent although we saw no success.
bool maybe_loaded(attach::Outcome o) {
    using O = attach::Outcome;
    return o == O::timed_out || o == O::protocol_error || o == O::system_error;
}
}  // namespace

std::unique_ptr<Injector> Injector::create(std::shared_ptr<const policy::Policy> policy,
                                           InjectorDeps deps, std::string* error) {
    if (!deps.sink) { *error = "injector: no event sink"; return nullptr; }
    if (!policy) { *error = "injector: no policy"; return nullptr; }
    auto store = StateStore::open(policy->state_dir, deps.proc_root, error);
    if (!store) return nullptr;
    auto agents = AgentStore::open(policy->state_dir, geteuid(), error);
    if (!agents) return nullptr;
    if (!deps.attach) deps.attach = [](pid_t p, const attach::Request& r, const attach::Options& o) {
        return attach::run(p, r, o);
    };
    return std::unique_ptr<Injector>(
        new Injector(std::move(policy), std::move(deps), std::move(store), std::move(agents)));
}

Injector::Injector(std::shared_ptr<const policy::Policy> policy, InjectorDeps deps,
                   std::unique_ptr<StateStore> store, std::unique_ptr<AgentStore> agents)
    : deps_(std::move(deps)),
      store_(std::move(store)),
      agents_(std::move(agents)),
      policy_(policy),
      limiter_(policy->rate_limit),
      decider_(1, deps_.queue_capacity),
      workers_(policy->max_in_flight, deps_.queue_capacity) {
    stats_.journal_lines_skipped = store_->skipped_lines();
}

Injector::~Injector() { shutdown(); }

void Injector::shutdown() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (shut_down_) return;
        shut_down_ = true;
    }
    stopping_ = true;
    decider_.stop();
    workers_.stop();
    store_->close_cleanly();
}

std::string Injector::set_policy(std::shared_ptr<const policy::Policy> p) {
    std::string note;
    std::lock_guard<std::mutex> lock(mu_);
    if (p->max_in_flight != policy_->max_in_flight)
        note += "max_in_flight change applies at the next start; ";
    if (p->state_dir != policy_->state_dir) note += "state_dir change applies at the next start; ";
    limiter_.set_rate(p->rate_limit);
    policy_ = std::move(p);
    if (!note.empty()) note.resize(note.size() - 2);
    return note;
}

std::shared_ptr<const policy::Policy> Injector::policy() const {
    std::lock_guard<std::mutex> lock(mu_);
    return policy_;
}

InjectorStats Injector::stats() const {
    std::lock_guard<std::mutex> lock(stats_mu_);
    return stats_;
}

void Injector::emit(json ev) {
    // docs/events.schema.json: every inject.* event names the JVM's host pid at the top.
    if (ev.contains("jvm")) ev["pid"] = ev["jvm"]["pid"];
    deps_.sink->emit(std::move(ev));
}

void Injector::skipped(const jvm::JvmProcess& j, const policy::Rule* r, SkipReason why,
                       const std::string& detail) {
    {
        std::lock_guard<std::mutex> lock(stats_mu_);
        ++stats_.skipped;
        if (why == SkipReason::overloaded) ++stats_.dropped;
    }
    json ev{{"type", "inject.skipped"}, {"reason", std::string(to_string(why))},
            {"jvm", jvm_summary(j)}};
    ev["rule"] = r ? json(r->name) : json(nullptr);
    if (!detail.empty()) ev["detail"] = detail;
    if (why == SkipReason::dry_run && r) ev["agent"] = agent_summary(r->agent);
    emit(std::move(ev));
}

Injector::Tracked* Injector::find(const JvmKey& k) {
    auto it = table_.find(k.pid);
    if (it == table_.end() || it->second.key.start_ticks != k.start_ticks) return nullptr;
    return &it->second;
}

Injector::Tracked* Injector::track(const JvmKey& k) {
    auto it = table_.find(k.pid);
    if (it != table_.end()) {
        if (it->second.key.start_ticks == k.start_ticks) return &it->second;
        it->second = Tracked{};  // pid reuse: the old JVM's exit was missed
        it->second.key = k;
        return &it->second;
    }
    if (table_.size() >= deps_.max_tracked) {
        // Full: exits we were not told about leave entries behind.  Sweeping them reads
        // /proc once per entry, on the event thread, but only when the table is full.
        for (auto i = table_.begin(); i != table_.end();) {
            auto st = proc::read_stat(deps_.proc_root, i->first);
            bool gone = !st || st->start_time_ticks != i->second.key.start_ticks;
            bool busy = i->second.phase == Phase::attaching;
            i = gone && !busy ? table_.erase(i) : std::next(i);
        }
        if (table_.size() >= deps_.max_tracked) return nullptr;
    }
    auto& t = table_[k.pid];
    t.key = k;
    return &t;
}

void Injector::on_jvm_started(const jvm::JvmProcess& jvm, uint64_t exec_ts_ns, bool existing) {
    if (stopping_) return;
    JvmKey k{jvm.pid, jvm.start_time_ticks};
    std::unique_lock<std::mutex> lock(mu_);
    Tracked* t = track(k);
    if (!t) {
        lock.unlock();
        skipped(jvm, nullptr, SkipReason::overloaded, "too many JVMs tracked");
        return;
    }
    if (t->phase == Phase::finished) return;
    t->jvm = jvm;  // a later report (libjvm now loaded) refreshes what we know
    if (exec_ts_ns) t->exec_ts_ns = exec_ts_ns;
    t->existing = existing;
    if (t->phase != Phase::unknown) return;
    t->phase = Phase::deciding;
    if (!decider_.post([this, k] { decide(k); })) {
        t->phase = Phase::finished;
        lock.unlock();
        skipped(jvm, nullptr, SkipReason::overloaded, "decision queue full");
    }
}

void Injector::on_jvm_milestone(pid_t pid, uint64_t start_time_ticks, int milestone, uint64_t) {
    if (stopping_ || milestone <= 0 || milestone >= 8) return;
    std::lock_guard<std::mutex> lock(mu_);
    // Events are ordered per CPU only: a milestone may arrive before the start.
    Tracked* t = track({pid, start_time_ticks});
    if (!t) return;  // table full: on_jvm_started reports it
    t->milestones[milestone] = true;
    if (t->phase == Phase::init_wait) {
        // Any new JVM thread may be the one that marks the end of VM initialisation.
        t->phase = Phase::scheduled;
        JvmKey k = t->key;
        if (!workers_.post([this, k] { attach_job(k); })) t->phase = Phase::init_wait;
        return;
    }
    maybe_schedule(*t);
}

void Injector::on_jvm_exited(pid_t pid, uint64_t start_time_ticks) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = table_.find(pid);
        // A running attach notices the exit itself (target_exited).
        if (it != table_.end() && it->second.key.start_ticks == start_time_ticks) table_.erase(it);
    }
    store_->forget({pid, start_time_ticks});
    if (!stopping_) decider_.post([this] { store_->maybe_compact(); });
}

void Injector::finish(const JvmKey& k) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Tracked* t = find(k)) {
        // Kept (small) until the exit, so repeated reports of this JVM change nothing.
        t->phase = Phase::finished;
        t->jvm.reset();
        t->policy.reset();
        t->rule = nullptr;
    }
}

bool Injector::confirm_loaded(const jvm::JvmProcess& j, const policy::Rule& r,
                              const std::optional<StateEntry>& persisted,
                              std::string* host_path) {
    std::vector<std::string> candidates;
    if (persisted && !persisted->host_path.empty()) candidates.push_back(persisted->host_path);
    const std::string& hash = r.agent.content_sha256;
    if (in_other_mount_ns(deps_.proc_root, j.pid)) {
        if (!hash.empty())
            candidates.push_back(deps_.proc_root + "/" + std::to_string(j.pid) + "/root/tmp/" +
                                 staged_name(hash, r.agent.kind));
    } else {
        if (!hash.empty()) candidates.push_back(agents_->path_for(hash, r.agent.kind));
        candidates.push_back(r.agent.path);  // loaded by a daemon before the store
    }
    for (const auto& c : candidates) {
        if (agent_loaded(deps_.proc_root, j.pid, c)) {
            *host_path = c;
            return true;
        }
    }
    return false;
}

void Injector::decide(JvmKey k, bool again) {
    if (stopping_) return;
    std::optional<jvm::JvmProcess> jvm;
    std::shared_ptr<const policy::Policy> pol;
    bool existing = false;
    {
        std::lock_guard<std::mutex> lock(mu_);
        Tracked* t = find(k);
        if (!t || !t->jvm) return;
        jvm = t->jvm;
        existing = t->existing;
        pol = t->policy ? t->policy : policy_;
    }
    policy::Subject subject(*jvm, deps_.proc_root);
    auto d = policy::decide(*pol, subject);
    if (!d.rule) { finish(k); return; }
    const policy::Rule& rule = *d.rule;
    if (d.excluded) { skipped(*jvm, &rule, SkipReason::excluded); finish(k); return; }
    if (!again) {
        {
            std::lock_guard<std::mutex> lock(stats_mu_);
            ++stats_.matched;
        }
        emit({{"type", "inject.matched"}, {"rule", rule.name}, {"jvm", jvm_summary(*jvm)},
              {"agent", agent_summary(rule.agent)}, {"existing", existing},
              {"dry_run", pol->dry_run}});
    }

    auto finish_skipped = [&](SkipReason why, const std::string& detail = "") {
        skipped(*jvm, &rule, why, detail);
        finish(k);
    };
    if (jvm->kind == jvm::Kind::openj9) return finish_skipped(SkipReason::not_hotspot, "OpenJ9");
    if (jvm->flags.disable_attach_mechanism)
        return finish_skipped(SkipReason::attach_disabled, "-XX:+DisableAttachMechanism");
    if (jvm->flags.enable_dynamic_agent_loading == false)
        return finish_skipped(SkipReason::dynamic_loading_disabled, "-XX:-EnableDynamicAgentLoading");

    auto persisted = store_->get(k);
    bool confirm = false;
    if (persisted && persisted->state == AttachState::done)
        return finish_skipped(SkipReason::already_injected, "journal: done by rule " + persisted->rule);
    if (persisted && persisted->state == AttachState::failed)
        return finish_skipped(SkipReason::previously_failed, "journal: failed");
    if (persisted) {
        // In progress when the previous daemon died: its request may still complete.
        int64_t settle_at = persisted->time_ms + rule.timeout_ms + kInProgressGraceMs;
        int64_t now = wall_ms();
        if (now < settle_at) {
            {
                std::lock_guard<std::mutex> lock(mu_);
                Tracked* t = find(k);
                if (!t) return;
                t->policy = pol;
                if (decider_.post([this, k] { decide(k, true); },
                                  Clock::now() + std::chrono::milliseconds(settle_at - now)))
                    return;
            }
            return finish_skipped(SkipReason::overloaded, "decision queue full");
        }
        confirm = true;
    } else if (existing) {
        auto since = store_->crashed_since_ticks();
        bool due_after_crash = since && k.start_ticks >= *since;
        if (!due_after_crash && !rule.include_existing)
            return finish_skipped(SkipReason::existing, "running before the daemon started");
        confirm = true;  // unknown to us: it may have the agent from a previous run
    }
    if (confirm) {
        std::string host_path;
        if (confirm_loaded(*jvm, rule, persisted, &host_path)) {
            std::string err;
            store_->record(k, {AttachState::done, rule.name, persisted ? persisted->agent : "",
                               host_path, 0}, &err);
            return finish_skipped(SkipReason::already_injected, "agent found loaded in the JVM");
        }
    }
    // What the JVM already carries.  Unknown (no enrichment, or no inventory): inject as
    // before, and inject.ok says the checks did not run.
    std::optional<daemon::AgentInventory> inv;
    if (deps_.agents_of) inv = deps_.agents_of(k.pid, k.start_ticks);
    bool agents_known = inv && inv->static_agents;
    if (inv) {
        if (auto v = check_agents(rule, *inv)) return finish_skipped(v->reason, v->detail);
    }
    if (rule.on_dynamic_load_warning == policy::OnDynamicLoadWarning::skip && dynamic_load_warns(*jvm))
        return finish_skipped(SkipReason::dynamic_load_warning,
                              "JDK " + jvm->jdk_version +
                                  " without -XX:+EnableDynamicAgentLoading would print warnings "
                                  "into the application's stderr (JEP 451)");
    if (pol->dry_run) return finish_skipped(SkipReason::dry_run, "would load " + rule.agent.path);

    // Milestones we may have missed (JVM running before we looked): the threads say.
    bool have[8] = {};
    for (int ms : {JW_MS_SIGNAL_DISPATCH, JW_MS_ATTACH_LISTENER, JW_MS_MAIN})
        have[ms] = has_thread_named(deps_.proc_root, k.pid, milestone_thread(ms));
    std::lock_guard<std::mutex> lock(mu_);
    Tracked* t = find(k);
    if (!t) return;  // exited meanwhile
    for (int i = 0; i < 8; ++i) t->milestones[i] |= have[i];
    t->policy = pol;
    t->rule = &rule;
    t->agents_known = agents_known;
    t->phase = Phase::waiting;
    maybe_schedule(*t);
}

void Injector::maybe_schedule(Tracked& t) {
    if (t.phase != Phase::waiting || !t.rule) return;
    const auto& w = t.rule->when;
    // Never before the JVM serves SIGQUIT, whatever the rule says.
    if (!t.milestones[JW_MS_SIGNAL_DISPATCH]) return;
    if (w.kind == policy::When::Kind::milestone && !t.milestones[milestone_code(w.milestone)]) return;
    auto due = Clock::now();
    if (w.kind == policy::When::Kind::delay) {
        uint64_t base = t.exec_ts_ns ? t.exec_ts_ns : mono_ns();
        uint64_t at = base + uint64_t{w.delay_ms} * 1000000ull, now = mono_ns();
        if (at > now) due += std::chrono::nanoseconds(at - now);
    }
    t.phase = Phase::scheduled;
    JvmKey k = t.key;
    if (!workers_.post([this, k] { attach_job(k); }, due)) {
        t.phase = Phase::finished;
        // Emitting under mu_ is fine: emit() only queues.
        skipped(*t.jvm, t.rule, SkipReason::overloaded, "attach queue full");
    }
}

void Injector::attach_job(JvmKey k) {
    if (stopping_) return;
    jvm::JvmProcess jvm;
    std::shared_ptr<const policy::Policy> pol;
    const policy::Rule* rule = nullptr;
    uint64_t exec_ts = 0;
    uint32_t attempt = 0;
    bool agents_known = false;
    bool vm_initialized = deps_.vm_initialized_thread.empty() ||
                          has_thread_named(deps_.proc_root, k.pid, deps_.vm_initialized_thread);
    {
        std::lock_guard<std::mutex> lock(mu_);
        Tracked* t = find(k);
        if (!t || t->phase != Phase::scheduled) return;
        if (!vm_initialized) {
            auto now = Clock::now();
            if (!t->init_wait_since) t->init_wait_since = now;
            if (now - *t->init_wait_since < kMaxInitWait) {
                t->phase = Phase::init_wait;
                workers_.post([this, k] {
                    {
                        std::lock_guard<std::mutex> l(mu_);
                        Tracked* w = find(k);
                        if (!w || w->phase != Phase::init_wait) return;
                        w->phase = Phase::scheduled;
                    }
                    attach_job(k);
                }, now + kInitRecheck);
                return;
            }
        }
        auto next = limiter_.acquire();
        auto now = Clock::now();
        if (next > now) {
            if (!t->rate_wait_since) t->rate_wait_since = now;
            if (now - *t->rate_wait_since > kMaxRateWait) {
                t->phase = Phase::finished;
                skipped(*t->jvm, t->rule, SkipReason::rate_limited, "waited 30 s for rate_limit");
                return;
            }
            if (!workers_.post([this, k] { attach_job(k); }, next)) {
                t->phase = Phase::finished;
                skipped(*t->jvm, t->rule, SkipReason::overloaded, "attach queue full");
            }
            return;
        }
        t->rate_wait_since.reset();
        t->phase = Phase::attaching;
        attempt = ++t->attempts;
        jvm = *t->jvm;
        pol = t->policy;
        rule = t->rule;
        exec_ts = t->exec_ts_ns;
        agents_known = t->agents_known;
    }
    // The identity the daemon reported, pinned from here to the signal: the stager works
    // through this process's /proc dirfd, the engine checks the start time itself.
    std::string why;
    auto target = TargetProcess::open(deps_.proc_root, k.pid, k.start_ticks, &why);
    if (!target) {
        skipped(jvm, rule, SkipReason::exited);
        finish(k);
        return;
    }

    auto fail = [&](attach::Outcome o, const std::string& detail, bool persist) {
        if (persist) {
            std::string err;
            store_->record(k, {AttachState::failed, rule->name, "", "", 0}, &err);
        }
        {
            std::lock_guard<std::mutex> lock(stats_mu_);
            ++stats_.failed;
        }
        emit({{"type", "inject.failed"}, {"rule", rule->name}, {"jvm", jvm_summary(jvm)},
              {"agent", agent_summary(rule->agent)}, {"outcome", std::string(attach::to_string(o))},
              {"detail", bounded_detail(detail)}, {"attempts", attempt}});
        finish(k);
    };

    // The agent file again, opened once: checked and hashed through that fd, which is
    // also what the JVM's copy is written from.  Content other than what the loaded
    // config accepted is not loaded until a reload accepts it.
    auto source = policy::open_agent_source(rule->agent.path, rule->agent.sha256,
                                            deps_.agent_owner, &why);
    if (source && !rule->agent.content_sha256.empty() &&
        source->sha256 != rule->agent.content_sha256) {
        why = "agent file " + rule->agent.path + " has sha256 " + source->sha256 +
              " now, the loaded config accepted " + rule->agent.content_sha256 +
              " (a reload must accept it)";
        source.reset();
    }
    if (!source) {
        skipped(jvm, rule, SkipReason::agent_changed, why);
        finish(k);
        return;
    }

    std::string err;
    std::optional<StagedAgent> staged;
    if (target->other_mount_ns()) {
        staged = stage_agent(deps_.proc_root, *target, jvm.euid, jvm.egid, *source, rule->agent.kind,
                             &err);
    } else if (auto path = agents_->put(*source, rule->agent.kind, &err)) {
        staged = StagedAgent{*path, *path, false, false};
    }
    if (!staged) return fail(attach::Outcome::system_error, err, false);
    // Durable intent before the attach: after a crash this entry makes the next daemon
    // check the JVM instead of attaching blindly.
    if (!store_->record(k, {AttachState::in_progress, rule->name, staged->target_path,
                            staged->host_path, 0}, &err))
        return fail(attach::Outcome::system_error, "state: " + err + " (not attaching)", false);

    attach::Request req = rule->agent.kind == policy::AgentKind::java
                              ? attach::load_java_agent(staged->target_path, rule->agent.options)
                              : attach::load_native_agent(staged->target_path, rule->agent.options);
    attach::Options opts;
    opts.timeout = std::chrono::milliseconds(rule->timeout_ms);
    opts.proc_root = deps_.proc_root;
    opts.expect_start_ticks = k.start_ticks;  // a reused pid is never signalled
    opts.max_output = kMaxDetailBytes;        // a load's reply is a line or two; keep no more
    if (deps_.registry) deps_.registry->expect_own_attach(k.pid, rule->name);
    attach::Result res = deps_.attach(k.pid, req, opts);
    if (deps_.registry) deps_.registry->own_attach_done(k.pid);

    bool ok = res.outcome == attach::Outcome::ok;
    bool confirmed = false;
    if (!ok && maybe_loaded(res.outcome) && agent_loaded(deps_.proc_root, k.pid, staged->host_path))
        ok = confirmed = true;  // the reply was lost, the agent is in
    if (ok) {
        store_->record(k, {AttachState::done, rule->name, staged->target_path, staged->host_path, 0},
                       &err);
        {
            std::lock_guard<std::mutex> lock(stats_mu_);
            ++stats_.ok;
        }
        json ev{{"type", "inject.ok"}, {"rule", rule->name}, {"jvm", jvm_summary(jvm)},
                {"agent", agent_summary(rule->agent)}, {"attempts", attempt},
                {"attach_ms", res.elapsed_ms}, {"agent_path", staged->target_path},
                {"staged", staged->staged}};
        ev["ms_from_exec"] = exec_ts ? json(double(mono_ns() - exec_ts) / 1e6) : json(nullptr);
        ev["dynamic_load_warning"] = dynamic_load_warns(jvm);
        ev["agent_inventory"] = agents_known ? "checked" : "unknown";
        if (confirmed) ev["detail"] = "no reply, agent found loaded";
        emit(std::move(ev));
        finish(k);
        return;
    }
    if (retryable(res.outcome) && attempt <= rule->retries && !stopping_) {
        {
            std::lock_guard<std::mutex> lock(stats_mu_);
            ++stats_.retries;
        }
        auto backoff = std::chrono::milliseconds(
            std::min<uint64_t>(uint64_t{rule->backoff_ms} << std::min<uint32_t>(attempt - 1, 16), 60000));
        std::lock_guard<std::mutex> lock(mu_);
        if (Tracked* t = find(k)) {
            t->phase = Phase::scheduled;
            if (workers_.post([this, k] { attach_job(k); }, Clock::now() + backoff)) return;
            t->phase = Phase::finished;
        }
        // Fall through: record the failure below (the JVM left or the queue is full).
    }
    std::string detail = res.detail.empty() ? res.output : res.detail;
    fail(res.outcome, detail, true);
}

}  // namespace jvmwatch::inject
