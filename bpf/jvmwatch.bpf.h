/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps, rodata tunables and small helpers shared by the jvmwatch BPF programs.
 * Included by every bpf/ object; the Makefile links them into one object and one
 * skeleton.  Maps and tunables are __weak so each object may define them and the
 * linker keeps one.
 */
#ifndef JVMWATCH_BPF_H
#define JVMWATCH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "jvmwatch/events.h"

#define JW_AF_UNIX  1
#define JW_O_CREAT  0100
#define JW_SIGQUIT  3
#define JW_SUN_PATH 108

/* Tunables, set by userspace before load (skeleton rodata). */
const volatile __u32 jw_exec_parent_filter __weak = 0;  /* emit execs of this tgid's children only */
const volatile bool jw_deep __weak = false;              /* deep mode programs are loaded */
const volatile bool jw_connect_via_syscall __weak = false; /* connect events from sys_enter_connect */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);   /* resized by userspace before load */
} events SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, JW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps") __weak;

/* tgids whose whole-group exit is reported: JVMs and attachers. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);     /* resized by userspace before load */
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps") __weak;

/*
 * The identity every exec leaves, per tgid (jw_exec_image), so that a process that later
 * signals or connects (an attacher lives ~3 ms) is described exactly as its exec was,
 * without sending every exec on the host to userspace.  LRU: when more processes live
 * than it holds, the longest-unused entry goes (that process falls back to /proc);
 * removed at exit.  `reported`: userspace has this image already (exec or identity event).
 */
struct identity {
	struct jw_exec_image img;
	__u32 reported;
	__u32 _pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);     /* resized by userspace before load (tables.max_processes) */
	__type(key, __u32);
	__type(value, struct identity);
} identities SEC(".maps") __weak;

/* Built here, then copied into `identities` (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct identity);
} identity_scratch SEC(".maps") __weak;

/* Milestones (1 << enum jw_milestone) already reported per tgid: each at most once per
 * process image.  Reset at exec, removed at exit; LRU bounds it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);     /* resized by userspace before load */
	__type(key, __u32);
	__type(value, __u32);
} milestones_seen SEC(".maps") __weak;

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1;
}

/* Reserve or count the loss: nothing is dropped silently. */
static __always_inline void *reserve(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		stat_inc(JW_STAT_RINGBUF_DROPS);
	return e;
}

/*
 * Wake-ups.  The kernel wakes the consumer for a plain submit only when the consumer has
 * caught up to that very record; a quiet record still pending would make every later
 * one silent until the consumer's 100 ms poll timeout.  So:
 *  - submit_wake: what is acted on at once (a java exec and JVM milestones: the
 *    injector; an agent load: its file is read before the loader can delete it); rare:
 *    always wakes.
 *  - submit: the kernel's adaptive rule (deep mode's data records).
 *  - submit_quiet: what nothing waits on at once (an attach's evidence, exits): no
 *    wake-up of its own; the consumer takes it with the next woken record or at its poll
 *    timeout, in order.  On a small host a wake-up per event cost an attacher ~20% of a
 *    warm attach (bench/jvm_side.sh).  A flood (a quarter of the ring unread) wakes the
 *    consumer so the ring drains before it fills.
 */
static __always_inline void submit_wake(void *e)
{
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	stat_inc(JW_STAT_EVENTS);
}

static __always_inline void submit(void *e)
{
	bpf_ringbuf_submit(e, 0);
	stat_inc(JW_STAT_EVENTS);
}

static __always_inline void submit_quiet(void *e)
{
	__u64 unread = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
	bpf_ringbuf_submit(e, unread > size / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	stat_inc(JW_STAT_EVENTS);
}

static __always_inline void track(__u32 tgid)
{
	__u8 one = 1;
	long err = bpf_map_update_elem(&tracked, &tgid, &one, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST */)
		stat_inc(JW_STAT_TRACKED_FULL);
}

static __always_inline bool is_tracked(__u32 tgid)
{
	return bpf_map_lookup_elem(&tracked, &tgid) != 0;
}

/* tgid as seen in the task's own pid namespace, and that namespace's inode. */
static __always_inline void task_nspid(struct task_struct *t, __u32 *nspid, __u32 *pidns)
{
	struct pid *p = BPF_CORE_READ(t, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &p->numbers[level & 31]);
	*nspid = up.nr;
	*pidns = up.ns ? BPF_CORE_READ(up.ns, ns.inum) : 0;
}

/* The common header, describing task `t` (normally current). */
static __always_inline void fill_hdr(struct jw_event_hdr *h, __u32 type, struct task_struct *t)
{
	h->type = type;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_ns = bpf_ktime_get_ns();
	h->pid = BPF_CORE_READ(t, tgid);
	h->tid = BPF_CORE_READ(t, pid);
	h->uid = BPF_CORE_READ(t, cred, euid.val);
	h->gid = BPF_CORE_READ(t, cred, egid.val);
	h->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	h->mntns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	task_nspid(t, &h->nspid, &h->pidns);
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	BPF_CORE_READ_STR_INTO(&h->comm, t, comm);
}

/* strlen within the first `max` bytes (max < JW_PATH_LEN).  Breaks only: linear states. */
static __always_inline __u32 bounded_strlen(const char *s, __u32 max)
{
	__u32 len = 0;

	for (__u32 i = 0; i < JW_PATH_LEN - 1; i++) {
		if (i >= max || s[i] == 0)
			break;
		len = i + 1;
	}
	return len;
}

/*
 * Whether the file-name part of s[0..len) (after the last '/', or from `start`) is
 * exactly <prefix><1-10 digits>; the number goes to *num.  Works backwards from the end
 * so that no loop depends on where the last '/' is: the verifier sees only loops that
 * break, never a state per slash position.
 */
static __always_inline bool match_pid_name(const char *s, __u32 len, __u32 start,
					   const char *prefix, __u32 plen, __u32 *num)
{
	__u64 v = 0, mul = 1;
	__u32 digits = 0;

	for (__u32 i = 0; i < 10; i++) {
		if (i >= len)
			break;
		char c = s[(len - 1 - i) & (JW_PATH_LEN - 1)];
		if (c < '0' || c > '9')
			break;
		v += (__u64)(c - '0') * mul;
		mul *= 10;
		digits++;
	}
	if (digits == 0 || len < start + plen + digits || v > 0x7fffffff)
		return false;
	__u32 p = len - digits - plen;
	for (__u32 i = 0; i < 12; i++) {
		if (i >= plen)
			break;
		if (s[(p + i) & (JW_PATH_LEN - 1)] != prefix[i])
			return false;
	}
	if (p != start && s[(p - 1) & (JW_PATH_LEN - 1)] != '/')
		return false;
	*num = (__u32)v;
	return true;
}

/* Scratch space for names that are the filter (read before reserve). */
struct scratch {
	char path[JW_PATH_LEN];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps") __weak;

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_map, &zero);
}

/*
 * s->path holds sun_path (len bytes, abstract names start with NUL).  Returns true and
 * the pid if the file-name part starts with ".java_pid".
 */

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
} java_socks SEC(".maps") __weak;

/* connect() in flight on a .java_pid socket, by pid_tgid -> fd. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __s32);
} pending_connect SEC(".maps") __weak;


/*
 * Sends the current process's stored exec (once per image) ahead of the event being
 * reported, so userspace knows the process as if it had seen its exec.  Call before
 * reserving that event: the ring buffer keeps reservation order.
 */
static __always_inline void send_identity_of(struct task_struct *t, __u32 tgid, __u32 trigger)
{
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
	submit_quiet(e);
	stat_inc(JW_STAT_IDENTITY_SENT);
}


static __always_inline void send_identity(__u32 trigger)
{
	send_identity_of(bpf_get_current_task_btf(), bpf_get_current_pid_tgid() >> 32, trigger);
}

#endif /* JVMWATCH_BPF_H */
