#include "userspace/inject/daemon_plugin.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <memory>
#include <mutex>

#include "userspace/inject/injector.h"
#include "userspace/policy/policy_parser.h"

namespace jvmwatch::inject {

namespace {

std::string join(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += (s.empty() ? "" : "\n") + l;
    return s;
}

std::shared_ptr<const policy::Policy> parse(const YAML::Node& node, const std::string& file,
                                            std::string* error) {
    std::vector<std::string> errors;
    auto p = policy::parse_policy(node, file, &errors);
    if (!p) { *error = join(errors); return nullptr; }
    return std::make_shared<const policy::Policy>(std::move(*p));
}

// Forwards the daemon's JVM events to the injector, which exists only while there are
// rules (a reload may add or remove them).
class Plugin : public daemon::JvmListener {
public:
    void start(const daemon::DaemonServices& s) {
        services_ = s;
        s.add_listener(this);
        std::string err;
        auto p = parse(s.config->inject, s.config->file, &err);
        if (!p) { spdlog::error("inject: {}", err); return; }  // validated at load already
        apply(p);
    }
    void reload(const daemon::DaemonConfig& cfg) {
        std::string err;
        auto p = parse(cfg.inject, cfg.file, &err);
        if (!p) { spdlog::error("inject: reload refused, keeping the old policy: {}", err); return; }
        apply(p);
    }
    void stop() {
        std::shared_ptr<Injector> inj;
        {
            std::lock_guard<std::mutex> lock(mu_);
            inj = std::move(injector_);
        }
        if (inj) inj->shutdown();
    }

    void on_jvm_started(const jvm::JvmProcess& j, uint64_t ts, bool existing) override {
        if (auto i = current()) i->on_jvm_started(j, ts, existing);
    }
    void on_jvm_milestone(pid_t pid, uint64_t start, int ms, uint64_t ts) override {
        if (auto i = current()) i->on_jvm_milestone(pid, start, ms, ts);
    }
    void on_jvm_exited(pid_t pid, uint64_t start) override {
        if (auto i = current()) i->on_jvm_exited(pid, start);
    }

private:
    std::shared_ptr<Injector> current() {
        std::lock_guard<std::mutex> lock(mu_);
        return injector_;
    }
    void apply(std::shared_ptr<const policy::Policy> p) {
        std::lock_guard<std::mutex> lock(mu_);
        if (injector_) {
            auto note = injector_->set_policy(p);
            if (!note.empty()) spdlog::warn("inject: {}", note);
            spdlog::info("inject: policy reloaded: {} rule(s){}", p->rules.size(),
                         p->dry_run ? ", dry run" : "");
            return;
        }
        if (p->rules.empty()) return;  // nothing to do: no state dir, no threads
        InjectorDeps d;
        d.sink = services_.sink;
        d.registry = services_.own_attaches;
        d.agents_of = services_.agents_of;
        std::string err;
        auto inj = Injector::create(p, d, &err);
        if (!inj) { spdlog::error("inject: disabled: {}", err); return; }
        if (auto bad = inj->stats().journal_lines_skipped)
            spdlog::warn("inject: journal: skipped {} malformed line(s)", bad);
        injector_ = std::move(inj);
        spdlog::info("inject: {} rule(s){}, state in {}", p->rules.size(),
                     p->dry_run ? ", dry run" : "", p->state_dir);
    }

    daemon::DaemonServices services_;
    std::mutex mu_;
    std::shared_ptr<Injector> injector_;
};

Plugin& plugin() {
    static Plugin p;
    return p;
}

}  // namespace

void install_daemon_hooks(daemon::DaemonHooks& hooks) {
    hooks.parse_inject = [](const YAML::Node& node, const std::string& file, std::string* error) {
        return parse(node, file, error) != nullptr;
    };
    hooks.on_start = [](const daemon::DaemonServices& s) { plugin().start(s); };
    hooks.on_reload = [](const daemon::DaemonConfig& cfg) { plugin().reload(cfg); };
    hooks.on_stop = [] { plugin().stop(); };
}

}  // namespace jvmwatch::inject
