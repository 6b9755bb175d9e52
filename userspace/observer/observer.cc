// The loader: skeleton, links, cgroup fd and ring buffer, each owned by RAII, plus the
// consumer thread.
#include "userspace/observer/observer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "jvmwatch.skel.h"
#include "userspace/observer/mounts.h"

JW_ASSERT_EVENT_SIZES();

namespace jvmwatch::observer {

namespace {

constexpr int kBpfCgroupUnixConnect = 49;   // BPF_CGROUP_UNIX_CONNECT (libbpf 1.1 lacks it)

struct SkelDeleter {
    void operator()(jvmwatch_bpf* s) const { jvmwatch_bpf__destroy(s); }
};
struct LinkDeleter {
    void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
struct RingBufDeleter {
    void operator()(ring_buffer* r) const { ring_buffer__free(r); }
};
using SkelPtr = std::unique_ptr<jvmwatch_bpf, SkelDeleter>;
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;
using RingBufPtr = std::unique_ptr<ring_buffer, RingBufDeleter>;

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) { reset(); fd_ = o.fd_; o.fd_ = -1; }
        return *this;
    }
    void reset() { if (fd_ >= 0) ::close(fd_); fd_ = -1; }
    int get() const { return fd_; }
private:
    int fd_ = -1;
};

// libbpf prints through one global hook.  Keep its last warning so a failed load can say
// why in one line (verifier logs are long; the last line names the problem).
std::mutex g_print_mu;
std::string g_last_libbpf_warning;

// JVMWATCH_LIBBPF_DEBUG=1 passes libbpf's output (verifier logs included) to stderr.
int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
    static const bool debug = [] {
        const char* v = std::getenv("JVMWATCH_LIBBPF_DEBUG");
        return v && *v && std::strcmp(v, "0") != 0;
    }();
    if (debug) {
        va_list copy;
        va_copy(copy, args);
        vfprintf(stderr, fmt, copy);
        va_end(copy);
    }
    if (level == LIBBPF_DEBUG) return 0;
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, args);
    if (n <= 0) return 0;
    std::string s(buf);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    if (s.empty()) return 0;
    std::lock_guard<std::mutex> lk(g_print_mu);
    g_last_libbpf_warning = s;
    return 0;
}

std::string last_libbpf_warning() {
    std::lock_guard<std::mutex> lk(g_print_mu);
    return g_last_libbpf_warning;
}

std::string errstr(int err) { return std::strerror(err < 0 ? -err : err); }

bool exists(const std::string& p) {
    struct stat st{};
    return stat(p.c_str(), &st) == 0;
}

// The uprobe programs of bpf/jvm_probes.bpf.c.
std::vector<bpf_program*> jvm_probe_programs(jvmwatch_bpf* s) {
    return {s->progs.jvm_read_request_fd, s->progs.jvm_read_request_fd_ret,
            s->progs.jvm_read_request_reader, s->progs.jvm_read_request_reader_ret,
            s->progs.jvm_load_agent_strings, s->progs.jvm_load_agent_bool,
            s->progs.jvm_load_agent_op, s->progs.jvm_agent_on_attach, s->progs.jvm_dcmd,
            s->progs.jvm_dcmd_executor, s->progs.jvm_op_result};
}

bool is_jvm_probe(jvmwatch_bpf* s, bpf_program* p) {
    for (bpf_program* j : jvm_probe_programs(s))
        if (j == p) return true;
    return false;
}

// The programs serving one probe signature: on entry, and on return (or nullptr).
struct ProbePrograms {
    bpf_program* entry = nullptr;
    bpf_program* ret = nullptr;
};
ProbePrograms programs_for(jvmwatch_bpf* s, ProbeAbi abi) {
    switch (abi) {
        case ProbeAbi::read_request_fd:
            return {s->progs.jvm_read_request_fd, s->progs.jvm_read_request_fd_ret};
        case ProbeAbi::read_request_reader:
            return {s->progs.jvm_read_request_reader, s->progs.jvm_read_request_reader_ret};
        case ProbeAbi::load_agent_strings: return {s->progs.jvm_load_agent_strings, nullptr};
        case ProbeAbi::load_agent_bool: return {s->progs.jvm_load_agent_bool, nullptr};
        case ProbeAbi::load_agent_library_op: return {s->progs.jvm_load_agent_op, nullptr};
        case ProbeAbi::agent_on_attach: return {s->progs.jvm_agent_on_attach, nullptr};
        case ProbeAbi::dcmd_parse_and_execute: return {s->progs.jvm_dcmd, nullptr};
        case ProbeAbi::dcmd_executor: return {s->progs.jvm_dcmd_executor, nullptr};
        // A handler's return is the operation's result code.
        case ProbeAbi::attach_op_handler: return {nullptr, s->progs.jvm_op_result};
        // JvmtiAgent::load adds nothing JvmtiAgentList::load_agent does not say.
        case ProbeAbi::jvmti_agent_load: return {};
    }
    return {};
}

}  // namespace

struct JvmProbeLinks::Impl {
    std::vector<LinkPtr> links;
    std::vector<std::string> live;
};
JvmProbeLinks::JvmProbeLinks(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JvmProbeLinks::~JvmProbeLinks() = default;
const std::vector<std::string>& JvmProbeLinks::live() const { return impl_->live; }

// The deny-rule maps of a loaded skeleton (bpf_map_* calls are thread-safe).
class SkelDenyMaps : public DenyMaps {
public:
    explicit SkelDenyMaps(jvmwatch_bpf* s) : s_(s) {}
    bool set_active(uint32_t active) override {
        uint32_t zero = 0;
        return bpf_map__update_elem(s_->maps.deny_active, &zero, sizeof zero, &active,
                                    sizeof active, BPF_ANY) == 0;
    }
    bool set_slot(uint32_t slot, const jw_deny_slot& cfg) override {
        return bpf_map__update_elem(s_->maps.deny_slots, &slot, sizeof slot, &cfg, sizeof cfg,
                                    BPF_ANY) == 0;
    }
    bool put(Map m, const void* key, const jw_deny_mask& v) override {
        return bpf_map__update_elem(map(m), key, key_size(m), &v, sizeof v, BPF_ANY) == 0;
    }
    bool remove(Map m, const void* key) override {
        return bpf_map__delete_elem(map(m), key, key_size(m), 0) == 0;
    }
    void clear_slot(uint32_t slot) override {
        for (Map m : {Map::targets, Map::allow_exe, Map::allow_uid, Map::allow_cgroup}) {
            // Collect first: deleting while walking restarts the walk in a hash map.
            size_t ks = key_size(m);
            std::vector<std::vector<unsigned char>> doomed;
            std::vector<unsigned char> cur(ks), next(ks);
            const void* prev = nullptr;
            while (bpf_map__get_next_key(map(m), prev, next.data(), ks) == 0) {
                uint32_t key_slot;
                std::memcpy(&key_slot, next.data(), sizeof key_slot);
                if (key_slot == slot) doomed.push_back(next);
                cur = next;
                prev = cur.data();
            }
            for (const auto& k : doomed) bpf_map__delete_elem(map(m), k.data(), ks, 0);
        }
    }

private:
    bpf_map* map(Map m) const {
        switch (m) {
        case Map::targets: return s_->maps.deny_targets;
        case Map::allow_exe: return s_->maps.deny_allow_exe;
        case Map::allow_uid: return s_->maps.deny_allow_uid;
        case Map::allow_cgroup: return s_->maps.deny_allow_cgroup;
        }
        return nullptr;
    }
    static size_t key_size(Map m) {
        switch (m) {
        case Map::targets: return sizeof(jw_deny_target_key);
        case Map::allow_exe: return sizeof(jw_deny_exe_key);
        case Map::allow_uid:
        case Map::allow_cgroup: return sizeof(jw_deny_id_key);
        }
        return 0;
    }
    jvmwatch_bpf* s_;
};

struct Observer::Impl {
    Options opts;
    SkelPtr skel;
    std::unique_ptr<SkelDenyMaps> deny;   // set when the connect hook can refuse
    UniqueFd cgroup_fd;
    std::vector<LinkPtr> links;   // destroyed (detached) by stop()
    RingBufPtr rb;

    EventCallback cb;
    std::thread consumer;
    std::atomic<bool> stopping{false};
    std::atomic<uint64_t> received{0};
    std::atomic<uint64_t> malformed{0};
    std::atomic<uint64_t> passes{0};   // consumer loop passes: the event path's heartbeat
    std::mutex stop_mu;
    bool started = false;
    bool stopped = false;

    void log(const std::string& s) const {
        if (opts.on_log) opts.on_log(s);
    }

    static int on_sample(void* ctx, void* data, size_t size) {
        auto* self = static_cast<Impl*>(ctx);
        if (size < sizeof(jw_event_hdr)) {
            self->malformed.fetch_add(1, std::memory_order_relaxed);
            return 0;
        }
        self->received.fetch_add(1, std::memory_order_relaxed);
        if (self->cb) self->cb(static_cast<const jw_event_hdr*>(data), size);
        return 0;
    }

    void run() {
        while (!stopping.load(std::memory_order_acquire)) {
            passes.fetch_add(1, std::memory_order_relaxed);
            int n = ring_buffer__poll(rb.get(), 100);
            if (n < 0 && n != -EINTR) {
                log("ring buffer poll failed: " + errstr(n));
                break;
            }
            // A timed-out poll consumes nothing: records submitted without a wake-up
            // (submit_quiet) would wait for the next woken one.  Take them now.
            if (n == 0) ring_buffer__consume(rb.get());
        }
        ring_buffer__consume(rb.get());   // what was submitted before the links went away
    }
};

Observer::Observer() : impl_(std::make_unique<Impl>()) {}

Observer::~Observer() { stop(); }

std::unique_ptr<Observer> Observer::create(const Options& opts, std::string* error) {
    return create(opts, FeatureProbe::probe(), error);
}

std::unique_ptr<Observer> Observer::create(const Options& opts, const Features& features,
                                           std::string* error) {
    auto fail = [&](const std::string& msg) -> std::unique_ptr<Observer> {
        if (error) *error = msg;
        return nullptr;
    };
    libbpf_set_print(libbpf_print);

    std::unique_ptr<Observer> obs(new Observer());
    Impl& im = *obs->impl_;
    im.opts = opts;
    obs->hooks_ = choose_hooks(features, opts.deep, opts.force_fallback);
    auto hook_of = [&](EventKind k) -> const HookChoice* {
        for (const auto& h : obs->hooks_)
            if (h.kind == k) return &h;
        return nullptr;
    };
    const HookChoice* exec_hook = hook_of(EventKind::exec);
    if (!exec_hook || exec_hook->hook.empty())
        return fail(exec_hook ? "BPF unavailable: " + exec_hook->reason
                              : "BPF unavailable: no exec hook");
    if (opts.deep) {
        for (EventKind k : {EventKind::trigger, EventKind::sock_data}) {
            const HookChoice* h = hook_of(k);
            if (!h || h->hook.empty())
                return fail("deep mode unavailable: " + (h ? h->reason : std::string("?")));
        }
    }

    // Classic and syscall tracepoints are found through tracefs.
    std::string tracefs = features.tracefs_dir;
    bool need_tracefs = false;
    for (const auto& h : obs->hooks_) need_tracefs |= (!h.hook.empty() && h.needs_tracefs);
    if (need_tracefs && tracefs.empty()) {
        std::string err;
        tracefs = ensure_tracefs("/proc", opts.tracefs_dir, &err);
        if (tracefs.empty()) return fail(err);
        im.log("mounted tracefs at " + tracefs);
    }

    im.skel.reset(jvmwatch_bpf__open());
    if (!im.skel) return fail("opening the BPF object failed: " + errstr(errno));
    jvmwatch_bpf* s = im.skel.get();

    bool connect_cgroup = false, connect_syscall = false;
    if (const HookChoice* h = hook_of(EventKind::connect); h && !h->hook.empty()) {
        connect_cgroup = h->hook == "cgroup/connect_unix";
        connect_syscall = !connect_cgroup;
    }
    s->rodata->jw_exec_parent_filter = opts.exec_parent_filter;
    s->rodata->jw_deep = opts.deep;
    s->rodata->jw_connect_via_syscall = connect_syscall;
    s->rodata->jw_deny_exempt_tgid = opts.deny_exempt_tgid;

    if (int err = bpf_map__set_max_entries(s->maps.events, opts.ringbuf_bytes))
        return fail("ring buffer size " + std::to_string(opts.ringbuf_bytes) + ": " + errstr(err));
    if (int err = bpf_map__set_max_entries(s->maps.tracked, opts.max_tracked ? opts.max_tracked : 1))
        return fail("tracked map size: " + errstr(err));
    if (int err = bpf_map__set_max_entries(s->maps.identities,
                                           opts.max_identities ? opts.max_identities : 1))
        return fail("identity map size " + std::to_string(opts.max_identities) + ": " + errstr(err));
    if (int err = bpf_map__set_max_entries(s->maps.milestones_seen,
                                           opts.max_milestone_procs ? opts.max_milestone_procs : 1))
        return fail("milestone map size: " + errstr(err));
    if (int err = bpf_map__set_max_entries(s->maps.deny_targets,
                                           opts.max_deny_targets ? opts.max_deny_targets : 1))
        return fail("deny target map size: " + errstr(err));

    // Everything off, then exactly the chosen hooks on.
    bpf_program* prog;
    bpf_object__for_each_program(prog, s->obj) bpf_program__set_autoload(prog, false);
    auto enable = [](bpf_program* p) { bpf_program__set_autoload(p, true); };
    auto pick = [&](EventKind k, bpf_program* tp_btf, bpf_program* classic) {
        const HookChoice* h = hook_of(k);
        if (!h || h->hook.empty()) return;
        enable(h->hook.rfind("tp_btf/", 0) == 0 ? tp_btf : classic);
    };
    pick(EventKind::exec, s->progs.tpbtf_exec, s->progs.tp_exec);
    pick(EventKind::exit, s->progs.tpbtf_exit, s->progs.tp_exit);
    pick(EventKind::thread_name, s->progs.tpbtf_rename, s->progs.tp_rename);
    pick(EventKind::sigquit, s->progs.tpbtf_signal, s->progs.tp_signal);
    if (connect_cgroup) {
        enable(s->progs.cg_connect_unix);
        bpf_program__set_expected_attach_type(
            s->progs.cg_connect_unix, static_cast<enum bpf_attach_type>(kBpfCgroupUnixConnect));
    }
    if (connect_syscall || opts.deep) enable(s->progs.sc_enter_connect);
    if (opts.deep) {
        std::string ev = tracefs + "/events/syscalls/";
        for (bpf_program* p : {s->progs.sc_exit_connect, s->progs.sc_enter_write,
                               s->progs.sc_enter_sendto, s->progs.sc_enter_writev,
                               s->progs.sc_enter_read, s->progs.sc_exit_read,
                               s->progs.sc_enter_recvfrom, s->progs.sc_exit_recvfrom,
                               s->progs.sc_enter_close, s->progs.sc_enter_openat})
            enable(p);
        // open(2)/creat(2) exist on x86_64, not on arm64.
        if (exists(ev + "sys_enter_open")) enable(s->progs.sc_enter_open);
        if (exists(ev + "sys_enter_creat")) enable(s->progs.sc_enter_creat);
    }

    // The JVM side is loaded now and placed per JDK library later (attach_jvm_probes).
    for (bpf_program* p : jvm_probe_programs(s)) {
        bpf_program__set_autoload(p, opts.jvm_probes);
    }

    if (int err = jvmwatch_bpf__load(s)) {
        std::string why = last_libbpf_warning();
        return fail("loading the BPF programs failed: " + errstr(err) +
                    (why.empty() ? "" : " (libbpf: " + why + ")"));
    }

    if (connect_cgroup) {
        std::string root = opts.cgroup_root.empty() ? features.cgroup2_root : opts.cgroup_root;
        im.cgroup_fd = UniqueFd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (im.cgroup_fd.get() < 0)
            return fail("opening cgroup v2 root " + root + ": " + std::strerror(errno));
    }
    bpf_object__for_each_program(prog, s->obj) {
        if (!bpf_program__autoload(prog) || is_jvm_probe(s, prog)) continue;
        bpf_link* link = prog == s->progs.cg_connect_unix
                             ? bpf_program__attach_cgroup(prog, im.cgroup_fd.get())
                             : bpf_program__attach(prog);
        if (!link) {
            int err = errno;
            return fail(std::string("attaching ") + bpf_program__name(prog) + " failed: " +
                        errstr(err));
        }
        im.links.emplace_back(link);
    }

    if (connect_cgroup) im.deny = std::make_unique<SkelDenyMaps>(s);
    im.rb.reset(ring_buffer__new(bpf_map__fd(s->maps.events), &Impl::on_sample, &im, nullptr));
    if (!im.rb) return fail("creating the ring buffer reader failed: " + errstr(errno));

    im.log(obs->hooks_line());
    return obs;
}

bool Observer::start(EventCallback cb, std::string* error) {
    std::lock_guard<std::mutex> lk(impl_->stop_mu);
    if (impl_->started || impl_->stopped) {
        if (error) *error = "observer already started";
        return false;
    }
    impl_->cb = std::move(cb);
    try {
        impl_->consumer = std::thread([this] {
            // Named so an operator (and the watchdog test) can find the event path.
            pthread_setname_np(pthread_self(), "jw-events");
            impl_->run();
        });
    } catch (const std::system_error& e) {
        if (error) *error = std::string("starting the consumer thread: ") + e.what();
        return false;
    }
    impl_->started = true;
    return true;
}

void Observer::stop() {
    if (!impl_) return;
    std::lock_guard<std::mutex> lk(impl_->stop_mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->links.clear();   // detach first: no new events
    impl_->cgroup_fd.reset();
    impl_->stopping.store(true, std::memory_order_release);
    if (impl_->consumer.joinable()) impl_->consumer.join();
}

bool Observer::jvm_probes_loaded() const {
    return impl_->skel && bpf_program__fd(impl_->skel->progs.jvm_read_request_fd) >= 0;
}

std::unique_ptr<JvmProbeLinks> Observer::attach_jvm_probes(int lib_fd, const LibraryProbes& lib,
                                                           std::string* error) {
    auto fail = [&](const std::string& msg) -> std::unique_ptr<JvmProbeLinks> {
        if (error) *error = msg;
        return nullptr;
    };
    if (!jvm_probes_loaded()) return fail("JVM-side probes are not loaded");
    if (lib_fd < 0) return fail("no library file");
    // The magic link names exactly the inode the caller checked: a path could be swapped.
    const std::string path = "/proc/self/fd/" + std::to_string(lib_fd);
    auto impl = std::make_unique<JvmProbeLinks::Impl>();
    std::string first_error;
    for (const ProbeSite& site : lib.sites) {
        ProbePrograms pp = programs_for(impl_->skel.get(), site.abi);
        if (!pp.entry && !pp.ret) continue;
        bool ok = true;
        const size_t before = impl->links.size();   // an entry without its return is useless
        for (bpf_program* prog : {pp.entry, pp.ret}) {
            if (!prog) continue;
            LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = prog == pp.ret);
            bpf_link* link = bpf_program__attach_uprobe_opts(prog, -1, path.c_str(),
                                                             site.file_offset, &uo);
            if (!link) {
                if (first_error.empty())
                    first_error = std::string(site.probe) + ": " + errstr(errno);
                ok = false;
                break;
            }
            impl->links.emplace_back(link);
        }
        if (ok)
            impl->live.emplace_back(site.probe);
        else
            impl->links.resize(before);
    }
    if (impl->live.empty())
        return fail(first_error.empty() ? "no probe site has a program" : first_error);
    return std::make_unique<JvmProbeLinks>(std::move(impl));
}

uint64_t Observer::heartbeat() const { return impl_->passes.load(std::memory_order_relaxed); }

Stats Observer::stats() const {
    Stats st;
    st.received = impl_->received.load(std::memory_order_relaxed);
    st.malformed = impl_->malformed.load(std::memory_order_relaxed);
    if (!impl_->skel) return st;
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return st;
    std::vector<uint64_t> vals(static_cast<size_t>(ncpu));
    auto sum = [&](uint32_t idx) -> uint64_t {
        if (bpf_map__lookup_elem(impl_->skel->maps.stats, &idx, sizeof(idx), vals.data(),
                                 vals.size() * sizeof(uint64_t), 0) != 0)
            return 0;
        uint64_t t = 0;
        for (uint64_t v : vals) t += v;
        return t;
    };
    st.ringbuf_drops = sum(JW_STAT_RINGBUF_DROPS);
    st.events = sum(JW_STAT_EVENTS);
    st.tracked_full = sum(JW_STAT_TRACKED_FULL);
    st.exec_drops = sum(JW_STAT_EXEC_DROPS);
    st.execs = sum(JW_STAT_EXECS);
    st.identity_full = sum(JW_STAT_IDENTITY_FULL);
    st.identity_sent = sum(JW_STAT_IDENTITY_SENT);
    st.identity_miss = sum(JW_STAT_IDENTITY_MISS);
    st.milestone_repeats = sum(JW_STAT_MILESTONE_REPEATS);
    st.milestone_full = sum(JW_STAT_MILESTONE_FULL);
    st.deep_map_full = sum(JW_STAT_DEEP_MAP_FULL);
    st.jvm_pending_miss = sum(JW_STAT_JVM_PENDING_MISS);
    st.denied = sum(JW_STAT_DENIED);
    st.would_deny = sum(JW_STAT_WOULD_DENY);
    return st;
}

DenyMaps* Observer::deny_maps() { return impl_->deny.get(); }

bool Observer::add_tracked(pid_t tgid) {
    if (tgid <= 0 || !impl_->skel) return false;
    uint32_t key = static_cast<uint32_t>(tgid);
    uint8_t one = 1;
    return bpf_map__update_elem(impl_->skel->maps.tracked, &key, sizeof(key), &one, sizeof(one),
                                BPF_ANY) == 0;
}

bool Observer::remove_tracked(pid_t tgid) {
    if (tgid <= 0 || !impl_->skel) return false;
    uint32_t key = static_cast<uint32_t>(tgid);
    return bpf_map__delete_elem(impl_->skel->maps.tracked, &key, sizeof(key), 0) == 0;
}

bool Observer::is_tracked(pid_t tgid) const {
    if (tgid <= 0 || !impl_->skel) return false;
    uint32_t key = static_cast<uint32_t>(tgid);
    uint8_t v = 0;
    return bpf_map__lookup_elem(impl_->skel->maps.tracked, &key, sizeof(key), &v, sizeof(v), 0) ==
           0;
}

}  // namespace jvmwatch::observer
