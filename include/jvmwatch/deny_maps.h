/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Keys and values of the deny-rule maps (bpf/connect.bpf.c), shared with userspace
 * (userspace/daemon/deny_table.h fills them).  docs/policy.md, "Deny rules".
 */
#ifndef JVMWATCH_DENY_MAPS_H
#define JVMWATCH_DENY_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* One bit per deny rule (JW_DENY_MAX_RULES in events.h). */
struct jw_deny_mask {
	__u64 w[2];
};

/* Per slot: which rules enforce (the others monitor), and the policy generation. */
struct jw_deny_slot {
	struct jw_deny_mask enforce;
	__u32 gen;
	__u32 _pad;
};

/* A JVM as a caller names it: {caller's mount ns, P of a leading /proc/P/root/ (0: none),
 * N of .java_pid<N>}.  The name is resolved in the caller's mount namespace.  Every
 * tracked JVM has its keys (an uncovered one with an empty mask); {0, 0, N}, the union of
 * all JVMs whose own pid is N, answers names that match no key. */
struct jw_deny_target_key {
	__u32 slot;
	__u32 mntns;
	__u32 root_pid;
	__u32 pid;
};

/* An allowed exe: the inode the caller's mm->exe_file points at. */
struct jw_deny_exe_key {
	__u32 slot;
	__u32 _pad;
	__u64 dev;   /* kernel dev_t of its superblock: MAJOR << 20 | MINOR */
	__u64 ino;
};

/* An allowed uid (effective) or cgroup v2 id. */
struct jw_deny_id_key {
	__u32 slot;
	__u32 _pad;
	__u64 id;
};

#endif /* JVMWATCH_DENY_MAPS_H */
