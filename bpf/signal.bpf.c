// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * SIGQUIT: who asked which process for the attach listener (or a thread dump).
 * Linked with the other objects of bpf/ into one skeleton (Makefile).
 */
#include "jvmwatch.bpf.h"

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
	submit_quiet(e);
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

