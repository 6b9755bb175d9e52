#include "userspace/daemon/process_table.h"

#include "attach/procfs.h"
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

ProcessTable::ProcessTable(std::string proc_root, size_t capacity, CgroupPathCache* cgroups)
    : proc_root_(std::move(proc_root)), table_(capacity), cgroups_(cgroups) {}

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
    if (cgroups_) p.cgroup = cgroups_->resolve(e.who.cgroup_id, e.who.pid);
    p.container_id = container_id_from_cgroup(p.cgroup);
    return table_.put(e.who.pid, std::move(p));
}

const ProcessInfo& ProcessTable::on_identity(const IdentityRecord& r) {
    on_exec(r.as_exec());
    ProcessInfo* p = table_.get(r.who.pid);
    p->parent_comm = r.parent_comm;
    return *p;
}

bool ProcessTable::read_proc(pid_t pid, ProcessInfo* p) {
    ++proc_reads_;
    auto st = proc::read_status(proc_root_, pid);
    if (!st) return false;
    p->pid = pid;
    p->ppid = st->ppid;
    p->nspid = st->nspid();
    p->uid = st->euid;
    p->gid = st->egid;
    p->comm = st->name;
    if (auto stat = proc::read_stat(proc_root_, pid)) p->start_ticks = stat->start_time_ticks;
    p->exe = proc::read_exe(proc_root_, pid);
    p->cmdline = proc::read_cmdline(proc_root_, pid);
    p->cgroup = proc::read_cgroup(proc_root_, pid);
    if (auto ns = proc::read_ns_inode(proc_root_, pid, "pid")) p->pidns = static_cast<uint32_t>(*ns);
    if (auto ns = proc::read_ns_inode(proc_root_, pid, "mnt")) p->mntns = static_cast<uint32_t>(*ns);
    p->container_id = container_id_from_cgroup(p->cgroup);
    p->source = ProcessInfo::Source::proc;
    return true;
}

const ProcessInfo& ProcessTable::ensure(const Actor& who) {
    if (ProcessInfo* p = table_.get(who.pid)) {
        // A process that changed credentials since exec (setuid) is reported as it is now.
        p->uid = who.uid;
        p->gid = who.gid;
        if (p->cgroup_id != who.cgroup_id && who.cgroup_id != 0) {
            p->cgroup_id = who.cgroup_id;
            if (cgroups_) p->cgroup = cgroups_->resolve(who.cgroup_id, who.pid);
            p->container_id = container_id_from_cgroup(p->cgroup);
        }
        return *p;
    }
    ProcessInfo p;
    if (read_proc(who.pid, &p)) {
        // The header is the truth at event time; /proc adds exe, cmdline, cgroup path.
        p.uid = who.uid;
        p.gid = who.gid;
        if (p.comm.empty()) p.comm = who.comm;
        if (p.nspid == 0) p.nspid = who.nspid;
        p.cgroup_id = who.cgroup_id;
        if (cgroups_) cgroups_->remember(who.cgroup_id, p.cgroup);
    } else {
        fill_from_actor(who, &p);
        if (cgroups_) p.cgroup = cgroups_->resolve(who.cgroup_id, 0);
        p.container_id = container_id_from_cgroup(p.cgroup);
        p.source = ProcessInfo::Source::event;
    }
    return table_.put(who.pid, std::move(p));
}

const ProcessInfo* ProcessTable::find_or_read(pid_t pid) {
    if (pid <= 0) return nullptr;
    if (ProcessInfo* p = table_.get(pid)) return p;
    ProcessInfo p;
    if (!read_proc(pid, &p)) return nullptr;
    return &table_.put(pid, std::move(p));
}

void ProcessTable::mark_exited(pid_t pid) {
    if (ProcessInfo* p = table_.get(pid)) p->exited = true;
}

}  // namespace jvmwatch::daemon
