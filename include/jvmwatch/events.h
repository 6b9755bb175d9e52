/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one event header shared by the BPF programs (bpf/) and userspace.
 * Fixed-width types only; every struct's size is asserted on both sides, so a
 * change here that breaks the ABI fails the build instead of decoding garbage.
 */
#ifndef JVMWATCH_EVENTS_H
#define JVMWATCH_EVENTS_H

#ifdef __VMLINUX_H__
/* BPF side: vmlinux.h provides __u8 .. __u64. */
#else
#include <linux/types.h>
#endif

#define JW_COMM_LEN      16
#define JW_PATH_LEN      256   /* exec filename, socket path, trigger file name */
#define JW_ARGS_LEN      512   /* exec argv, NUL-separated, truncated */
#define JW_DATA_LEN      1024  /* one captured write/read chunk on an attach socket */

enum jw_event_type {
	JW_EV_EXEC        = 1,  /* a java launcher or a tracked process exec'd (others: see IDENTITY) */
	JW_EV_EXIT        = 2,  /* a tracked process (whole thread group) exited */
	JW_EV_THREAD_NAME = 3,  /* a thread took a JVM milestone name (task_rename) */
	JW_EV_SIGQUIT     = 4,  /* SIGQUIT generated: sender = current, target below */
	JW_EV_CONNECT     = 5,  /* connect() to a unix socket whose name is .java_pid* */
	JW_EV_TRIGGER     = 6,  /* deep: open(O_CREAT) of an .attach_pid* file */
	JW_EV_SOCK_WRITE  = 7,  /* deep: bytes written on a connected .java_pid socket */
	JW_EV_SOCK_READ   = 8,  /* deep: bytes read back (the reply) on such a socket */
	JW_EV_SOCK_CLOSE  = 9,  /* deep: the attacher closed such a socket */
	JW_EV_IDENTITY    = 10, /* what the current process's exec left, sent once per image just
	                         * before its first sigquit/connect/trigger/JVM milestone event */
	JW_EV_JVM_ATTACH  = 11, /* JVM side (uprobe): the attach listener read a request */
	JW_EV_JVM_AGENT   = 12, /* JVM side (uprobe): an agent load began inside the JVM */
	JW_EV_JVM_DCMD    = 13, /* JVM side (uprobe): a diagnostic command is executed */
	JW_EV_JVM_RESULT  = 14, /* JVM side (uretprobe): an attach operation's handler returned */
};

/* What made the kernel send a jw_identity_event. */
enum jw_identity_trigger {
	JW_ID_SIGQUIT   = 1,
	JW_ID_CONNECT   = 2,
	JW_ID_TRIGGER   = 3,
	JW_ID_MILESTONE = 4,
	JW_ID_JVM_PEER  = 5,   /* the peer of an attach request the JVM read (any socket name) */
};

/* Milestones, decoded in the kernel from the new thread name. */
enum jw_milestone {
	JW_MS_NONE             = 0,
	JW_MS_VM_THREAD        = 1,  /* "VM Thread": a HotSpot VM is initialising */
	JW_MS_SIGNAL_DISPATCH  = 2,  /* "Signal Dispatch": SIGQUIT is now served */
	JW_MS_ATTACH_LISTENER  = 3,  /* "Attach Listener": the attach socket is up */
	JW_MS_MAIN             = 4,  /* "main": the application's main thread */
	JW_MS_OTHER_JVM_THREAD = 5,  /* another HotSpot thread name (GC, compiler, ...) */
};

/* Common header: who did it (current task) and when. */
struct jw_event_hdr {
	__u32 type;            /* enum jw_event_type */
	__u32 cpu;
	__u64 ts_ns;           /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 pid;             /* tgid of current, host pid namespace */
	__u32 tid;
	__u32 uid;             /* effective uid of current (cred->euid, initial user ns) */
	__u32 gid;             /* effective gid of current */
	__u64 cgroup_id;       /* cgroup v2 id of current */
	__u32 mntns;           /* mount namespace inode of current */
	__u32 pidns;           /* pid namespace inode of current */
	__u32 nspid;           /* tgid of current as seen in its own pid namespace */
	__u32 ppid;            /* tgid of current's real parent */
	char  comm[JW_COMM_LEN];
};

struct jw_exec_event {
	struct jw_event_hdr hdr;
	__u32 old_pid;         /* pid before exec (differs if a non-leader thread exec'd) */
	__u32 args_len;        /* bytes of args[] used */
	__u64 start_time_ns;   /* task->start_boottime, ns: /proc/PID/stat field 22 is this in ticks */
	char  filename[JW_PATH_LEN];
	char  args[JW_ARGS_LEN];
};

/*
 * What an exec leaves behind.  The kernel keeps one per tgid (bounded LRU map, removed at
 * exit) for every exec on the host, and sends it only when that process does something
 * jvmwatch reports: a short-lived attacher is described as its exec was, without an exec
 * event per host process.
 */
struct jw_exec_image {
	__u64 exec_ts_ns;      /* bpf_ktime_get_ns() at exec: CLOCK_MONOTONIC */
	__u64 start_time_ns;   /* task->start_boottime, as jw_exec_event.start_time_ns */
	__u32 ppid;            /* tgid of the real parent at exec */
	__u32 uid;             /* effective uid at exec */
	__u32 gid;             /* effective gid at exec */
	__u32 args_len;        /* bytes of args[] used */
	char  comm[JW_COMM_LEN];         /* comm right after exec (the file's base name) */
	char  parent_comm[JW_COMM_LEN];  /* the real parent's comm at exec */
	char  filename[JW_PATH_LEN];
	char  args[JW_ARGS_LEN];         /* argv as jw_exec_event.args */
};

struct jw_identity_event {
	struct jw_event_hdr hdr;   /* the process now (credentials, cgroup, namespaces) */
	__u32 trigger;             /* enum jw_identity_trigger */
	__u32 _pad;
	struct jw_exec_image exec; /* its exec, as the kernel saw it */
};

struct jw_exit_event {
	struct jw_event_hdr hdr;
	__u32 exit_code;       /* task->exit_code (status as wait(2) encodes it) */
	__u32 _pad;
	__u64 start_time_ns;
};

struct jw_thread_name_event {
	struct jw_event_hdr hdr;   /* pid = the JVM's tgid, tid = the renamed thread */
	__u32 milestone;           /* enum jw_milestone */
	__u32 _pad;
	char  name[JW_COMM_LEN];
};

struct jw_sigquit_event {
	struct jw_event_hdr hdr;   /* the sender */
	__u32 target_pid;          /* tgid of the target, host pid namespace */
	__u32 target_tid;
	__u32 target_nspid;
	__s32 result;              /* TRACE_SIGNAL_* from signal_generate */
	__u32 target_uid;
	__u32 si_code;             /* SI_USER, SI_TKILL, SI_KERNEL, ... */
	char  target_comm[JW_COMM_LEN];
};

struct jw_connect_event {
	struct jw_event_hdr hdr;   /* the caller */
	__u32 target_pid;          /* from the file name .java_pid<N> (N is a nspid); 0 if unparsable */
	__s32 fd;                  /* -1 when the hook does not know the fd (cgroup hook) */
	__u32 path_len;
	__u8  verdict;             /* enum jw_deny_verdict: what the deny rules decided */
	__u8  policy_gen;          /* deny policy generation the rule index belongs to */
	__u16 rule;                /* index of the lowest deciding deny rule (verdict != none) */
	char  path[JW_PATH_LEN];   /* sun_path as the caller passed it */
};

/* Deny rules at connect (cgroup/connect_unix only; docs/policy.md, "Deny rules"). */
enum jw_deny_verdict {
	JW_DENY_NONE      = 0,  /* no deny rule covers the target, or the caller is allowed */
	JW_DENY_WOULD     = 1,  /* a rule in monitor mode would deny: the connect went through */
	JW_DENY_DENIED    = 2,  /* a rule in enforce mode denied: connect() failed with EPERM */
};
#define JW_DENY_MAX_RULES 128   /* two 64-bit words of rule bits */

struct jw_trigger_event {
	struct jw_event_hdr hdr;
	__u32 target_pid;          /* N of .attach_pid<N> */
	__u32 _pad;
	char  path[JW_PATH_LEN];
};

struct jw_sock_data_event {
	struct jw_event_hdr hdr;
	__s32 fd;
	__u32 len;                 /* bytes in data[] */
	__u32 total_len;           /* bytes the syscall moved (may exceed len) */
	__u32 _pad;
	char  data[JW_DATA_LEN];
};

struct jw_sock_close_event {
	struct jw_event_hdr hdr;
	__s32 fd;
	__u32 _pad;
};

/*
 * JVM side.  Sent by uprobes on the JDK's own libjvm.so / libinstrument.so (attached per
 * library file by userspace, bpf/jvm_probes.bpf.c), so the header describes the JVM
 * thread (pid = the JVM, comm = the thread's name, e.g. "Attach Listener").
 */
#define JW_JVM_NAME_LEN  32
#define JW_JVM_ARGS      4      /* arguments kept per request (v1 has 3) */
#define JW_JVM_ARG_LEN   1024   /* v1's arg_length_max is 1024 */
#define JW_JVM_TEXT_LEN  1024

/* How the request object of this JDK is laid out (what the probe found). */
enum jw_jvm_layout {
	JW_LAYOUT_V1 = 1,   /* JDK 6-23: char _name[17]; char _arg[3][1025] after the vtable */
	JW_LAYOUT_V2 = 2,   /* JDK 24+: char* _name; GrowableArray<char*> _args */
};

enum jw_jvm_attach_flags {
	JW_JA_PEER_KNOWN = 1 << 0,  /* the accepted socket named its peer */
	JW_JA_SELF       = 1 << 1,  /* the peer is the JVM itself or one of its descendants */
	JW_JA_OP_READ    = 1 << 2,  /* the request object was read (else: the request failed) */
};

struct jw_jvm_attach_event {
	struct jw_event_hdr hdr;   /* the JVM's attach listener thread */
	__u32 peer_pid;            /* connecting process (host tgid, from sk_peer_pid); 0 unknown */
	__u32 peer_uid;            /* its euid at connect (sk_peer_cred) */
	__u32 peer_gid;
	__s32 fd;                  /* the accepted socket in the JVM */
	__u64 peer_start_ns;       /* the peer's start_boottime (tells a reused pid apart) */
	__u32 flags;               /* enum jw_jvm_attach_flags */
	__u16 layout;              /* enum jw_jvm_layout */
	__u16 arg_count;           /* arguments the JVM holds (may exceed JW_JVM_ARGS in v2) */
	char  name[JW_JVM_NAME_LEN];
	char  args[JW_JVM_ARGS][JW_JVM_ARG_LEN];
};

/* Which JDK function reported an agent load. */
enum jw_jvm_agent_probe {
	JW_AGENT_VIA_LOAD_LIBRARY = 1,  /* JvmtiExport::load_agent_library (JDK 8-20) */
	JW_AGENT_VIA_AGENT_LIST   = 2,  /* JvmtiAgentList::load_agent (JDK 21+) */
	JW_AGENT_VIA_ON_ATTACH    = 3,  /* libinstrument's Agent_OnAttach: a java agent jar */
};

struct jw_jvm_agent_event {
	struct jw_event_hdr hdr;   /* the JVM thread loading it */
	__u32 via;                 /* enum jw_jvm_agent_probe */
	__u32 absolute;            /* 1: agent is a path (-agentpath), 0: a library name, 2: unknown */
	char  agent[JW_PATH_LEN];  /* "instrument" for java agents, a library name or path */
	char  options[JW_JVM_TEXT_LEN]; /* for "instrument": <jar>[=<agent options>] */
};

/* DCmdSource of HotSpot. */
enum jw_dcmd_source {
	JW_DCMD_INTERNAL = 1,
	JW_DCMD_ATTACH   = 2,
	JW_DCMD_MBEAN    = 4,
};

struct jw_jvm_dcmd_event {
	struct jw_event_hdr hdr;   /* the JVM thread executing it */
	__u32 source;              /* enum jw_dcmd_source */
	__u32 _pad;
	char  cmdline[JW_JVM_TEXT_LEN];
};

struct jw_jvm_result_event {
	struct jw_event_hdr hdr;   /* the JVM thread that ran the operation */
	__s32 result;              /* the handler's jint: what the JVM answers first */
	__u32 _pad;
};

/* Sizes, asserted on both sides (bpf/ and userspace/observer/). */
#define JW_EVENT_HDR_SIZE         72
#define JW_EXEC_EVENT_SIZE        (JW_EVENT_HDR_SIZE + 16 + JW_PATH_LEN + JW_ARGS_LEN)
#define JW_EXIT_EVENT_SIZE        (JW_EVENT_HDR_SIZE + 16)
#define JW_THREAD_NAME_EVENT_SIZE (JW_EVENT_HDR_SIZE + 8 + JW_COMM_LEN)
#define JW_SIGQUIT_EVENT_SIZE     (JW_EVENT_HDR_SIZE + 24 + JW_COMM_LEN)
#define JW_CONNECT_EVENT_SIZE     (JW_EVENT_HDR_SIZE + 16 + JW_PATH_LEN)
#define JW_TRIGGER_EVENT_SIZE     (JW_EVENT_HDR_SIZE + 8 + JW_PATH_LEN)
#define JW_SOCK_DATA_EVENT_SIZE   (JW_EVENT_HDR_SIZE + 16 + JW_DATA_LEN)
#define JW_SOCK_CLOSE_EVENT_SIZE  (JW_EVENT_HDR_SIZE + 8)
#define JW_EXEC_IMAGE_SIZE        (32 + 2 * JW_COMM_LEN + JW_PATH_LEN + JW_ARGS_LEN)
#define JW_IDENTITY_EVENT_SIZE    (JW_EVENT_HDR_SIZE + 8 + JW_EXEC_IMAGE_SIZE)
#define JW_JVM_ATTACH_EVENT_SIZE  (JW_EVENT_HDR_SIZE + 32 + JW_JVM_NAME_LEN + JW_JVM_ARGS * JW_JVM_ARG_LEN)
#define JW_JVM_AGENT_EVENT_SIZE   (JW_EVENT_HDR_SIZE + 8 + JW_PATH_LEN + JW_JVM_TEXT_LEN)
#define JW_JVM_DCMD_EVENT_SIZE    (JW_EVENT_HDR_SIZE + 8 + JW_JVM_TEXT_LEN)
#define JW_JVM_RESULT_EVENT_SIZE  (JW_EVENT_HDR_SIZE + 8)

#ifdef __cplusplus
#define JW_STATIC_ASSERT static_assert
#else
#define JW_STATIC_ASSERT _Static_assert
#endif
#define JW_ASSERT_EVENT_SIZES()                                                          \
	JW_STATIC_ASSERT(sizeof(struct jw_event_hdr) == JW_EVENT_HDR_SIZE, "hdr");             \
	JW_STATIC_ASSERT(sizeof(struct jw_exec_event) == JW_EXEC_EVENT_SIZE, "exec");          \
	JW_STATIC_ASSERT(sizeof(struct jw_exit_event) == JW_EXIT_EVENT_SIZE, "exit");          \
	JW_STATIC_ASSERT(sizeof(struct jw_thread_name_event) == JW_THREAD_NAME_EVENT_SIZE, "tn"); \
	JW_STATIC_ASSERT(sizeof(struct jw_sigquit_event) == JW_SIGQUIT_EVENT_SIZE, "sigquit"); \
	JW_STATIC_ASSERT(sizeof(struct jw_connect_event) == JW_CONNECT_EVENT_SIZE, "connect"); \
	JW_STATIC_ASSERT(sizeof(struct jw_trigger_event) == JW_TRIGGER_EVENT_SIZE, "trigger"); \
	JW_STATIC_ASSERT(sizeof(struct jw_sock_data_event) == JW_SOCK_DATA_EVENT_SIZE, "data"); \
	JW_STATIC_ASSERT(sizeof(struct jw_sock_close_event) == JW_SOCK_CLOSE_EVENT_SIZE, "close"); \
	JW_STATIC_ASSERT(sizeof(struct jw_exec_image) == JW_EXEC_IMAGE_SIZE, "image");         \
	JW_STATIC_ASSERT(sizeof(struct jw_identity_event) == JW_IDENTITY_EVENT_SIZE, "identity"); \
	JW_STATIC_ASSERT(sizeof(struct jw_jvm_attach_event) == JW_JVM_ATTACH_EVENT_SIZE, "jattach"); \
	JW_STATIC_ASSERT(sizeof(struct jw_jvm_agent_event) == JW_JVM_AGENT_EVENT_SIZE, "jagent"); \
	JW_STATIC_ASSERT(sizeof(struct jw_jvm_dcmd_event) == JW_JVM_DCMD_EVENT_SIZE, "jdcmd"); \
	JW_STATIC_ASSERT(sizeof(struct jw_jvm_result_event) == JW_JVM_RESULT_EVENT_SIZE, "jresult")

/* Per-CPU counters in the `stats` map (index = enum value). */
enum jw_stat {
	JW_STAT_RINGBUF_DROPS = 0,  /* bpf_ringbuf_reserve failed: event lost, counted */
	JW_STAT_EVENTS        = 1,  /* events submitted */
	JW_STAT_TRACKED_FULL  = 2,  /* tracked-pid map full: a JVM's exit may be missed */
	JW_STAT_EXEC_DROPS    = 3,  /* the subset of RINGBUF_DROPS that were exec events */
	JW_STAT_EXECS         = 4,  /* every exec the kernel saw (most are kept, not sent) */
	JW_STAT_IDENTITY_FULL = 5,  /* an exec's identity could not be stored (update failed) */
	JW_STAT_IDENTITY_SENT = 6,  /* identity events submitted */
	JW_STAT_IDENTITY_MISS = 7,  /* a reported process had no stored exec (started before
	                             * the daemon, forked without exec, evicted): userspace
	                             * falls back to /proc */
	JW_STAT_MILESTONE_REPEATS = 8, /* repeated milestone thread names suppressed */
	JW_STAT_MILESTONE_FULL    = 9, /* milestone map update failed: reported, not deduped */
	JW_STAT_DEEP_MAP_FULL     = 10, /* deep mode: a socket/read map update failed (bytes of
	                                 * that socket are not captured) */
	JW_STAT_JVM_PENDING_MISS  = 11, /* JVM side: a request's return found no saved entry
	                                 * (map full or entry evicted): that request is lost */
	JW_STAT_DENIED            = 12, /* connects refused by an enforcing deny rule */
	JW_STAT_WOULD_DENY        = 13, /* connects a monitoring deny rule would refuse */
	JW_STAT_MAX           = 14,
};

#endif /* JVMWATCH_EVENTS_H */
