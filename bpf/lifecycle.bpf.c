// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * JVM lifecycles: every exec (stored, java launchers sent), exits of tracked thread
 * groups, and the thread names that mark a HotSpot VM's milestones.
 * Linked with the other objects of bpf/ into one skeleton (Makefile).
 */
#include "jvmwatch.bpf.h"

/* ---- exec ---------------------------------------------------------------- */

/* Filename ends in "/java": a JDK launcher.  Tracked so its exit is reported. */
static __always_inline bool ends_with_java(const char *f)
{
	for (__u32 i = 5; i < JW_PATH_LEN; i++) {
		if (f[i & (JW_PATH_LEN - 1)] == 0)
			return f[(i - 5) & (JW_PATH_LEN - 1)] == '/' && f[(i - 4) & (JW_PATH_LEN - 1)] == 'j' &&
			       f[(i - 3) & (JW_PATH_LEN - 1)] == 'a' && f[(i - 2) & (JW_PATH_LEN - 1)] == 'v' &&
			       f[(i - 1) & (JW_PATH_LEN - 1)] == 'a';
	}
	return false;
}

/*
 * Every exec is stored in `identities`; only execs userspace must act on go through the
 * ring buffer: a java launcher (a JVM starts) and a tracked process (a JVM or attacher
 * whose image is replaced).  With jw_exec_parent_filter (tests, benchmarks) every exec of
 * that parent's children is sent instead.  Everything else costs userspace nothing.
 */
static __always_inline void on_exec(struct task_struct *t, const char *filename, __u32 old_pid)
{
	__u32 zero = 0;
	struct identity *id = bpf_map_lookup_elem(&identity_scratch, &zero);
	if (!id)
		return;
	__u32 tgid = BPF_CORE_READ(t, tgid);
	stat_inc(JW_STAT_EXECS);
	bpf_map_delete_elem(&milestones_seen, &tgid);   /* a new image: its milestones are new */

	struct jw_exec_image *img = &id->img;
	img->exec_ts_ns = bpf_ktime_get_ns();
	img->start_time_ns = BPF_CORE_READ(t, start_boottime);
	img->ppid = BPF_CORE_READ(t, real_parent, tgid);
	img->uid = BPF_CORE_READ(t, cred, euid.val);
	img->gid = BPF_CORE_READ(t, cred, egid.val);
	BPF_CORE_READ_STR_INTO(&img->comm, t, comm);
	BPF_CORE_READ_STR_INTO(&img->parent_comm, t, real_parent, comm);
	if (bpf_probe_read_kernel_str(img->filename, sizeof(img->filename), filename) < 0)
		img->filename[0] = 0;
	/* argv as laid out at exec: NUL-separated strings between arg_start and arg_end. */
	unsigned long a0 = BPF_CORE_READ(t, mm, arg_start);
	unsigned long a1 = BPF_CORE_READ(t, mm, arg_end);
	__u64 n = a1 > a0 ? a1 - a0 : 0;
	if (n > JW_ARGS_LEN)
		n = JW_ARGS_LEN;
	barrier_var(n);   /* keep the clamped value in the register the verifier checks */
	img->args_len = 0;
	if (n && bpf_probe_read_user(img->args, n, (void *)a0) == 0)
		img->args_len = n;

	bool java = ends_with_java(img->filename);
	bool send;
	if (jw_exec_parent_filter)
		send = img->ppid == jw_exec_parent_filter;
	else
		send = java || is_tracked(tgid);
	id->reported = send;
	id->_pad = 0;
	if (bpf_map_update_elem(&identities, &tgid, id, BPF_ANY))
		stat_inc(JW_STAT_IDENTITY_FULL);
	if (java)
		track(tgid);   /* a JDK launcher: its exit is reported */
	if (!send)
		return;

	struct jw_exec_event *e = reserve(sizeof(*e));
	if (!e) {
		stat_inc(JW_STAT_EXEC_DROPS);
		return;
	}
	fill_hdr(&e->hdr, JW_EV_EXEC, t);
	e->old_pid = old_pid;
	e->args_len = img->args_len;
	e->start_time_ns = img->start_time_ns;
	__builtin_memcpy(e->filename, img->filename, sizeof(e->filename));
	__builtin_memcpy(e->args, img->args, sizeof(e->args));
	submit_wake(e);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tpbtf_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(p, BPF_CORE_READ(bprm, filename), old_pid);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int tp_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 loc = ctx->__data_loc_filename & 0xffff;
	on_exec(bpf_get_current_task_btf(), (void *)ctx + loc, ctx->old_pid);
	return 0;
}

/* ---- exit of tracked thread groups -------------------------------------- */

static __always_inline void on_exit(struct task_struct *t)
{
	/* Only the last thread of the group (live hits 0 before this tracepoint). */
	if (BPF_CORE_READ(t, signal, live.counter) != 0)
		return;
	__u32 tgid = BPF_CORE_READ(t, tgid);
	bpf_map_delete_elem(&identities, &tgid);
	bpf_map_delete_elem(&milestones_seen, &tgid);
	/* Tracked groups only.  Two threads may both see live == 0: whoever deletes the
	 * entry reports. */
	if (bpf_map_delete_elem(&tracked, &tgid) != 0)
		return;
	struct jw_exit_event *e = reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, JW_EV_EXIT, t);
	e->exit_code = BPF_CORE_READ(t, exit_code);
	e->_pad = 0;
	e->start_time_ns = BPF_CORE_READ(t, group_leader, start_boottime);
	submit_quiet(e);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tpbtf_exit, struct task_struct *p)
{
	on_exit(p);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int tp_exit(void *ctx)
{
	on_exit(bpf_get_current_task_btf());
	return 0;
}

/* ---- thread names: JVM milestones --------------------------------------- */

static __always_inline bool name_is(const char *n, const char *lit, __u32 len)
{
	for (__u32 i = 0; i < JW_COMM_LEN; i++) {
		if (i > len)
			break;
		if (n[i] != lit[i])   /* compares the literal's NUL too */
			return false;
	}
	return true;
}

/*
 * HotSpot's thread names (15-char comm).  `always` marks names specific enough to
 * identify a JVM on their own; the rest count only inside tracked (known JVM) processes.
 */
static __always_inline __u32 milestone_of(const char *n, bool *always)
{
	*always = true;
	switch (n[0]) {
	case 'V':
		if (name_is(n, "VM Thread", 9))
			return JW_MS_VM_THREAD;
		if (name_is(n, "VM Periodic Tas", 15))
			break;
		return JW_MS_NONE;
	case 'S':
		if (name_is(n, "Signal Dispatch", 15))
			return JW_MS_SIGNAL_DISPATCH;
		if (name_is(n, "Service Thread", 14))
			break;
		return JW_MS_NONE;
	case 'A':
		if (name_is(n, "Attach Listener", 15))
			return JW_MS_ATTACH_LISTENER;
		return JW_MS_NONE;
	case 'm':
		*always = false;
		return name_is(n, "main", 4) ? JW_MS_MAIN : JW_MS_NONE;
	case 'R':
		if (name_is(n, "Reference Handl", 15))
			break;
		return JW_MS_NONE;
	case 'C':
		if (name_is(n, "C2 CompilerThre", 15) || name_is(n, "C1 CompilerThre", 15) ||
		    name_is(n, "Common-Cleaner", 14))
			break;
		return JW_MS_NONE;
	case 'F':
		if (name_is(n, "Finalizer", 9))
			break;
		return JW_MS_NONE;
	default:
		return JW_MS_NONE;
	}
	*always = false;
	return JW_MS_OTHER_JVM_THREAD;
}

/*
 * Whether milestone `ms` was already reported for this process image; marks it if not.
 * A flood of renames (any process may name a thread "VM Thread") costs one map lookup
 * each and reaches userspace once.  Two threads racing on the first rename may both pass.
 */
static __always_inline bool milestone_repeat(__u32 tgid, __u32 ms)
{
	__u32 bit = 1u << (ms & 31);
	__u32 *seen = bpf_map_lookup_elem(&milestones_seen, &tgid);

	if (!seen) {
		long err = bpf_map_update_elem(&milestones_seen, &tgid, &bit, BPF_NOEXIST);
		if (err == 0)
			return false;
		if (err != -17 /* EEXIST: another thread got there first */) {
			stat_inc(JW_STAT_MILESTONE_FULL);   /* report rather than lose it */
			return false;
		}
		seen = bpf_map_lookup_elem(&milestones_seen, &tgid);
		if (!seen)
			return false;
	}
	if (*seen & bit) {
		stat_inc(JW_STAT_MILESTONE_REPEATS);
		return true;
	}
	*seen |= bit;
	return false;
}

static __always_inline void on_rename(struct task_struct *t, const char *name_src)
{
	char name[JW_COMM_LEN] = {};
	bool always;

	bpf_probe_read_kernel_str(name, sizeof(name), name_src);
	__u32 ms = milestone_of(name, &always);
	if (ms == JW_MS_NONE)
		return;
	__u32 tgid = BPF_CORE_READ(t, tgid);
	bool tracked_already = is_tracked(tgid);
	if (!always && !tracked_already)
		return;
	if (milestone_repeat(tgid, ms))
		return;
	if (always && !tracked_already) {
		track(tgid);
		/* A JVM userspace saw no exec of (an embedded libjvm, jcmd): who it is.  Only
		 * the group itself can rename its threads, so current is in it. */
		if ((bpf_get_current_pid_tgid() >> 32) == tgid)
			send_identity(JW_ID_MILESTONE);
	}

	struct jw_thread_name_event *e = reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, JW_EV_THREAD_NAME, t);
	e->milestone = ms;
	e->_pad = 0;
	__builtin_memcpy(e->name, name, sizeof(e->name));
	submit_wake(e);
}

SEC("tp_btf/task_rename")
int BPF_PROG(tpbtf_rename, struct task_struct *task, const char *comm)
{
	on_rename(task, comm);
	return 0;
}

SEC("tracepoint/task/task_rename")
int tp_rename(struct trace_event_raw_task_rename *ctx)
{
	/* The classic event carries only the tid; renames are by the thread itself. */
	on_rename(bpf_get_current_task_btf(), ctx->newcomm);
	return 0;
}

