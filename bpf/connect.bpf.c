// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Connects to .java_pid<N> sockets: cgroup/connect_unix where the kernel has it, else the
 * connect syscall tracepoints (which deep mode also uses to follow the socket).
 * Linked with the other objects of bpf/ into one skeleton (Makefile).
 */
#include "jvmwatch.bpf.h"

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
	submit_quiet(e);
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

