#include "userspace/daemon/proc_enrichment.h"

#include <pwd.h>

#include <vector>

#include "attach/procfs.h"
#include "userspace/daemon/container_id.h"

namespace jvmwatch::daemon {

std::optional<ProcessInfo> read_process(const std::string& proc_root, pid_t pid) {
    auto st = proc::read_status(proc_root, pid);
    if (!st) return std::nullopt;
    ProcessInfo p;
    p.pid = pid;
    p.ppid = st->ppid;
    p.nspid = st->nspid();
    p.uid = st->euid;
    p.gid = st->egid;
    p.comm = st->name;
    if (auto stat = proc::read_stat(proc_root, pid)) p.start_ticks = stat->start_time_ticks;
    p.exe = proc::read_exe(proc_root, pid);
    p.cmdline = proc::read_cmdline(proc_root, pid);
    p.cgroup = proc::read_cgroup(proc_root, pid);
    if (auto ns = proc::read_ns_inode(proc_root, pid, "pid")) p.pidns = static_cast<uint32_t>(*ns);
    if (auto ns = proc::read_ns_inode(proc_root, pid, "mnt")) p.mntns = static_cast<uint32_t>(*ns);
    p.container_id = container_id_from_cgroup(p.cgroup);
    p.source = ProcessInfo::Source::proc;
    return p;
}

std::string passwd_name(uid_t uid) {
    struct passwd pw, *res = nullptr;
    std::vector<char> buf(4096);
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res && res->pw_name)
        return res->pw_name;
    return std::to_string(uid);
}

Enricher::Work make_proc_enrichment(ProcSources src) {
    if (!src.inspect) src.inspect = [root = src.proc_root](pid_t pid) { return jvm::inspect(root, pid); };
    if (!src.read_process) src.read_process = [root = src.proc_root](pid_t pid) { return read_process(root, pid); };
    if (!src.user_name) src.user_name = passwd_name;
    return [src](const EnrichJob& job) {
        using S = EnrichResult::Status;
        EnrichResult r;
        r.job = job;
        if (job.purpose == "agent") {
            // An agent the JVM loads now: its file as the JVM sees it (the same facts as a
            // command-line agent's: safefs inside its root, capped).
            StaticAgents one;
            StaticAgent a;
            a.kind = job.agent_kind;
            a.path = job.agent_path;
            one.agents.push_back(std::move(a));
            inspect_static_agents(src.proc_root, job.pid, one, src.artifacts, src.evidence.get());
            r.agent = std::move(one.agents.front());
            r.status = S::ok;
            return r;
        }
        r.process = src.read_process(job.pid);
        auto reused = [&](uint64_t start) { return job.start_ticks && start && start != job.start_ticks; };
        if (r.process && reused(r.process->start_ticks)) {
            r.process.reset();
            r.status = S::gone;
            r.why = "pid reused";
            return r;
        }
        if (job.want_jvm) {
            r.jvm = src.inspect(job.pid);
            if (!r.jvm || reused(r.jvm->start_time_ticks)) {
                r.jvm.reset();
                r.status = S::gone;
                r.why = "process gone";
                return r;
            }
            r.status = r.jvm->kind == jvm::Kind::not_jvm ? S::not_jvm : S::ok;
            if (r.status == S::not_jvm) return r;   // nothing more is needed of it
            // Its agents (command line and options variables) and their files, as it
            // sees them (safefs, inside its root, capped).
            StaticAgents agents = parse_static_agents(r.jvm->cmdline,
                                                      proc::read_environ(src.proc_root, job.pid));
            inspect_static_agents(src.proc_root, job.pid, agents, src.artifacts, src.evidence.get());
            r.agents = std::move(agents);
            r.user = r.jvm->user;
            if (src.probe_jvm) r.visibility = src.probe_jvm(job.pid, *r.jvm);
        } else {
            r.status = r.process ? S::ok : S::gone;
        }
        if (r.user.empty() && r.process) r.user = src.user_name(r.process->uid);
        return r;
    };
}

}  // namespace jvmwatch::daemon
