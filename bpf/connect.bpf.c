// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Connects to .java_pid<N> sockets: cgroup/connect_unix where the kernel has it, else the
 * connect syscall tracepoints (which deep mode also uses to follow the socket).
 * Linked with the other objects of bpf/ into one skeleton (Makefile).
 */
#include "jvmwatch.bpf.h"
#include "jvmwatch/deny_maps.h"


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

struct deny_decision {
	__u8 verdict;   /* enum jw_deny_verdict */
	__u8 gen;
	__u16 rule;
};

static __always_inline void emit_connect(struct scratch *s, __u32 len, __u32 pid, __s32 fd,
					 struct deny_decision d)
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
	e->verdict = d.verdict;
	e->policy_gen = d.gen;
	e->rule = d.rule;
	__builtin_memcpy(e->path, s->path, sizeof(e->path));
	submit_quiet(e);
}

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

/*
 * Deny rules (docs/policy.md, "Deny rules").  Userspace compiles each rule into bits of
 * 128-bit masks: which JVMs a rule covers (by the name a caller can reach them under),
 * which exes (dev, ino), uids and cgroups it allows.  denied = covering & ~allowed.
 * Two slots: userspace fills the idle one and then flips deny_active, so a reload is
 * seen whole or not at all.  jvmwatchd and its direct children always pass.
 */
const volatile __u32 jw_deny_exempt_tgid __weak = 0;

/* 0: no deny rules; 1 or 2: slot 0 or 1 is in force. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} deny_active SEC(".maps") __weak;
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct jw_deny_slot);
} deny_slots SEC(".maps") __weak;
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);   /* resized by userspace before load */
	__type(key, struct jw_deny_target_key);
	__type(value, struct jw_deny_mask);
} deny_targets SEC(".maps") __weak;
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);   /* 4096 per half (deny_rules.cc) */
	__type(key, struct jw_deny_exe_key);
	__type(value, struct jw_deny_mask);
} deny_allow_exe SEC(".maps") __weak;
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);   /* 4096 per half (deny_rules.cc) */
	__type(key, struct jw_deny_id_key);
	__type(value, struct jw_deny_mask);
} deny_allow_uid SEC(".maps") __weak;
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);   /* 4096 per half (deny_rules.cc) */
	__type(key, struct jw_deny_id_key);
	__type(value, struct jw_deny_mask);
} deny_allow_cgroup SEC(".maps") __weak;

/* P of a path starting "/proc/<P>/root/", else 0 (the form JDK clients use). */
static __always_inline __u32 proc_root_pid(const char *s, __u32 len)
{
	const char pre[] = "/proc/", root[] = "/root/";
	__u64 v = 0;
	__u32 i;

	if (len < 14)
		return 0;
	for (i = 0; i < 6; i++)
		if (s[i] != pre[i])
			return 0;
	for (i = 6; i < 16; i++) {
		char c = s[i];
		if (c < '0' || c > '9')
			break;
		v = v * 10 + (c - '0');
	}
	if (i == 6 || v == 0 || v > 0x7fffffff || i + 6 > len)
		return 0;
	for (__u32 k = 0; k < 6; k++)
		if (s[(i + k) & (JW_PATH_LEN - 1)] != root[k])
			return 0;
	return (__u32)v;
}

static __always_inline void mask_or(struct jw_deny_mask *m, const struct jw_deny_mask *x)
{
	if (x) {
		m->w[0] |= x->w[0];
		m->w[1] |= x->w[1];
	}
}

static __always_inline __u32 lowest_bit(__u64 w0, __u64 w1)
{
	__u64 x = w0 ? w0 : w1;
	__u32 n = w0 ? 0 : 64;

	x &= -x;
	if (x & 0xffffffff00000000ULL) n += 32;
	if (x & 0xffff0000ffff0000ULL) n += 16;
	if (x & 0xff00ff00ff00ff00ULL) n += 8;
	if (x & 0xf0f0f0f0f0f0f0f0ULL) n += 4;
	if (x & 0xccccccccccccccccULL) n += 2;
	if (x & 0xaaaaaaaaaaaaaaaaULL) n += 1;
	return n;
}

/* What the deny rules say about the current task connecting to s->path (a .java_pid name
 * whose number is `pid`).  Lookups only: nothing is read unless a rule covers the name. */
static __always_inline struct deny_decision deny_decide(struct scratch *s, __u32 len, __u32 pid)
{
	struct deny_decision d = {};
	__u32 zero = 0;
	__u32 *active = bpf_map_lookup_elem(&deny_active, &zero);

	if (!active || *active == 0 || *active > 2)
		return d;
	__u32 slot = *active - 1;
	struct jw_deny_slot *cfg = bpf_map_lookup_elem(&deny_slots, &slot);
	if (!cfg)
		return d;
	struct task_struct *t = bpf_get_current_task_btf();
	struct jw_deny_target_key tk = {
		.slot = slot,
		.mntns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum),
		.root_pid = proc_root_pid(s->path, len),
		.pid = pid,
	};
	struct jw_deny_mask *cover = bpf_map_lookup_elem(&deny_targets, &tk);
	if (!cover) {
		/* A name the daemon does not know for any JVM (an fd-relative path such as
		 * /proc/self/fd/<dirfd>/.java_pid<N>, another process's root): every tracked
		 * JVM whose own pid is N, conservatively. */
		struct jw_deny_target_key any = { .slot = slot, .pid = pid };
		cover = bpf_map_lookup_elem(&deny_targets, &any);
	}
	if (!cover || (cover->w[0] == 0 && cover->w[1] == 0))
		return d;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (jw_deny_exempt_tgid &&
	    (tgid == jw_deny_exempt_tgid || BPF_CORE_READ(t, real_parent, tgid) == jw_deny_exempt_tgid))
		return d;

	struct jw_deny_mask allowed = {};
	struct inode *ino = BPF_CORE_READ(t, mm, exe_file, f_inode);
	struct jw_deny_exe_key ek = {
		.slot = slot,
		.dev = BPF_CORE_READ(ino, i_sb, s_dev),
		.ino = BPF_CORE_READ(ino, i_ino),
	};
	mask_or(&allowed, bpf_map_lookup_elem(&deny_allow_exe, &ek));
	struct jw_deny_id_key uk = { .slot = slot, .id = BPF_CORE_READ(t, cred, euid.val) };
	mask_or(&allowed, bpf_map_lookup_elem(&deny_allow_uid, &uk));
	struct jw_deny_id_key ck = { .slot = slot, .id = bpf_get_current_cgroup_id() };
	mask_or(&allowed, bpf_map_lookup_elem(&deny_allow_cgroup, &ck));

	__u64 d0 = cover->w[0] & ~allowed.w[0], d1 = cover->w[1] & ~allowed.w[1];
	if (!d0 && !d1)
		return d;
	__u64 e0 = d0 & cfg->enforce.w[0], e1 = d1 & cfg->enforce.w[1];
	d.gen = (__u8)cfg->gen;
	if (e0 || e1) {
		d.verdict = JW_DENY_DENIED;
		d.rule = lowest_bit(e0, e1);
		stat_inc(JW_STAT_DENIED);
	} else {
		d.verdict = JW_DENY_WOULD;
		d.rule = lowest_bit(d0, d1);
		stat_inc(JW_STAT_WOULD_DENY);
	}
	return d;
}

/*
 * cgroup/connect_unix (BPF_CGROUP_UNIX_CONNECT = 49).  libbpf 1.1 does not know the
 * section, so it sits in a sock_addr section and userspace sets the attach type before
 * load.  Returns 1 (let it through) unless an enforcing deny rule refuses the caller:
 * 0 makes connect() fail with EPERM.
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
	if (!java_pid_socket(s, len, &pid))
		return 1;
	struct deny_decision d = deny_decide(s, len, pid);
	emit_connect(s, len, pid, -1, d);
	return d.verdict == JW_DENY_DENIED ? 0 : 1;
}

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
	if (jw_connect_via_syscall) {
		struct deny_decision none = {};   /* a tracepoint cannot refuse: no verdict */
		emit_connect(s, len, pid, fd, none);
	}
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

