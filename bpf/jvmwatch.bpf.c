// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * jvmwatch's eye: JVM lifecycles and attach traffic.
 *
 * Every event kind has a preferred hook and a fallback; userspace picks one per kind by
 * probing the kernel and disables the others with bpf_program__set_autoload():
 *   exec/exit/thread_name/sigquit: tp_btf/...  else tracepoint/<sched|task|signal>/...
 *   connect: cgroup/connect_unix                else tracepoint/syscalls/sys_enter_connect
 *   deep mode only (syscall tracepoints): trigger files, request/reply bytes, close.
 * Filters run before bpf_ringbuf_reserve; strings are read after, except where the string
 * is the filter (socket and trigger-file names).
 */
#include "jvmwatch.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

JW_ASSERT_EVENT_SIZES();

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
	submit(e);
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

/*
 * Sends the current process's stored exec (once per image) ahead of the event being
 * reported, so userspace knows the process as if it had seen its exec.  Call before
 * reserving that event: the ring buffer keeps reservation order.
 */
static __always_inline void send_identity(__u32 trigger)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct identity *id = bpf_map_lookup_elem(&identities, &tgid);

	if (!id) {
		stat_inc(JW_STAT_IDENTITY_MISS);
		return;
	}
	if (id->reported)
		return;
	/* A stale entry (an exit missed, a reused tgid) is not this process. */
	if (id->img.start_time_ns != BPF_CORE_READ(t, group_leader, start_boottime)) {
		bpf_map_delete_elem(&identities, &tgid);
		stat_inc(JW_STAT_IDENTITY_MISS);
		return;
	}
	/* Not atomic (no BPF atomics before v3/5.12): two threads racing here both send;
	 * userspace takes the second as the same image. */
	id->reported = 1;
	struct jw_identity_event *e = reserve(sizeof(*e));
	if (!e) {
		id->reported = 0;   /* lost and counted; the next event tries again */
		return;
	}
	fill_hdr(&e->hdr, JW_EV_IDENTITY, t);
	e->trigger = trigger;
	e->_pad = 0;
	__builtin_memcpy(&e->exec, &id->img, sizeof(e->exec));
	submit(e);
	stat_inc(JW_STAT_IDENTITY_SENT);
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
	submit(e);
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
	submit(e);
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

/* ---- SIGQUIT ------------------------------------------------------------- */

static __always_inline void on_sigquit(struct task_struct *target, __u32 target_tid,
				       __s32 result, __u32 si_code)
{
	/* The sender may live 3 ms (jattach): track it here so its exit is reported even
	 * before userspace has seen this event, and say who it is first. */
	track(bpf_get_current_pid_tgid() >> 32);
	send_identity(JW_ID_SIGQUIT);
	struct jw_sigquit_event *e = reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, JW_EV_SIGQUIT, bpf_get_current_task_btf());
	e->result = result;
	e->si_code = si_code;
	if (target) {
		__u32 pidns;
		e->target_pid = BPF_CORE_READ(target, tgid);
		e->target_tid = BPF_CORE_READ(target, pid);
		task_nspid(target, &e->target_nspid, &pidns);
		e->target_uid = BPF_CORE_READ(target, cred, uid.val);
		BPF_CORE_READ_STR_INTO(&e->target_comm, target, comm);
	} else {
		/* Classic tracepoint: only the target's tid is known; userspace resolves it. */
		e->target_pid = target_tid;
		e->target_tid = target_tid;
		e->target_nspid = 0;
		e->target_uid = (__u32)-1;
		e->target_comm[0] = 0;
	}
	submit(e);
}

SEC("tp_btf/signal_generate")
int BPF_PROG(tpbtf_signal, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	if (sig != JW_SIGQUIT)
		return 0;
	__u32 code;
	/* SEND_SIG_NOINFO (0) and SEND_SIG_PRIV (1) are not real pointers. */
	if ((unsigned long)info == 0)
		code = 0;            /* SI_USER */
	else if ((unsigned long)info == 1)
		code = 0x80;         /* SI_KERNEL */
	else
		code = BPF_CORE_READ(info, si_code);
	on_sigquit(task, 0, result, code);
	return 0;
}

SEC("tracepoint/signal/signal_generate")
int tp_signal(struct trace_event_raw_signal_generate *ctx)
{
	if (ctx->sig != JW_SIGQUIT)
		return 0;
	on_sigquit(0, ctx->pid, ctx->result, ctx->code);
	return 0;
}

/* ---- connects to .java_pid<N> ------------------------------------------- */

/* Scratch space for names that are the filter (read before reserve). */
struct scratch {
	char path[JW_PATH_LEN];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_map, &zero);
}

/*
 * s->path holds sun_path (len bytes, abstract names start with NUL).  Returns true and
 * the pid if the file-name part starts with ".java_pid".
 */
static __always_inline bool java_pid_socket(struct scratch *s, __u32 len, __u32 *pid)
{
	__u32 start = 0;

	if (len == 0 || len > JW_SUN_PATH)
		return false;
	if (s->path[0] == 0) {   /* abstract: shown as "@name"; its length is addrlen's */
		s->path[0] = '@';
		start = 1;
	}
	s->path[len & (JW_PATH_LEN - 1)] = 0;
	len = bounded_strlen(s->path, len);   /* pathname: the caller may pass sizeof(addr) */
	return match_pid_name(s->path, len, start, ".java_pid", 9, pid);
}

static __always_inline void emit_connect(struct scratch *s, __u32 len, __u32 pid, __s32 fd)
{
	track(bpf_get_current_pid_tgid() >> 32);   /* the attacher: report its exit */
	send_identity(JW_ID_CONNECT);
	struct jw_connect_event *e = reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, JW_EV_CONNECT, bpf_get_current_task_btf());
	e->target_pid = pid;
	e->fd = fd;
	e->path_len = len;
	e->_pad = 0;
	__builtin_memcpy(e->path, s->path, sizeof(e->path));
	submit(e);
}

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

/*
 * cgroup/connect_unix (BPF_CGROUP_UNIX_CONNECT = 49).  libbpf 1.1 does not know the
 * section, so it sits in a sock_addr section and userspace sets the attach type before
 * load.  Always returns 1: jvmwatch observes, it never blocks a connect.
 */
SEC("cgroup/connect4")
int cg_connect_unix(struct bpf_sock_addr *ctx)
{
	struct bpf_sock_addr_kern *k = bpf_cast_to_kern_ctx(ctx);
	struct scratch *s = get_scratch();
	__u32 pid = 0;

	if (!s)
		return 1;
	__u32 alen = BPF_CORE_READ(k, uaddrlen);
	struct sockaddr_un *sa = (struct sockaddr_un *)BPF_CORE_READ(k, uaddr);
	if (alen <= 2)
		return 1;
	__u64 len = alen - 2;
	if (len > JW_SUN_PATH)
		len = JW_SUN_PATH;
	barrier_var(len);
	if (bpf_probe_read_kernel(s->path, len, sa->sun_path))
		return 1;
	if (java_pid_socket(s, len, &pid))
		emit_connect(s, len, pid, -1);
	return 1;
}

/* ---- syscall tracepoints: connect fallback and deep mode ------------------ */

struct sock_key {
	__u32 tgid;
	__s32 fd;
};
struct sock_state {
	__u32 written;   /* request bytes captured so far */
	__u32 read;      /* reply bytes captured so far */
};
/* Connected .java_pid sockets (deep mode).  LRU: a client that dies without close(). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct sock_key);
	__type(value, struct sock_state);
} java_socks SEC(".maps");

/* connect() in flight on a .java_pid socket, by pid_tgid -> fd. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __s32);
} pending_connect SEC(".maps");

struct pending_read {
	__u64 buf;
	__s32 fd;
	__u32 _pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct pending_read);
} pending_reads SEC(".maps");

#define JW_MAX_WRITE_CAPTURE (8 * JW_DATA_LEN)
#define JW_MAX_READ_CAPTURE  JW_DATA_LEN

SEC("tracepoint/syscalls/sys_enter_connect")
int sc_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	struct scratch *s;
	__u16 family = 0;
	__u32 pid = 0;
	void *uaddr = (void *)ctx->args[1];
	__u32 alen = (__u32)ctx->args[2];
	__s32 fd = (__s32)ctx->args[0];

	if (alen <= 2 || bpf_probe_read_user(&family, sizeof(family), uaddr) || family != JW_AF_UNIX)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	__u64 len = alen - 2;
	if (len > JW_SUN_PATH)
		len = JW_SUN_PATH;
	barrier_var(len);
	if (bpf_probe_read_user(s->path, len, uaddr + 2))
		return 0;
	if (!java_pid_socket(s, len, &pid))
		return 0;
	if (jw_connect_via_syscall)
		emit_connect(s, len, pid, fd);
	if (jw_deep) {
		__u64 id = bpf_get_current_pid_tgid();
		if (bpf_map_update_elem(&pending_connect, &id, &fd, BPF_ANY))
			stat_inc(JW_STAT_DEEP_MAP_FULL);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int sc_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__s32 *fd = bpf_map_lookup_elem(&pending_connect, &id);

	if (!fd)
		return 0;
	struct sock_key k = { .tgid = id >> 32, .fd = *fd };
	bpf_map_delete_elem(&pending_connect, &id);
	if (ctx->ret == 0 || ctx->ret == -115 /* EINPROGRESS */) {
		struct sock_state st = {};
		if (bpf_map_update_elem(&java_socks, &k, &st, BPF_ANY))
			stat_inc(JW_STAT_DEEP_MAP_FULL);
	}
	return 0;
}

static __always_inline struct sock_state *java_sock(__s32 fd, struct sock_key *k)
{
	k->tgid = bpf_get_current_pid_tgid() >> 32;
	k->fd = fd;
	return bpf_map_lookup_elem(&java_socks, k);
}

/* Emits up to JW_DATA_LEN bytes of a user buffer as a data event. */
static __always_inline void emit_data(__u32 type, __s32 fd, const void *buf, __u64 total)
{
	__u64 n = total < JW_DATA_LEN ? total : JW_DATA_LEN;

	if (n == 0)
		return;
	struct jw_sock_data_event *e = reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, type, bpf_get_current_task_btf());
	e->fd = fd;
	e->total_len = total > 0xffffffffULL ? 0xffffffffU : (__u32)total;
	e->_pad = 0;
	barrier_var(n);
	if (n > JW_DATA_LEN)
		n = JW_DATA_LEN;
	barrier_var(n);
	if (bpf_probe_read_user(e->data, n, buf))
		n = 0;
	e->len = n;
	submit(e);
}

static __always_inline void on_write(__s32 fd, const void *buf, __u64 count)
{
	struct sock_key k;
	struct sock_state *st = java_sock(fd, &k);

	if (!st || st->written >= JW_MAX_WRITE_CAPTURE)
		return;
	st->written += count < JW_DATA_LEN ? (__u32)count : JW_DATA_LEN;
	emit_data(JW_EV_SOCK_WRITE, fd, buf, count);
}

SEC("tracepoint/syscalls/sys_enter_write")
int sc_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	on_write((__s32)ctx->args[0], (const void *)ctx->args[1], ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int sc_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	on_write((__s32)ctx->args[0], (const void *)ctx->args[1], ctx->args[2]);
	return 0;
}

struct jw_iovec {
	__u64 base;
	__u64 len;
};

SEC("tracepoint/syscalls/sys_enter_writev")
int sc_enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	__s32 fd = (__s32)ctx->args[0];
	const struct jw_iovec *iov = (const void *)ctx->args[1];
	__u32 cnt = (__u32)ctx->args[2];
	struct sock_key k;
	struct sock_state *st = java_sock(fd, &k);

	if (!st)
		return 0;
	/* One event per segment, the first 8 segments. */
	for (__u32 i = 0; i < 8; i++) {
		struct jw_iovec v;
		if (i >= cnt || st->written >= JW_MAX_WRITE_CAPTURE)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			break;
		st->written += v.len < JW_DATA_LEN ? (__u32)v.len : JW_DATA_LEN;
		emit_data(JW_EV_SOCK_WRITE, fd, (const void *)v.base, v.len);
	}
	return 0;
}

static __always_inline void on_read_enter(__s32 fd, __u64 buf)
{
	struct sock_key k;
	struct sock_state *st = java_sock(fd, &k);

	if (!st || st->read >= JW_MAX_READ_CAPTURE)
		return;
	__u64 id = bpf_get_current_pid_tgid();
	struct pending_read pr = { .buf = buf, .fd = fd };
	if (bpf_map_update_elem(&pending_reads, &id, &pr, BPF_ANY))
		stat_inc(JW_STAT_DEEP_MAP_FULL);
}

static __always_inline void on_read_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending_read *pr = bpf_map_lookup_elem(&pending_reads, &id);

	if (!pr)
		return;
	struct pending_read copy = *pr;
	bpf_map_delete_elem(&pending_reads, &id);
	if (ret <= 0)
		return;
	struct sock_key k;
	struct sock_state *st = java_sock(copy.fd, &k);
	if (st)
		st->read += ret < JW_DATA_LEN ? (__u32)ret : JW_DATA_LEN;
	emit_data(JW_EV_SOCK_READ, copy.fd, (const void *)copy.buf, (__u64)ret);
}

SEC("tracepoint/syscalls/sys_enter_read")
int sc_enter_read(struct trace_event_raw_sys_enter *ctx)
{
	on_read_enter((__s32)ctx->args[0], ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int sc_exit_read(struct trace_event_raw_sys_exit *ctx)
{
	on_read_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int sc_enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	on_read_enter((__s32)ctx->args[0], ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int sc_exit_recvfrom(struct trace_event_raw_sys_exit *ctx)
{
	on_read_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int sc_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	struct sock_key k;
	__s32 fd = (__s32)ctx->args[0];

	if (!java_sock(fd, &k))
		return 0;
	bpf_map_delete_elem(&java_socks, &k);
	struct jw_sock_close_event *e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, JW_EV_SOCK_CLOSE, bpf_get_current_task_btf());
	e->fd = fd;
	e->_pad = 0;
	submit(e);
	return 0;
}

/* ---- deep: .attach_pid<N> trigger files ----------------------------------- */

static __always_inline void on_open(const char *uname, __u64 flags)
{
	__u32 pid = 0;

	if (!(flags & JW_O_CREAT))
		return;
	struct scratch *s = get_scratch();
	if (!s)
		return;
	long n = bpf_probe_read_user_str(s->path, sizeof(s->path), uname);
	if (n <= 1)
		return;
	__u32 len = (__u32)n - 1;
	if (!match_pid_name(s->path, len, 0, ".attach_pid", 11, &pid))
		return;
	send_identity(JW_ID_TRIGGER);
	struct jw_trigger_event *e = reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, JW_EV_TRIGGER, bpf_get_current_task_btf());
	e->target_pid = pid;
	e->_pad = 0;
	__builtin_memcpy(e->path, s->path, sizeof(e->path));
	submit(e);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int sc_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	on_open((const char *)ctx->args[1], ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int sc_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	on_open((const char *)ctx->args[0], ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_creat")
int sc_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	on_open((const char *)ctx->args[0], JW_O_CREAT);
	return 0;
}
