#include "userspace/daemon/process_table.h"

#include "userspace/daemon/container_id.h"

namespace jvmwatch::daemon {

const char* to_string(ProcessInfo::Source s) {
    switch (s) {
    case ProcessInfo::Source::exec: return "exec";
    case ProcessInfo::Source::proc: return "proc";
    case ProcessInfo::Source::event: return "event";
    }
    return "?";
}

ProcessTable::ProcessTable(size_t capacity, CgroupPathCache* cgroups)
    : table_(capacity), cgroups_(cgroups) {}

namespace {
void fill_from_actor(const Actor& a, ProcessInfo* p) {
    p->pid = a.pid;
    p->ppid = a.ppid;
    p->nspid = a.nspid;
    p->uid = a.uid;
    p->gid = a.gid;
    p->pidns = a.pidns;
    p->mntns = a.mntns;
    p->cgroup_id = a.cgroup_id;
    p->comm = a.comm;
}
}  // namespace

const ProcessInfo& ProcessTable::on_exec(const ExecRecord& e) {
    ProcessInfo p;
    fill_from_actor(e.who, &p);
    p.start_ticks = e.start_ticks;
    p.exe = e.filename;
    p.cmdline = e.args;
    p.source = ProcessInfo::Source::exec;
    if (cgroups_) p.cgroup = cgroups_->lookup(e.who.cgroup_id);
    p.container_id = container_id_from_cgroup(p.cgroup);
    return table_.put(e.who.pid, std::move(p));
}

const ProcessInfo& ProcessTable::on_identity(const IdentityRecord& r) {
    on_exec(r.as_exec());
    ProcessInfo* p = table_.get(r.who.pid);
    p->parent_comm = r.parent_comm;
    return *p;
}

const ProcessInfo& ProcessTable::ensure(const Actor& who) {
    if (ProcessInfo* p = table_.get(who.pid)) {
        // A process that changed credentials since exec (setuid) is reported as it is now.
        p->uid = who.uid;
        p->gid = who.gid;
        if (p->cgroup_id != who.cgroup_id && who.cgroup_id != 0) {
            p->cgroup_id = who.cgroup_id;
            if (cgroups_) p->cgroup = cgroups_->lookup(who.cgroup_id);
            p->container_id = container_id_from_cgroup(p->cgroup);
        }
        return *p;
    }
    ProcessInfo p;
    fill_from_actor(who, &p);
    if (cgroups_) p.cgroup = cgroups_->lookup(who.cgroup_id);
    p.container_id = container_id_from_cgroup(p.cgroup);
    p.source = ProcessInfo::Source::event;
    return table_.put(who.pid, std::move(p));
}

void ProcessTable::apply(const ProcessInfo& f) {
    if (f.pid <= 0) return;
    ++proc_reads_;
    ProcessInfo* p = table_.get(f.pid);
    if (!p) {
        table_.put(f.pid, f);
        return;
    }
    if (p->start_ticks && f.start_ticks && p->start_ticks != f.start_ticks) return;
    if (!p->start_ticks) p->start_ticks = f.start_ticks;
    // The event header is the truth at event time; /proc adds what it lacks.
    if (p->exe.empty() || p->source == ProcessInfo::Source::event) p->exe = f.exe;
    if (p->cmdline.empty() || p->source == ProcessInfo::Source::event) p->cmdline = f.cmdline;
    if (p->comm.empty()) p->comm = f.comm;
    if (!p->ppid) p->ppid = f.ppid;
    if (!p->nspid) p->nspid = f.nspid;
    if (!p->pidns) p->pidns = f.pidns;
    if (!p->mntns) p->mntns = f.mntns;
    if (!f.cgroup.empty()) {
        if (cgroups_) cgroups_->remember(p->cgroup_id, f.cgroup);
        if (p->cgroup.empty()) {
            p->cgroup = f.cgroup;
            p->container_id = container_id_from_cgroup(p->cgroup);
        }
    }
    if (p->source == ProcessInfo::Source::event) p->source = ProcessInfo::Source::proc;
}

void ProcessTable::mark_exited(pid_t pid) {
    if (ProcessInfo* p = table_.get(pid)) p->exited = true;
}

}  // namespace jvmwatch::daemon
