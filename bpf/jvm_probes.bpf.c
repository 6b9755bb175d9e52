// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The JVM side: uprobes on the JDK's own libjvm.so and libinstrument.so, attached by
 * userspace once per library file (userspace/observer/jdk_probe_symbols.*: which symbol,
 * which signature), so they fire in every JVM of that JDK, whatever name an attacher
 * connected through.  Nothing here runs outside those few JDK functions: no syscall of
 * the host is slowed.  Linked with the other objects of bpf/ into one skeleton.
 *
 * (BPF_KPROBE/BPF_KRETPROBE: the uprobe argument macros of libbpf 1.1; the same registers.)
 *
 * Request objects have no BTF: their layout is HotSpot's (attachListener.hpp), one per
 * protocol era (enum jw_jvm_layout), chosen by the signature of the read_request found.
 */
#include "jvmwatch.bpf.h"

#define JW_S_IFMT   00170000
#define JW_S_IFSOCK 0140000
#define JW_MAX_FDS  (1 << 20)

/* v1 (JDK 6-23): class AttachOperation { vptr; char _name[17]; char _arg[3][1025]; } */
#define JW_V1_NAME_OFF  8
#define JW_V1_ARG_OFF   25
#define JW_V1_ARG_SIZE  1025
/* v2 (JDK 24+): { vptr; char* _name; GrowableArrayCHeap<char*> _args {int len; int cap;
 * char** data;} }; the socket reader is SocketChannel { 2 vptrs; int _socket; }. */
#define JW_V2_NAME_OFF  8
#define JW_V2_ARGS_LEN_OFF  16
#define JW_V2_ARGS_DATA_OFF 24
#define JW_V2_READER_FD_OFF 16

/* A read_request in flight, per JVM thread: what the entry learnt for the return. */
struct pending_request {
	__u64 op;             /* v2: the AttachOperation being filled */
	__u64 peer_start_ns;
	__u32 peer_pid, peer_uid, peer_gid;
	__s32 fd;
	__u32 flags;
	__u32 layout;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct pending_request);
} jvm_requests SEC(".maps") __weak;

/* The task a struct pid stands for (its first PIDTYPE_PID user). */
static __always_inline struct task_struct *task_of_pid(struct pid *p)
{
	struct hlist_node *first = BPF_CORE_READ(p, tasks[PIDTYPE_PID].first);

	if (!first)
		return 0;
	return (struct task_struct *)((char *)first -
				      bpf_core_field_offset(struct task_struct, pid_links));
}

/* The unix socket open on `fd` in the current process, or 0. */
static __always_inline struct sock *unix_sock_of_fd(__s32 fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds;
	struct file *f = 0;

	if (fd < 0 || fd >= JW_MAX_FDS || (__u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return 0;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & JW_S_IFMT) != JW_S_IFSOCK)
		return 0;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != JW_AF_UNIX)
		return 0;
	return sk;
}

/*
 * Who connected to the socket the JVM accepted: the kernel recorded the connecting
 * process at connect (sk_peer_pid, sk_peer_cred), whatever path it used.  Also whether
 * that process is the JVM itself or descends from it (a self-attach), and its identity
 * is sent ahead (once per image) so a short-lived attacher is known after it exits.
 */
static __always_inline void fill_peer(struct pending_request *r, __s32 fd)
{
	struct sock *sk = unix_sock_of_fd(fd);
	__u32 self = bpf_get_current_pid_tgid() >> 32;

	r->fd = fd;
	if (!sk)
		return;
	struct pid *pp = BPF_CORE_READ(sk, sk_peer_pid);
	if (!pp)
		return;
	r->peer_pid = BPF_CORE_READ(pp, numbers[0].nr);
	r->peer_uid = BPF_CORE_READ(sk, sk_peer_cred, euid.val);
	r->peer_gid = BPF_CORE_READ(sk, sk_peer_cred, egid.val);
	r->flags |= JW_JA_PEER_KNOWN;

	struct task_struct *pt = task_of_pid(pp);
	if (!pt)
		return;
	r->peer_start_ns = BPF_CORE_READ(pt, group_leader, start_boottime);
	struct task_struct *a = pt;
	for (int i = 0; i < 16 && a; i++) {
		__u32 tg = BPF_CORE_READ(a, tgid);
		if (tg == self) {
			r->flags |= JW_JA_SELF;
			break;
		}
		if (tg <= 1)
			break;
		a = BPF_CORE_READ(a, real_parent);
	}
	if (r->peer_pid != self) {
		track(r->peer_pid);   /* report the attacher's exit */
		send_identity_of(pt, r->peer_pid, JW_ID_JVM_PEER);
	}
}

static __always_inline void save_request(struct pending_request *r)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (bpf_map_update_elem(&jvm_requests, &id, r, BPF_ANY))
		stat_inc(JW_STAT_JVM_PENDING_MISS);
}

/* LinuxAttachListener::read_request(int fd) -> AttachOperation* (v1 JDKs). */
SEC("uprobe")
int BPF_KPROBE(jvm_read_request_fd, int fd)
{
	struct pending_request r = { .layout = JW_LAYOUT_V1 };

	fill_peer(&r, fd);
	save_request(&r);
	return 0;
}

/* AttachOperation::RequestReader::read_request(this, op, writer) -> bool (v2 JDKs). */
SEC("uprobe")
int BPF_KPROBE(jvm_read_request_reader, void *reader, void *op)
{
	struct pending_request r = { .layout = JW_LAYOUT_V2, .op = (__u64)op };
	__s32 fd = -1;

	if (bpf_probe_read_user(&fd, sizeof(fd), (char *)reader + JW_V2_READER_FD_OFF))
		fd = -1;
	fill_peer(&r, fd);
	save_request(&r);
	return 0;
}

static __always_inline void read_v1(struct jw_jvm_attach_event *e, const char *op)
{
	if (bpf_probe_read_user_str(e->name, sizeof(e->name), op + JW_V1_NAME_OFF) < 0)
		e->name[0] = 0;
	for (int i = 0; i < 3; i++) {
		if (bpf_probe_read_user_str(e->args[i], JW_JVM_ARG_LEN,
					    op + JW_V1_ARG_OFF + i * JW_V1_ARG_SIZE) < 0)
			e->args[i][0] = 0;
	}
	e->args[3][0] = 0;
	e->arg_count = 3;
}

static __always_inline void read_v2(struct jw_jvm_attach_event *e, const char *op)
{
	const char *name = 0;
	const char **data = 0;
	int len = 0;

	e->name[0] = 0;
	if (!bpf_probe_read_user(&name, sizeof(name), op + JW_V2_NAME_OFF) && name &&
	    bpf_probe_read_user_str(e->name, sizeof(e->name), name) < 0)
		e->name[0] = 0;
	if (bpf_probe_read_user(&len, sizeof(len), op + JW_V2_ARGS_LEN_OFF) || len < 0)
		len = 0;
	if (bpf_probe_read_user(&data, sizeof(data), op + JW_V2_ARGS_DATA_OFF))
		data = 0;
	e->arg_count = len > 0xffff ? 0xffff : len;
	for (int i = 0; i < JW_JVM_ARGS; i++) {
		const char *a = 0;
		e->args[i][0] = 0;
		if (i >= len || !data || bpf_probe_read_user(&a, sizeof(a), &data[i]) || !a)
			continue;
		if (bpf_probe_read_user_str(e->args[i], JW_JVM_ARG_LEN, a) < 0)
			e->args[i][0] = 0;
	}
}

/* The request as the JVM parsed it, from the object the entry saw or the return value. */
static __always_inline void emit_request(__u64 op_from_ret, bool ok)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending_request *r = bpf_map_lookup_elem(&jvm_requests, &id);

	if (!r) {
		stat_inc(JW_STAT_JVM_PENDING_MISS);
		return;
	}
	struct pending_request req = *r;
	bpf_map_delete_elem(&jvm_requests, &id);
	struct jw_jvm_attach_event *e = reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, JW_EV_JVM_ATTACH, bpf_get_current_task_btf());
	e->peer_pid = req.peer_pid;
	e->peer_uid = req.peer_uid;
	e->peer_gid = req.peer_gid;
	e->peer_start_ns = req.peer_start_ns;
	e->fd = req.fd;
	e->flags = req.flags;
	e->layout = req.layout;
	e->arg_count = 0;
	e->name[0] = 0;
	for (int i = 0; i < JW_JVM_ARGS; i++)
		e->args[i][0] = 0;
	const char *op = (const char *)(req.layout == JW_LAYOUT_V1 ? op_from_ret : req.op);
	if (ok && op) {
		e->flags |= JW_JA_OP_READ;
		if (req.layout == JW_LAYOUT_V1)
			read_v1(e, op);
		else
			read_v2(e, op);
	}
	submit_quiet(e);
}

SEC("uretprobe")
int BPF_KRETPROBE(jvm_read_request_fd_ret, void *op)
{
	emit_request((__u64)op, op != 0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(jvm_read_request_reader_ret, int ok)
{
	emit_request(0, (ok & 0xff) != 0);
	return 0;
}

static __always_inline void emit_agent(__u32 via, const char *agent, __u32 absolute,
				       const char *options)
{
	struct jw_jvm_agent_event *e = reserve(sizeof(*e));

	if (!e)
		return;
	fill_hdr(&e->hdr, JW_EV_JVM_AGENT, bpf_get_current_task_btf());
	e->via = via;
	e->absolute = absolute;
	if (!agent || bpf_probe_read_user_str(e->agent, sizeof(e->agent), agent) < 0)
		e->agent[0] = 0;
	if (!options || bpf_probe_read_user_str(e->options, sizeof(e->options), options) < 0)
		e->options[0] = 0;
	submit_wake(e);   /* hashed before the jar can go: wake now */
}

/* JvmtiExport::load_agent_library(agent, absParam "true"/"false", options, out): JDK 9-20. */
SEC("uprobe")
int BPF_KPROBE(jvm_load_agent_strings, const char *agent, const char *abs_param, const char *options)
{
	char a[2] = {};
	__u32 absolute = 2;

	if (abs_param && !bpf_probe_read_user(a, sizeof(a), abs_param))
		absolute = a[0] == 't';
	emit_agent(JW_AGENT_VIA_LOAD_LIBRARY, agent, absolute, options);
	return 0;
}

/* JvmtiAgentList::load_agent(agent, bool absolute, options, out): JDK 21+. */
SEC("uprobe")
int BPF_KPROBE(jvm_load_agent_bool, const char *agent, int absolute, const char *options)
{
	emit_agent(JW_AGENT_VIA_AGENT_LIST, agent, (absolute & 0xff) != 0, options);
	return 0;
}

/* JvmtiExport::load_agent_library(AttachOperation* op, out): JDK 8, args in a v1 op. */
SEC("uprobe")
int BPF_KPROBE(jvm_load_agent_op, const char *op)
{
	char a[2] = {};
	__u32 absolute = 2;

	if (op && !bpf_probe_read_user(a, sizeof(a), op + JW_V1_ARG_OFF + JW_V1_ARG_SIZE))
		absolute = a[0] == 't';
	emit_agent(JW_AGENT_VIA_LOAD_LIBRARY, op ? op + JW_V1_ARG_OFF : 0, absolute,
		   op ? op + JW_V1_ARG_OFF + 2 * JW_V1_ARG_SIZE : 0);
	return 0;
}

/* libinstrument's Agent_OnAttach(JavaVM*, char* options, void*): "<jar>[=<options>]". */
SEC("uprobe")
int BPF_KPROBE(jvm_agent_on_attach, void *vm, const char *options)
{
	emit_agent(JW_AGENT_VIA_ON_ATTACH, 0, 2, options);
	return 0;
}

static __always_inline void emit_dcmd(__u32 source, const char *cmdline)
{
	struct jw_jvm_dcmd_event *e = reserve(sizeof(*e));

	if (!e)
		return;
	fill_hdr(&e->hdr, JW_EV_JVM_DCMD, bpf_get_current_task_btf());
	e->source = source;
	e->_pad = 0;
	if (!cmdline || bpf_probe_read_user_str(e->cmdline, sizeof(e->cmdline), cmdline) < 0)
		e->cmdline[0] = 0;
	submit_quiet(e);
}

/* DCmd::parse_and_execute(DCmdSource source, outputStream*, const char* cmdline, ...). */
SEC("uprobe")
int BPF_KPROBE(jvm_dcmd, int source, void *out, const char *cmdline)
{
	emit_dcmd(source, cmdline);
	return 0;
}

/* DCmd::Executor::parse_and_execute(this, cmdline, ...): class Executor { vptr;
 * DCmdSource _source; outputStream* _out; } (JDK 25+). */
#define JW_EXECUTOR_SOURCE_OFF 8
SEC("uprobe")
int BPF_KPROBE(jvm_dcmd_executor, void *executor, const char *cmdline)
{
	__u32 source = 0;

	if (!executor || bpf_probe_read_user(&source, sizeof(source),
					     (char *)executor + JW_EXECUTOR_SOURCE_OFF))
		source = 0;
	emit_dcmd(source, cmdline);
	return 0;
}

/* Each attach operation's handler (static jint handler(AttachOperation*, out)): its
 * return value is the result code the JVM answers first. */
SEC("uretprobe")
int BPF_KRETPROBE(jvm_op_result, int result)
{
	struct jw_jvm_result_event *e = reserve(sizeof(*e));

	if (!e)
		return 0;
	fill_hdr(&e->hdr, JW_EV_JVM_RESULT, bpf_get_current_task_btf());
	e->result = result;
	e->_pad = 0;
	submit_quiet(e);
	return 0;
}
