// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * jvmwatch's eye: JVM lifecycles and attach traffic.  This file holds what the
 * linked object has once (licence, ABI checks); the programs live by concern in
 * lifecycle.bpf.c, signal.bpf.c, connect.bpf.c, deep.bpf.c and jvm_probes.bpf.c.
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

