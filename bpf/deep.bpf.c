// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Deep mode (opt-in, jvmwatchd --deep): syscall tracepoints for the request and reply
 * bytes on connected .java_pid sockets, their close, and .attach_pid trigger files.
 * Linked with the other objects of bpf/ into one skeleton (Makefile).
 */
#include "jvmwatch.bpf.h"

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
