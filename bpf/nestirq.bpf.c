// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nestirq probes.  Every program emits struct nq_event (abi.h) into one ring
 * buffer.  Userspace (src/live/plan.c) decides which programs load and
 * attach; all of them must pass the verifier on any kernel, so every access
 * to a type that may be absent (kvm_intel module BTF, old tracepoint
 * layouts) is guarded by bpf_core_type_exists/bpf_core_field_exists and the
 * dead branch is pruned by the verifier.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "nestirq/abi.h"
#include "nestirq/probes.h"
#include "kvm_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by userspace before load. */
const volatile __u32 filter_tgid = 0; /* 0: every process */
/* HF_GUEST_MASK of the running kernel (bit 5 before ~6.3, bit 0 since). */
const volatile __u32 hf_guest_mask = 1;
const volatile __u64 wakeup_every = NQ_WAKEUP_EVENTS; /* records per CPU per wakeup */
/*
 * 1: nothing that pairs accepts with a check, peek or ack is attached, so an
 * accept is only counted (per CPU, in .bss: accepts_counted) and not streamed.
 */
const volatile __u8 count_accepts = 0;
/*
 * Record layouts from tracefs `format` for the tpf_* programs, indexed by
 * enum nq_fmt_tp and the slot enums of probes.h (plain arrays so that the
 * skeleton needs no extra type).  Size 0: the field is absent.
 */
const volatile __u16 fmt_off[NQ_FMT_TPS][NQ_FMT_SLOTS] = {};
const volatile __u8 fmt_size[NQ_FMT_TPS][NQ_FMT_SLOTS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NQ_RINGBUF_BYTES);
} events SEC(".maps");

/* Per-CPU counters: records that did not fit in the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nq_pcpu);
} pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NQ_TID_ENTRIES);
	__type(key, __u32);
	__type(value, struct nq_tid_state);
} tids SEC(".maps");

/* ------------------------------------------------------------------ */

static __always_inline int skip_tgid(__u64 pid_tgid)
{
	return filter_tgid && (__u32)(pid_tgid >> 32) != filter_tgid;
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	struct nq_pcpu *c = bpf_map_lookup_elem(&pcpu, &zero);

	if (c)
		c->drops += 1;
}

/* The 40-byte payload as words, for clearing it. */
struct nq_words {
	volatile __u64 w[5]; /* volatile: keeps five 8-byte stores, not 40 byte stores */
};

static __always_inline struct nq_event *ev_new(__u8 kind, __u64 pid_tgid)
{
	struct nq_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	struct nq_words *z;

	if (!e) {
		count_drop();
		return NULL;
	}
	e->h.ts_ns = bpf_ktime_get_ns();
	e->h.tgid = pid_tgid >> 32;
	e->h.tid = (__u32)pid_tgid;
	e->h.vcpu_id = NQ_VCPU_UNKNOWN;
	e->h.cpu = bpf_get_smp_processor_id();
	e->h.kind = kind;
	e->h.isa = NQ_ISA_UNKNOWN;
	/* Ring buffer memory is not zeroed: clear the payload. */
	z = (void *)&e->inject;
	z->w[0] = 0;
	z->w[1] = 0;
	z->w[2] = 0;
	z->w[3] = 0;
	z->w[4] = 0;
	return e;
}

/*
 * Batched wakeups: a forced wakeup costs far more than the record itself, so
 * each CPU wakes the reader once per wakeup_every records it produced (a
 * power of two).  Below that rate the reader's short poll timeout picks the
 * records up: nothing stalls.  The per-CPU count lives in .bss, one cache line
 * per CPU, indexed by the CPU already read for the header: no helper call.
 */
#define NQ_BSS_CPUS 256

__u64 produced[NQ_BSS_CPUS][8];	       /* [cpu][0]; 64 bytes per CPU */
__u64 accepts_counted[NQ_BSS_CPUS][8]; /* [cpu][0]: with count_accepts */

static __always_inline void ev_submit(struct nq_event *e)
{
	__u64 *c = &produced[e->h.cpu & (NQ_BSS_CPUS - 1)][0];
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (!(++*c & (wakeup_every - 1)))
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

static __always_inline __u64 fmt_read(void *ctx, int tp, int slot)
{
	__u64 v = 0;
	__u32 sz = fmt_size[tp][slot];

	if (sz == 0 || sz > 8)
		return 0;
	bpf_probe_read_kernel(&v, sz, (char *)ctx + fmt_off[tp][slot]);
	return v;
}

/* ---- vCPU helpers (CO-RE, guarded) ---- */

static __always_inline __u32 vcpu_id_of(const void *vcpu)
{
	struct kvm_vcpu___nq *v = (void *)vcpu;

	if (!vcpu || !bpf_core_field_exists(struct kvm_vcpu___nq, vcpu_id))
		return NQ_VCPU_UNKNOWN;
	return (__u32)BPF_CORE_READ(v, vcpu_id);
}

static __always_inline __u8 guest_mode_of(const void *vcpu)
{
	struct kvm_vcpu___nq *v = (void *)vcpu;

	if (!vcpu || !bpf_core_field_exists(struct kvm_vcpu___nq, arch.hflags))
		return 0;
	return (BPF_CORE_READ(v, arch.hflags) & hf_guest_mask) ? 1 : 0;
}

static __always_inline int vmx_known(void)
{
	return bpf_core_type_exists(struct vcpu_vmx___nq) &&
	       bpf_core_field_exists(struct vcpu_vmx___nq, vcpu) &&
	       bpf_core_field_exists(struct vcpu_vmx___nq, vmcs01) &&
	       bpf_core_field_exists(struct vcpu_vmx___nq, loaded_vmcs) &&
	       bpf_core_field_exists(struct vcpu_vmx___nq, nested.vmcs02);
}

/*
 * "vmcs02 is loaded" == vmx->loaded_vmcs == &vmx->nested.vmcs02, from the
 * kvm_intel BTF offsets.  Never derived from hflags.
 */
static __always_inline __u8 vmcs_of(const void *vcpu)
{
	struct vcpu_vmx___nq *vmx;
	__u64 base, cur;

	if (!vcpu || !vmx_known())
		return NQ_VMCS_UNKNOWN;
	base = (__u64)vcpu - bpf_core_field_offset(struct vcpu_vmx___nq, vcpu);
	vmx = (void *)base;
	cur = (__u64)BPF_CORE_READ(vmx, loaded_vmcs);
	if (cur == base + bpf_core_field_offset(struct vcpu_vmx___nq, vmcs01))
		return NQ_VMCS_01;
	if (cur == base + bpf_core_field_offset(struct vcpu_vmx___nq, nested.vmcs02))
		return NQ_VMCS_02;
	return NQ_VMCS_OTHER;
}

static __always_inline struct vcpu_vmx___nq *vmx_of(const void *vcpu)
{
	return (void *)((__u64)vcpu - bpf_core_field_offset(struct vcpu_vmx___nq, vcpu));
}

/* Remember the thread's vCPU; returns the ISA of its open check, if any. */
static __always_inline __u8 remember_vcpu(__u32 tid, const void *vcpu, __u32 vcpu_id)
{
	struct nq_tid_state *st = bpf_map_lookup_elem(&tids, &tid);
	struct nq_tid_state n = {};

	if (st) {
		if (st->vcpu != (__u64)vcpu) {
			st->vcpu = (__u64)vcpu;
			st->vcpu_id = vcpu_id;
		}
		return st->in_check ? st->isa : NQ_ISA_UNKNOWN;
	}
	n.vcpu = (__u64)vcpu;
	n.vcpu_id = vcpu_id;
	bpf_map_update_elem(&tids, &tid, &n, BPF_ANY);
	return NQ_ISA_UNKNOWN;
}

static __always_inline __u32 tid_vcpu_id(__u32 tid)
{
	struct nq_tid_state *st = bpf_map_lookup_elem(&tids, &tid);

	return st ? st->vcpu_id : NQ_VCPU_UNKNOWN;
}

/* ================= tracepoints: kvm_apic_accept_irq ================= */

static __always_inline int emit_accept(__u64 pid_tgid, __u32 apicid, __u16 dm, __u16 tm, __u8 vec)
{
	struct nq_event *e;

	/*
	 * The hottest event: with nothing to pair it with, count it in place
	 * (the program never nests on a CPU: a plain increment is exact).
	 */
	if (count_accepts) {
		accepts_counted[bpf_get_smp_processor_id() & (NQ_BSS_CPUS - 1)][0]++;
		return 0;
	}
	e = ev_new(NQ_EV_IRQ_ACCEPT, pid_tgid);
	if (!e)
		return 0;
	/* KVM passes the target vcpu_id as "apicid". */
	e->h.vcpu_id = apicid;
	e->accept.apicid = apicid;
	e->accept.delivery_mode = dm;
	e->accept.trigger_mode = tm;
	e->accept.vector = vec;
	ev_submit(e);
	return 0;
}

/* Record read through CO-RE: tm __u16 now, __u8 (+ coalesced) before. */
SEC("tracepoint/kvm/kvm_apic_accept_irq")
int tp_accept(struct trace_event_raw_kvm_apic_accept_irq___nq *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u16 tm;

	if (skip_tgid(pid_tgid))
		return 0;
	if (!bpf_core_type_exists(struct trace_event_raw_kvm_apic_accept_irq___nq))
		return 0;
	if (bpf_core_field_size(ctx->tm) == 1)
		tm = ((struct trace_event_raw_kvm_apic_accept_irq___old *)ctx)->tm;
	else
		tm = ctx->tm;
	return emit_accept(pid_tgid, ctx->apicid, ctx->dm, tm, ctx->vec);
}

/* Record read at offsets from the tracefs format file. */
SEC("tracepoint/kvm/kvm_apic_accept_irq")
int tpf_accept(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	return emit_accept(pid_tgid, fmt_read(ctx, NQ_FMT_ACCEPT, NQ_FA_APICID),
			   fmt_read(ctx, NQ_FMT_ACCEPT, NQ_FA_DM),
			   fmt_read(ctx, NQ_FMT_ACCEPT, NQ_FA_TM),
			   fmt_read(ctx, NQ_FMT_ACCEPT, NQ_FA_VEC));
}

/*
 * Raw tracepoint: args are the TP_PROTO arguments (apicid, dm, tm, vec
 * [, coalesced]), not record fields; their order never changed.
 */
SEC("raw_tp/kvm_apic_accept_irq")
int raw_accept(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	return emit_accept(pid_tgid, (__u32)ctx->args[0], (__u16)ctx->args[1], (__u16)ctx->args[2],
			   (__u8)ctx->args[3]);
}

/* ================= tracepoints: kvm_nested_vmexit ================= */

static __always_inline int emit_hw_vmexit(__u64 pid_tgid, __u32 reason, __u64 info1, __u64 info2,
					  __u32 intr_info, __u32 err, __u32 isa, __u32 vcpu_id,
					  int have_vcpu_id)
{
	__u32 tid = (__u32)pid_tgid;
	struct nq_event *e;

	if (have_vcpu_id) {
		struct nq_tid_state *st = bpf_map_lookup_elem(&tids, &tid);

		if (!st) {
			struct nq_tid_state n = {.vcpu_id = vcpu_id};

			bpf_map_update_elem(&tids, &tid, &n, BPF_ANY);
		} else if (st->vcpu_id != vcpu_id) {
			st->vcpu_id = vcpu_id;
			st->vcpu = 0;
		}
	} else {
		vcpu_id = tid_vcpu_id(tid);
	}
	e = ev_new(NQ_EV_HW_NESTED_VMEXIT, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = isa;
	e->hw_exit.reason = reason;
	e->hw_exit.info1 = info1;
	e->hw_exit.info2 = info2;
	e->hw_exit.intr_info = intr_info;
	e->hw_exit.error_code = err;
	ev_submit(e);
	return 0;
}

SEC("tracepoint/kvm/kvm_nested_vmexit")
int tp_hw_vmexit(struct trace_event_raw_kvm_nested_vmexit___nq *ctx)
{
	struct trace_event_raw_kvm_nested_vmexit___old *old = (void *)ctx;
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	if (bpf_core_field_exists(ctx->exit_reason) && bpf_core_field_exists(ctx->vcpu_id) &&
	    bpf_core_field_exists(ctx->info1) && bpf_core_field_exists(ctx->info2) &&
	    bpf_core_field_exists(ctx->intr_info) && bpf_core_field_exists(ctx->error_code) &&
	    bpf_core_field_exists(ctx->isa))
		return emit_hw_vmexit(pid_tgid, ctx->exit_reason, ctx->info1, ctx->info2,
				      ctx->intr_info, ctx->error_code, ctx->isa, ctx->vcpu_id, 1);
	if (bpf_core_field_exists(old->exit_code) && bpf_core_field_exists(old->exit_info1) &&
	    bpf_core_field_exists(old->exit_info2) && bpf_core_field_exists(old->exit_int_info) &&
	    bpf_core_field_exists(old->exit_int_info_err) && bpf_core_field_exists(old->isa))
		return emit_hw_vmexit(pid_tgid, old->exit_code, old->exit_info1, old->exit_info2,
				      old->exit_int_info, old->exit_int_info_err, old->isa, 0, 0);
	return 0;
}

SEC("tracepoint/kvm/kvm_nested_vmexit")
int tpf_hw_vmexit(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	return emit_hw_vmexit(pid_tgid, fmt_read(ctx, NQ_FMT_HW_VMEXIT, NQ_FH_REASON),
			      fmt_read(ctx, NQ_FMT_HW_VMEXIT, NQ_FH_INFO1),
			      fmt_read(ctx, NQ_FMT_HW_VMEXIT, NQ_FH_INFO2),
			      fmt_read(ctx, NQ_FMT_HW_VMEXIT, NQ_FH_INTR_INFO),
			      fmt_read(ctx, NQ_FMT_HW_VMEXIT, NQ_FH_ERROR_CODE),
			      fmt_read(ctx, NQ_FMT_HW_VMEXIT, NQ_FH_ISA),
			      fmt_read(ctx, NQ_FMT_HW_VMEXIT, NQ_FH_VCPU_ID),
			      fmt_size[NQ_FMT_HW_VMEXIT][NQ_FH_VCPU_ID] != 0);
}

/* ================= tracepoints: kvm_nested_vmexit_inject ================= */

static __always_inline int emit_inject(__u64 pid_tgid, __u64 code, __u64 info1, __u64 info2,
				       __u32 int_info, __u32 int_info_err, __u32 isa)
{
	/* No vcpu argument: the thread's vCPU from the check / hw exit. */
	__u32 vcpu_id = tid_vcpu_id((__u32)pid_tgid);
	struct nq_event *e = ev_new(NQ_EV_VMEXIT_INJECT, pid_tgid);

	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = isa;
	e->inject.exit_code = code;
	e->inject.info1 = info1;
	e->inject.info2 = info2;
	e->inject.exit_int_info = int_info;
	e->inject.exit_int_info_err = int_info_err;
	ev_submit(e);
	return 0;
}

SEC("tracepoint/kvm/kvm_nested_vmexit_inject")
int tp_inject(struct trace_event_raw_kvm_nested_vmexit_inject___nq *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 code;

	if (skip_tgid(pid_tgid))
		return 0;
	if (!bpf_core_type_exists(struct trace_event_raw_kvm_nested_vmexit_inject___nq))
		return 0;
	if (bpf_core_field_size(ctx->exit_code) == 8)
		code = ((struct trace_event_raw_kvm_nested_vmexit_inject___u64 *)ctx)->exit_code;
	else
		code = ctx->exit_code;
	return emit_inject(pid_tgid, code, ctx->exit_info1, ctx->exit_info2, ctx->exit_int_info,
			   ctx->exit_int_info_err, ctx->isa);
}

SEC("tracepoint/kvm/kvm_nested_vmexit_inject")
int tpf_inject(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	return emit_inject(pid_tgid, fmt_read(ctx, NQ_FMT_INJECT, NQ_FI_EXIT_CODE),
			   fmt_read(ctx, NQ_FMT_INJECT, NQ_FI_INFO1),
			   fmt_read(ctx, NQ_FMT_INJECT, NQ_FI_INFO2),
			   fmt_read(ctx, NQ_FMT_INJECT, NQ_FI_INT_INFO),
			   fmt_read(ctx, NQ_FMT_INJECT, NQ_FI_INT_INFO_ERR),
			   fmt_read(ctx, NQ_FMT_INJECT, NQ_FI_ISA));
}

/* args: exit_code (u32 or u64), info1, info2, int_info, int_info_err, isa */
SEC("raw_tp/kvm_nested_vmexit_inject")
int raw_inject(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	return emit_inject(pid_tgid, ctx->args[0], ctx->args[1], ctx->args[2], (__u32)ctx->args[3],
			   (__u32)ctx->args[4], (__u32)ctx->args[5]);
}

/* ================= tracepoints: kvm_nested_intr_vmexit (nSVM) ================= */

static __always_inline int emit_svm_intr(__u64 pid_tgid, __u64 rip)
{
	__u32 vcpu_id = tid_vcpu_id((__u32)pid_tgid);
	struct nq_event *e = ev_new(NQ_EV_SVM_INTR_EXIT, pid_tgid);

	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = NQ_ISA_SVM;
	e->svm_intr.rip = rip;
	ev_submit(e);
	return 0;
}

SEC("tracepoint/kvm/kvm_nested_intr_vmexit")
int tp_svm_intr(struct trace_event_raw_kvm_nested_intr_vmexit___nq *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	if (!bpf_core_type_exists(struct trace_event_raw_kvm_nested_intr_vmexit___nq))
		return 0;
	return emit_svm_intr(pid_tgid, ctx->rip);
}

SEC("tracepoint/kvm/kvm_nested_intr_vmexit")
int tpf_svm_intr(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	return emit_svm_intr(pid_tgid, fmt_read(ctx, NQ_FMT_SVM_INTR, NQ_FS_RIP));
}

SEC("raw_tp/kvm_nested_intr_vmexit")
int raw_svm_intr(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	return emit_svm_intr(pid_tgid, ctx->args[0]);
}

/* ================= kprobes: the nested-event check ================= */

static __always_inline int check_enter(struct pt_regs *ctx, const void *vcpu, __u8 isa)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct nq_tid_state n = {};
	struct nq_event *e;
	__u32 vcpu_id;
	__u16 nv = 0xffff;
	__u8 pi_pending = 0, ctls = 0, vmcs = NQ_VMCS_UNKNOWN;

	if (skip_tgid(pid_tgid))
		return 0;
	vcpu_id = vcpu_id_of(vcpu);
	if (isa == NQ_ISA_VMX && vmx_known()) {
		struct vcpu_vmx___nq *vmx = vmx_of(vcpu);

		vmcs = vmcs_of(vcpu);
		if (bpf_core_field_exists(struct vcpu_vmx___nq, nested.posted_intr_nv))
			nv = BPF_CORE_READ(vmx, nested.posted_intr_nv);
		if (bpf_core_field_exists(struct vcpu_vmx___nq, nested.pi_pending))
			pi_pending = BPF_CORE_READ(vmx, nested.pi_pending) ? 1 : 0;
		if (bpf_core_field_exists(struct vcpu_vmx___nq, nested.cached_vmcs12) &&
		    bpf_core_field_exists(struct vmcs12___nq, pin_based_vm_exec_control) &&
		    bpf_core_field_exists(struct vmcs12___nq, vm_exit_controls)) {
			struct vmcs12___nq *v12 = BPF_CORE_READ(vmx, nested.cached_vmcs12);

			if (v12) {
				__u32 pin = BPF_CORE_READ(v12, pin_based_vm_exec_control);
				__u32 exit = BPF_CORE_READ(v12, vm_exit_controls);

				ctls = NQ_CTL_KNOWN;
				if (pin & NQ_PIN_BASED_EXT_INTR_MASK)
					ctls |= NQ_CTL_EXIT_ON_INTR;
				if (pin & NQ_PIN_BASED_POSTED_INTR)
					ctls |= NQ_CTL_POSTED_INTR;
				if (exit & NQ_VM_EXIT_ACK_INTR_ON_EXIT)
					ctls |= NQ_CTL_ACK_ON_EXIT;
			}
		}
	}
	n.vcpu = (__u64)vcpu;
	n.vcpu_id = vcpu_id;
	n.in_check = 1;
	n.isa = isa;
	n.pi_pending = pi_pending;
	bpf_map_update_elem(&tids, &tid, &n, BPF_ANY);

	e = ev_new(NQ_EV_CHECK_ENTER, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = isa;
	e->check_enter.posted_intr_nv = nv;
	e->check_enter.vmcs = vmcs;
	e->check_enter.guest_mode = guest_mode_of(vcpu);
	e->check_enter.ctls = ctls;
	e->check_enter.pi_pending = pi_pending;
	ev_submit(e);
	return 0;
}

static __always_inline int check_exit(struct pt_regs *ctx, __u8 isa)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct nq_tid_state *st;
	struct nq_event *e;
	__u32 vcpu_id = NQ_VCPU_UNKNOWN;
	__u64 vcpu = 0;
	__u8 pi_before = 0;
	int ret = (int)PT_REGS_RC(ctx);

	if (skip_tgid(pid_tgid))
		return 0;
	st = bpf_map_lookup_elem(&tids, &tid);
	if (st) {
		vcpu = st->vcpu;
		vcpu_id = st->vcpu_id;
		pi_before = st->pi_pending;
		st->in_check = 0;
		st->in_ack = 0;
	}
	e = ev_new(NQ_EV_CHECK_EXIT, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = isa;
	e->check_exit.ret = ret;
	ev_submit(e);

	/* The nested PI path (NV peeked, IRR cleared, no exit) sets pi_pending. */
	if (isa == NQ_ISA_VMX && vcpu && vmx_known() &&
	    bpf_core_field_exists(struct vcpu_vmx___nq, nested.pi_pending) &&
	    bpf_core_field_exists(struct vcpu_vmx___nq, nested.posted_intr_nv)) {
		struct vcpu_vmx___nq *vmx = vmx_of((void *)vcpu);
		__u8 now = BPF_CORE_READ(vmx, nested.pi_pending) ? 1 : 0;

		if (now && !pi_before) {
			__u16 nv = BPF_CORE_READ(vmx, nested.posted_intr_nv);

			e = ev_new(NQ_EV_NESTED_PI, pid_tgid);
			if (!e)
				return 0;
			e->h.vcpu_id = vcpu_id;
			e->h.isa = isa;
			e->pi.posted_intr_nv = nv;
			e->pi.pi_enabled = nv != 0xffff;
			e->pi.pi_pending = 1;
			ev_submit(e);
		}
	}
	return 0;
}

SEC("kprobe/vmx_check_nested_events")
int BPF_KPROBE(kp_vmx_check, void *vcpu)
{
	return check_enter(ctx, vcpu, NQ_ISA_VMX);
}

SEC("kretprobe/vmx_check_nested_events")
int BPF_KRETPROBE(krp_vmx_check)
{
	return check_exit(ctx, NQ_ISA_VMX);
}

SEC("kprobe/svm_check_nested_events")
int BPF_KPROBE(kp_svm_check, void *vcpu)
{
	return check_enter(ctx, vcpu, NQ_ISA_SVM);
}

SEC("kretprobe/svm_check_nested_events")
int BPF_KRETPROBE(krp_svm_check)
{
	return check_exit(ctx, NQ_ISA_SVM);
}

/* ================= kprobes: peek and ack ================= */

/* kvm_apic_has_interrupt() returned: the peek, only inside a check. */
SEC("kretprobe/kvm_apic_has_interrupt")
int BPF_KRETPROBE(krp_peek)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct nq_tid_state *st;
	struct nq_event *e;
	int vector = (int)PT_REGS_RC(ctx);
	__u64 vcpu;
	__u32 vcpu_id;
	__u8 in_ack, isa;

	if (skip_tgid(pid_tgid))
		return 0;
	st = bpf_map_lookup_elem(&tids, &tid);
	if (!st || !st->in_check)
		return 0;
	vcpu = st->vcpu;
	vcpu_id = st->vcpu_id;
	in_ack = st->in_ack;
	isa = st->isa;
	e = ev_new(NQ_EV_PEEK, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = isa;
	e->peek.vector = vector;
	e->peek.vmcs = isa == NQ_ISA_VMX ? vmcs_of((void *)vcpu) : NQ_VMCS_UNKNOWN;
	e->peek.flags = in_ack ? NQ_PEEK_F_IN_ACK : 0;
	ev_submit(e);
	return 0;
}

static __always_inline int emit_ack(__u64 pid_tgid, const void *vcpu, __u32 vcpu_id, int vector,
				    __u8 api, __u8 isa)
{
	struct nq_event *e = ev_new(NQ_EV_ACK, pid_tgid);

	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = isa;
	e->ack.vector = vector;
	e->ack.vmcs = vmcs_of(vcpu);
	e->ack.api = api;
	e->ack.guest_mode = guest_mode_of(vcpu);
	ev_submit(e);
	return 0;
}

/* 6.12+: kvm_apic_ack_interrupt(vcpu, vector) */
SEC("kprobe/kvm_apic_ack_interrupt")
int BPF_KPROBE(kp_ack, void *vcpu, int vector)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 vcpu_id;
	__u8 isa;

	if (skip_tgid(pid_tgid))
		return 0;
	vcpu_id = vcpu_id_of(vcpu);
	isa = remember_vcpu((__u32)pid_tgid, vcpu, vcpu_id);
	return emit_ack(pid_tgid, vcpu, vcpu_id, vector, NQ_ACK_API_APIC_ACK, isa);
}

/* <= 6.11: kvm_get_apic_interrupt(vcpu) entry marks the thread "in ack" */
SEC("kprobe/kvm_get_apic_interrupt")
int BPF_KPROBE(kp_get_apic, void *vcpu)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct nq_tid_state *st;
	__u32 vcpu_id;

	if (skip_tgid(pid_tgid))
		return 0;
	vcpu_id = vcpu_id_of(vcpu);
	st = bpf_map_lookup_elem(&tids, &tid);
	if (st) {
		st->vcpu = (__u64)vcpu;
		st->vcpu_id = vcpu_id;
		st->in_ack = 1;
	} else {
		struct nq_tid_state n = {.vcpu = (__u64)vcpu, .vcpu_id = vcpu_id, .in_ack = 1};

		bpf_map_update_elem(&tids, &tid, &n, BPF_ANY);
	}
	return 0;
}

/* ... and its return value is the acked vector (-1: nothing acked) */
SEC("kretprobe/kvm_get_apic_interrupt")
int BPF_KRETPROBE(krp_get_apic)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct nq_tid_state *st;
	int vector = (int)PT_REGS_RC(ctx);
	__u64 vcpu = 0;
	__u32 vcpu_id = NQ_VCPU_UNKNOWN;
	__u8 isa = NQ_ISA_UNKNOWN;

	if (skip_tgid(pid_tgid))
		return 0;
	st = bpf_map_lookup_elem(&tids, &tid);
	if (st) {
		st->in_ack = 0;
		vcpu = st->vcpu;
		vcpu_id = st->vcpu_id;
		isa = st->in_check ? st->isa : NQ_ISA_UNKNOWN;
	}
	if (vector < 0)
		return 0;
	return emit_ack(pid_tgid, (void *)vcpu, vcpu_id, vector, NQ_ACK_API_GET_APIC_IRQ, isa);
}

/* ================= kprobes: SVI and VMCS switches ================= */

static __always_inline int emit_svi(__u64 pid_tgid, const void *vcpu, __u32 vcpu_id, int max_isr)
{
	struct nq_event *e;
	__u8 gm = guest_mode_of(vcpu);
	__u8 outcome = NQ_SVI_WRITTEN;

	/*
	 * 6.14 .. 6.19 defer the write while L2 is active: the function sets
	 * nested.update_vmcs01_hwapic_isr and returns when is_guest_mode().
	 */
	if (vcpu && gm && vmx_known() &&
	    bpf_core_field_exists(struct vcpu_vmx___nq, nested.update_vmcs01_hwapic_isr))
		outcome = NQ_SVI_DEFERRED;
	e = ev_new(NQ_EV_SVI_UPDATE, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = NQ_ISA_VMX;
	e->svi.max_isr = max_isr;
	e->svi.vmcs = vmcs_of(vcpu);
	e->svi.outcome = outcome;
	e->svi.origin = NQ_SVI_ORIGIN_L1_ISR;
	e->svi.guest_mode = gm;
	ev_submit(e);
	return 0;
}

/* 6.14+: vmx_hwapic_isr_update(vcpu, max_isr) */
SEC("kprobe/vmx_hwapic_isr_update")
int BPF_KPROBE(kp_svi, void *vcpu, int max_isr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	return emit_svi(pid_tgid, vcpu, vcpu_id_of(vcpu), max_isr);
}

/* < 6.14: vmx_hwapic_isr_update(max_isr); the vCPU comes from this thread */
SEC("kprobe/vmx_hwapic_isr_update")
int BPF_KPROBE(kp_svi_old, int max_isr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct nq_tid_state *st;
	__u64 vcpu = 0;
	__u32 vcpu_id = NQ_VCPU_UNKNOWN;

	if (skip_tgid(pid_tgid))
		return 0;
	st = bpf_map_lookup_elem(&tids, &tid);
	if (st) {
		vcpu = st->vcpu;
		vcpu_id = st->vcpu_id;
	}
	return emit_svi(pid_tgid, (void *)vcpu, vcpu_id, max_isr);
}

/* vmx_vcpu_load_vmcs(vcpu, cpu[, buddy]): loaded_vmcs is already the new one. */
SEC("kprobe/vmx_vcpu_load_vmcs")
int BPF_KPROBE(kp_load_vmcs, void *vcpu)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nq_event *e;
	__u32 vcpu_id;

	if (skip_tgid(pid_tgid))
		return 0;
	vcpu_id = vcpu_id_of(vcpu);
	remember_vcpu((__u32)pid_tgid, vcpu, vcpu_id);
	e = ev_new(NQ_EV_VMCS_SWITCH, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = NQ_ISA_VMX;
	e->vmcs_switch.to = vmcs_of(vcpu);
	e->vmcs_switch.guest_mode = guest_mode_of(vcpu);
	ev_submit(e);
	return 0;
}
