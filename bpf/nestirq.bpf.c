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
/* What an accept program does with an accept: enum nq_accept_mode (probes.h). */
const volatile __u8 accept_mode = NQ_ACCEPTS_STREAM;
/*
 * 0: exits of L2 are counted by reason in exit_ctr, not streamed (no check
 * needs them); 1: each one is streamed (NESTIRQ_STREAM_EXITS=1).
 */
const volatile __u8 stream_exits = 0;
/*
 * 1: this kernel decides the exit vector at the peek (kvm_apic_ack_interrupt
 * and no kvm_get_apic_interrupt, 6.12+): peeks carry NQ_PEEK_F_DECIDES.
 */
const volatile __u8 peek_decides = 0;
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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NQ_TID_ENTRIES);
	__type(key, __u32);
	__type(value, struct nq_tid_state);
} tids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nq_exit_ctr);
} exit_ctr SEC(".maps");

/* ------------------------------------------------------------------ */

static __always_inline int skip_tgid(__u64 pid_tgid)
{
	return filter_tgid && (__u32)(pid_tgid >> 32) != filter_tgid;
}

/* Per-CPU counters (probes.h NQ_CTR_*): one cache line per CPU. */
__u64 cpu_ctr[NQ_BSS_CPUS][NQ_CTR_SLOTS];

/*
 * Set by the loader once the kretprobe on vmx_hwapic_isr_update is attached
 * (not .rodata: an attach can still fail after load), so that an SVI entry
 * record only promises a return record that will come.
 */
__u8 svi_return_live;
/* Set by the loader once the VMCS-switch kprobe is attached: SVI returns count vmcs01 loads. */
__u8 vmcs_switch_live;

#include "vcpu_ctx.h"

/* The 40-byte payload as words, for clearing it. */
struct nq_words {
	volatile __u64 w[5]; /* volatile: keeps five 8-byte stores, not 40 byte stores */
};

static __always_inline struct nq_event *ev_new(__u8 kind, __u64 pid_tgid)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 *ctr = cpu_ctr[cpu & (NQ_BSS_CPUS - 1)];
	/*
	 * Drops counted before the reservation: a record that follows a drop
	 * carries a larger drop_seq than the CPU's previous record, which tells
	 * the reader where the loss belongs.
	 */
	__u32 seq = (__u32)ctr[NQ_CTR_DROPPED];
	struct nq_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	struct nq_words *z;

	if (!e) {
		/* Atomic: a hard-irq raw tracepoint may nest over a kprobe here. */
		__sync_fetch_and_add(&ctr[NQ_CTR_DROPPED], 1);
		return NULL;
	}
	e->h.ts_ns = bpf_ktime_get_ns();
	e->h.tgid = pid_tgid >> 32;
	e->h.tid = (__u32)pid_tgid;
	e->h.vcpu_id = NQ_VCPU_UNKNOWN;
	e->h.cpu = cpu;
	e->h.kind = kind;
	e->h.isa = NQ_ISA_UNKNOWN;
	/* Ring buffer memory is not zeroed: clear the payload and trailer. */
	z = (void *)&e->inject;
	z->w[0] = 0;
	z->w[1] = 0;
	z->w[2] = 0;
	z->w[3] = 0;
	z->w[4] = 0;
	e->drop_seq = seq;
	return e;
}

/*
 * Batched wakeups: a forced wakeup costs far more than the record itself, so
 * each CPU wakes the reader once per wakeup_every records it produced (a
 * power of two).  Below that rate the reader's short poll timeout picks the
 * records up: nothing stalls.  The per-CPU count lives in .bss, one cache line
 * per CPU, indexed by the CPU already read for the header: no helper call.
 */
static __always_inline void ev_submit(struct nq_event *e)
{
	__u64 *c = &cpu_ctr[e->h.cpu & (NQ_BSS_CPUS - 1)][NQ_CTR_PRODUCED];
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

/*
 * The VM of a vCPU: a 32-bit id of its struct kvm (never 0 when known), so
 * that one process may host several VMs and a reused pid starts afresh.
 */
static __always_inline __u32 vm_id_of_kvm(__u64 kvm)
{
	__u32 id = (__u32)(kvm ^ (kvm >> 32));

	if (!kvm)
		return 0;
	return id ? id : 1;
}

static __always_inline __u32 vm_id_of(const void *vcpu)
{
	struct kvm_vcpu___nq *v = (void *)vcpu;

	if (!vcpu || !bpf_core_field_exists(struct kvm_vcpu___nq, kvm))
		return 0;
	return vm_id_of_kvm((__u64)BPF_CORE_READ(v, kvm));
}

/* vcpu->arch.apic->apicv_active (older kernels: vcpu->arch.apicv_active). */
static __always_inline __u8 apicv_active_of(const void *vcpu)
{
	struct kvm_vcpu___nq *v = (void *)vcpu;

	if (!vcpu)
		return NQ_BOOL_UNKNOWN;
	if (bpf_core_field_exists(struct kvm_vcpu___nq, arch.apic) &&
	    bpf_core_field_exists(struct kvm_lapic___nq, apicv_active)) {
		struct kvm_lapic___nq *apic = BPF_CORE_READ(v, arch.apic);

		if (!apic)
			return NQ_BOOL_UNKNOWN;
		return BPF_CORE_READ(apic, apicv_active) ? 1 : 0;
	}
	if (bpf_core_field_exists(struct kvm_vcpu___nq, arch.apicv_active))
		return BPF_CORE_READ(v, arch.apicv_active) ? 1 : 0;
	return NQ_BOOL_UNKNOWN;
}

/* This thread's state, if it belongs to this process (tids are reused). */
static __always_inline struct nq_tid_state *tid_state(__u64 pid_tgid)
{
	__u32 tid = (__u32)pid_tgid;
	struct nq_tid_state *st = bpf_map_lookup_elem(&tids, &tid);

	if (st && st->tgid != (__u32)(pid_tgid >> 32))
		return NULL;
	return st;
}

/* Remember the thread's vCPU; returns the ISA of its open check, if any. */
static __always_inline __u8 remember_vcpu(__u64 pid_tgid, const void *vcpu, __u32 vcpu_id)
{
	__u32 tid = (__u32)pid_tgid;
	struct nq_tid_state *st = tid_state(pid_tgid);
	struct nq_tid_state n = {};

	if (st) {
		if (st->vcpu != (__u64)vcpu) {
			st->vcpu = (__u64)vcpu;
			st->vcpu_id = vcpu_id;
			st->vm_id = vm_id_of(vcpu);
		}
		return st->in_check ? st->isa : NQ_ISA_UNKNOWN;
	}
	n.vcpu = (__u64)vcpu;
	n.vcpu_id = vcpu_id;
	n.vm_id = vm_id_of(vcpu);
	n.tgid = pid_tgid >> 32;
	bpf_map_update_elem(&tids, &tid, &n, BPF_ANY);
	return NQ_ISA_UNKNOWN;
}

/* The thread's vCPU and VM, for probes without a vcpu argument. */
static __always_inline void tid_vcpu(__u64 pid_tgid, __u32 *vcpu_id, __u32 *vm_id)
{
	struct nq_tid_state *st = tid_state(pid_tgid);

	*vcpu_id = st ? st->vcpu_id : NQ_VCPU_UNKNOWN;
	*vm_id = st ? st->vm_id : 0;
}

/* ================= tracepoints: kvm_apic_accept_irq ================= */

/*
 * vcpu_id and vm_id of the target; the tracepoints only know the vcpu_id
 * (KVM passes it as "apicid"): the running task is often not the target's
 * VM (vhost, VFIO hard irqs), so their vm_id stays 0, unknown.
 */
static __always_inline int emit_accept(__u64 pid_tgid, __u64 key, __u32 apicid, __u16 dm, __u16 tm,
				       __u8 vec, __u32 vm_id, __u8 flags)
{
	struct nq_event *e;

	/*
	 * The hottest event: unless a check is open on its vCPU, nothing needs
	 * it as a record.  Count it in place (the program never nests on a
	 * CPU: a plain increment is exact), keeping its history if asked.
	 */
	if (accept_mode == NQ_ACCEPTS_COUNT ||
	    (accept_mode == NQ_ACCEPTS_CONTEXT && !ctx_accept(key, vm_id, dm, vec))) {
		cpu_ctr[bpf_get_smp_processor_id() & (NQ_BSS_CPUS - 1)][NQ_CTR_ACCEPTS]++;
		return 0;
	}
	e = ev_new(NQ_EV_IRQ_ACCEPT, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = apicid;
	e->accept.apicid = apicid;
	e->accept.delivery_mode = dm;
	e->accept.trigger_mode = tm;
	e->accept.vector = vec;
	e->accept.flags = flags;
	e->vm_id = vm_id;
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
	return emit_accept(pid_tgid, NQ_CTX_KEY_APICID | ctx->apicid, ctx->apicid, ctx->dm, tm,
			   ctx->vec, 0, 0);
}

/* Record read at offsets from the tracefs format file. */
SEC("tracepoint/kvm/kvm_apic_accept_irq")
int tpf_accept(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (skip_tgid(pid_tgid))
		return 0;
	__u32 apicid = fmt_read(ctx, NQ_FMT_ACCEPT, NQ_FA_APICID);

	return emit_accept(pid_tgid, NQ_CTX_KEY_APICID | apicid, apicid,
			   fmt_read(ctx, NQ_FMT_ACCEPT, NQ_FA_DM),
			   fmt_read(ctx, NQ_FMT_ACCEPT, NQ_FA_TM),
			   fmt_read(ctx, NQ_FMT_ACCEPT, NQ_FA_VEC), 0, 0);
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
	return emit_accept(pid_tgid, NQ_CTX_KEY_APICID | (__u32)ctx->args[0], (__u32)ctx->args[0],
			   (__u16)ctx->args[1], (__u16)ctx->args[2], (__u8)ctx->args[3], 0, 0);
}

/*
 * Exact: __apic_accept_irq(apic, delivery_mode, vector, level, trig_mode,
 * dest_map), where the target vCPU and its VM are read from the APIC.  When
 * this attaches, no accept tracepoint program is attached.
 */
SEC("kprobe/__apic_accept_irq")
int BPF_KPROBE(kp_accept_exact, void *apic, int delivery_mode, int vector, int level, int trig_mode)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct kvm_lapic___nq *a = apic;
	void *vcpu = NULL;

	if (skip_tgid(pid_tgid))
		return 0;
	if (apic && bpf_core_field_exists(struct kvm_lapic___nq, vcpu))
		vcpu = BPF_CORE_READ(a, vcpu);
	return emit_accept(pid_tgid, (__u64)vcpu, vcpu_id_of(vcpu), (__u16)delivery_mode,
			   (__u16)trig_mode, (__u8)vector, vm_id_of(vcpu), NQ_ACCEPT_F_EXACT);
}

/* ================= tracepoints: kvm_nested_vmexit ================= */

static __always_inline int emit_hw_vmexit(__u64 pid_tgid, __u32 reason, __u64 info1, __u64 info2,
					  __u32 intr_info, __u32 err, __u32 isa, __u32 vcpu_id,
					  int have_vcpu_id)
{
	__u32 tid = (__u32)pid_tgid, vm_id = 0;
	struct nq_event *e;

	if (have_vcpu_id) {
		struct nq_tid_state *st = tid_state(pid_tgid);

		if (!st) {
			struct nq_tid_state n = {.vcpu_id = vcpu_id, .tgid = pid_tgid >> 32};

			bpf_map_update_elem(&tids, &tid, &n, BPF_ANY);
		} else if (st->vcpu_id != vcpu_id) {
			/* Another vCPU on this thread: its VM is not known here. */
			st->vcpu_id = vcpu_id;
			st->vcpu = 0;
			st->vm_id = 0;
		} else {
			vm_id = st->vm_id;
		}
	} else {
		tid_vcpu(pid_tgid, &vcpu_id, &vm_id);
	}
	if (!stream_exits) {
		/*
		 * Most exits of L2 are L0's own business (a busy 7.3 host takes
		 * thousands of external-interrupt exits a second) and no check
		 * needs them: count them by reason, per CPU, exactly.
		 */
		__u32 zero = 0, slot = reason & 0xffff;
		struct nq_exit_ctr *c = bpf_map_lookup_elem(&exit_ctr, &zero);

		if (c)
			c->n[slot < NQ_EXIT_SLOTS ? slot : NQ_EXIT_SLOTS - 1]++;
		return 0;
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
	e->vm_id = vm_id;
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
	struct nq_event *e;
	__u32 vcpu_id, vm_id;

	/* No vcpu argument: the thread's vCPU from the check / hw exit. */
	tid_vcpu(pid_tgid, &vcpu_id, &vm_id);
	e = ev_new(NQ_EV_VMEXIT_INJECT, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->vm_id = vm_id;
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
	struct nq_event *e;
	__u32 vcpu_id, vm_id;

	tid_vcpu(pid_tgid, &vcpu_id, &vm_id);
	e = ev_new(NQ_EV_SVM_INTR_EXIT, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->vm_id = vm_id;
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
	n.vm_id = vm_id_of(vcpu);
	n.tgid = pid_tgid >> 32;
	bpf_map_update_elem(&tids, &tid, &n, BPF_ANY);
	if (accept_mode == NQ_ACCEPTS_CONTEXT)
		ctx_check((__u64)vcpu, n.vm_id, 1);

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
	e->vm_id = n.vm_id;
	ev_submit(e);
	return 0;
}

static __always_inline int check_exit(struct pt_regs *ctx, __u8 isa)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nq_tid_state *st;
	struct nq_event *e;
	__u32 vcpu_id = NQ_VCPU_UNKNOWN, vm_id = 0;
	__u64 vcpu = 0;
	__u8 pi_before = 0;
	int ret = (int)PT_REGS_RC(ctx);

	if (skip_tgid(pid_tgid))
		return 0;
	st = tid_state(pid_tgid);
	if (st) {
		vcpu = st->vcpu;
		vcpu_id = st->vcpu_id;
		vm_id = st->vm_id;
		pi_before = st->pi_pending;
		st->in_check = 0;
		st->in_ack = 0;
	}
	if (accept_mode == NQ_ACCEPTS_CONTEXT && vcpu)
		ctx_check(vcpu, 0, 0);
	e = ev_new(NQ_EV_CHECK_EXIT, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = isa;
	e->check_exit.ret = ret;
	e->vm_id = vm_id;
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
			e->vm_id = vm_id;
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

/* ================= kprobes: peek, ExtINT and ack ================= */

/* kvm_apic_has_interrupt() returned: the peek, only inside a check. */
SEC("kretprobe/kvm_apic_has_interrupt")
int BPF_KRETPROBE(krp_peek)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nq_tid_state *st;
	struct nq_event *e;
	int vector = (int)PT_REGS_RC(ctx);
	__u64 vcpu;
	__u32 vcpu_id, vm_id;
	__u8 in_ack, isa, flags = 0;

	if (skip_tgid(pid_tgid))
		return 0;
	st = tid_state(pid_tgid);
	if (!st || !st->in_check)
		return 0;
	vcpu = st->vcpu;
	vcpu_id = st->vcpu_id;
	vm_id = st->vm_id;
	in_ack = st->in_ack;
	isa = st->isa;
	if (in_ack)
		flags |= NQ_PEEK_F_IN_ACK;
	if (peek_decides)
		flags |= NQ_PEEK_F_DECIDES;
	e = ev_new(NQ_EV_PEEK, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = isa;
	e->peek.vector = vector;
	e->peek.vmcs = isa == NQ_ISA_VMX ? vmcs_of((void *)vcpu) : NQ_VMCS_UNKNOWN;
	e->peek.flags = flags;
	if (accept_mode == NQ_ACCEPTS_CONTEXT)
		e->peek.accept_ts = ctx_peek(vcpu, vector);
	e->vm_id = vm_id;
	ev_submit(e);
	return 0;
}

/*
 * kvm_cpu_get_extint() returned inside a check: the PIC (ExtINT) vector, or
 * -1, so that an ExtINT exit is classified positively, never by elimination.
 */
SEC("kretprobe/kvm_cpu_get_extint")
int BPF_KRETPROBE(krp_extint)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nq_tid_state *st;
	struct nq_event *e;
	int vector = (int)PT_REGS_RC(ctx);
	__u32 vcpu_id, vm_id;
	__u8 isa;

	if (skip_tgid(pid_tgid))
		return 0;
	st = tid_state(pid_tgid);
	if (!st || !st->in_check)
		return 0;
	vcpu_id = st->vcpu_id;
	vm_id = st->vm_id;
	isa = st->isa;
	e = ev_new(NQ_EV_EXTINT, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = isa;
	e->extint.vector = vector;
	e->vm_id = vm_id;
	ev_submit(e);
	return 0;
}

static __always_inline int emit_ack(__u64 pid_tgid, const void *vcpu, __u32 vcpu_id, __u32 vm_id,
				    int vector, __u8 api, __u8 isa)
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
	if (accept_mode == NQ_ACCEPTS_CONTEXT && vcpu) {
		__u64 ts;

		e->ack.irr = ctx_ack((__u64)vcpu, vector, &ts);
		e->ack.accept_ts = ts;
	}
	e->vm_id = vm_id;
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
	isa = remember_vcpu(pid_tgid, vcpu, vcpu_id);
	return emit_ack(pid_tgid, vcpu, vcpu_id, vm_id_of(vcpu), vector, NQ_ACK_API_APIC_ACK, isa);
}

/* <= 6.11: kvm_get_apic_interrupt(vcpu) entry marks the thread "in ack" */
SEC("kprobe/kvm_get_apic_interrupt")
int BPF_KPROBE(kp_get_apic, void *vcpu)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct nq_tid_state *st;

	if (skip_tgid(pid_tgid))
		return 0;
	remember_vcpu(pid_tgid, vcpu, vcpu_id_of(vcpu));
	st = bpf_map_lookup_elem(&tids, &tid);
	if (st)
		st->in_ack = 1;
	return 0;
}

/* ... and its return value is the acked vector (-1: nothing acked) */
SEC("kretprobe/kvm_get_apic_interrupt")
int BPF_KRETPROBE(krp_get_apic)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nq_tid_state *st;
	int vector = (int)PT_REGS_RC(ctx);
	__u64 vcpu = 0;
	__u32 vcpu_id = NQ_VCPU_UNKNOWN, vm_id = 0;
	__u8 isa = NQ_ISA_UNKNOWN;

	if (skip_tgid(pid_tgid))
		return 0;
	st = tid_state(pid_tgid);
	if (st) {
		st->in_ack = 0;
		vcpu = st->vcpu;
		vcpu_id = st->vcpu_id;
		vm_id = st->vm_id;
		isa = st->in_check ? st->isa : NQ_ISA_UNKNOWN;
	}
	if (vector < 0)
		return 0;
	return emit_ack(pid_tgid, (void *)vcpu, vcpu_id, vm_id, vector, NQ_ACK_API_GET_APIC_IRQ,
			isa);
}

/* ================= kprobes: SVI and VMCS switches ================= */

/*
 * The entry of vmx_hwapic_isr_update.  What happened to the write is not
 * inferred here: 6.14 .. 6.19 defer it while L2 runs, 7.x switch to vmcs01
 * inside the function.  With the return probe attached the record says so
 * (NQ_SVI_F_AWAIT_RETURN) and NQ_EV_SVI_RETURN carries the outcome.
 */
static __always_inline int emit_svi(__u64 pid_tgid, const void *vcpu, __u32 vcpu_id, __u32 vm_id,
				    int max_isr)
{
	struct nq_tid_state *st = tid_state(pid_tgid);
	struct nq_event *e;

	/* Count the vmcs01 loads this thread makes until the return (7.x guard). */
	if (st) {
		st->in_svi = 1;
		st->loads01 = 0;
	}
	e = ev_new(NQ_EV_SVI_UPDATE, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = NQ_ISA_VMX;
	e->svi.max_isr = max_isr;
	e->svi.vmcs = vmcs_of(vcpu);
	e->svi.outcome = NQ_SVI_WRITTEN;
	e->svi.origin = NQ_SVI_ORIGIN_L1_ISR;
	e->svi.guest_mode = guest_mode_of(vcpu);
	e->svi.flags = svi_return_live ? NQ_SVI_F_AWAIT_RETURN : 0;
	e->vm_id = vm_id;
	ev_submit(e);
	return 0;
}

/* 6.14+: vmx_hwapic_isr_update(vcpu, max_isr); the return probe reads the vCPU from tids */
SEC("kprobe/vmx_hwapic_isr_update")
int BPF_KPROBE(kp_svi, void *vcpu, int max_isr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 vcpu_id;

	if (skip_tgid(pid_tgid))
		return 0;
	vcpu_id = vcpu_id_of(vcpu);
	remember_vcpu(pid_tgid, vcpu, vcpu_id);
	return emit_svi(pid_tgid, vcpu, vcpu_id, vm_id_of(vcpu), max_isr);
}

/* < 6.14: vmx_hwapic_isr_update(max_isr); the vCPU comes from this thread */
SEC("kprobe/vmx_hwapic_isr_update")
int BPF_KPROBE(kp_svi_old, int max_isr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nq_tid_state *st;
	__u64 vcpu = 0;
	__u32 vcpu_id = NQ_VCPU_UNKNOWN, vm_id = 0;

	if (skip_tgid(pid_tgid))
		return 0;
	st = tid_state(pid_tgid);
	if (st) {
		vcpu = st->vcpu;
		vcpu_id = st->vcpu_id;
		vm_id = st->vm_id;
	}
	return emit_svi(pid_tgid, (void *)vcpu, vcpu_id, vm_id, max_isr);
}

/*
 * vmx_hwapic_isr_update returned: the VMCS loaded now and, on 6.14 .. 6.19,
 * whether the update was deferred (nested.update_vmcs01_hwapic_isr set).
 * The engine judges from the entry, the VMCS switches in between (7.x:
 * the vmcs01 guard) and this.  Both signatures: the vCPU is the thread's.
 */
SEC("kretprobe/vmx_hwapic_isr_update")
int BPF_KRETPROBE(krp_svi)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nq_tid_state *st;
	struct nq_event *e;
	__u64 vcpu;
	__u32 vcpu_id, vm_id;
	__u8 pending = NQ_BOOL_UNKNOWN, loads01;

	if (skip_tgid(pid_tgid))
		return 0;
	st = tid_state(pid_tgid);
	if (!st)
		return 0;
	vcpu = st->vcpu;
	vcpu_id = st->vcpu_id;
	vm_id = st->vm_id;
	loads01 = st->in_svi && vmcs_switch_live ? st->loads01 : NQ_BOOL_UNKNOWN;
	st->in_svi = 0;
	if (vcpu && vmx_known() &&
	    bpf_core_field_exists(struct vcpu_vmx___nq, nested.update_vmcs01_hwapic_isr))
		pending = BPF_CORE_READ(vmx_of((void *)vcpu), nested.update_vmcs01_hwapic_isr) ? 1
											       : 0;
	e = ev_new(NQ_EV_SVI_RETURN, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = NQ_ISA_VMX;
	e->svi_ret.vmcs = vmcs_of((void *)vcpu);
	e->svi_ret.update_pending = pending;
	e->svi_ret.guest_mode = guest_mode_of((void *)vcpu);
	e->svi_ret.loads01 = loads01;
	e->vm_id = vm_id;
	ev_submit(e);
	return 0;
}

/* vmx_vcpu_load_vmcs(vcpu, cpu[, buddy]): loaded_vmcs is already the new one. */
SEC("kprobe/vmx_vcpu_load_vmcs")
int BPF_KPROBE(kp_load_vmcs, void *vcpu)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nq_tid_state *st;
	struct nq_event *e;
	__u32 vcpu_id;
	__u8 to;

	if (skip_tgid(pid_tgid))
		return 0;
	vcpu_id = vcpu_id_of(vcpu);
	to = vmcs_of(vcpu);
	remember_vcpu(pid_tgid, vcpu, vcpu_id);
	st = tid_state(pid_tgid);
	if (st && st->in_svi && to == NQ_VMCS_01 && st->loads01 < 254)
		st->loads01++;
	e = ev_new(NQ_EV_VMCS_SWITCH, pid_tgid);
	if (!e)
		return 0;
	e->h.vcpu_id = vcpu_id;
	e->h.isa = NQ_ISA_VMX;
	e->vmcs_switch.to = to;
	e->vmcs_switch.guest_mode = guest_mode_of(vcpu);
	e->vmcs_switch.apicv_active = apicv_active_of(vcpu);
	e->vm_id = vm_id_of(vcpu);
	ev_submit(e);
	return 0;
}

/* ================= kprobe: the VM is destroyed ================= */

/*
 * kvm_destroy_vm(kvm): the VM's state can go, by its vm_id.  The process
 * that drops the last reference is normally the VM's own; userspace also
 * watches /proc for processes that are gone.
 */
SEC("kprobe/kvm_destroy_vm")
int BPF_KPROBE(kp_vm_destroy, void *kvm)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct nq_event *e;

	if (skip_tgid(pid_tgid))
		return 0;
	e = ev_new(NQ_EV_VM_GONE, pid_tgid);
	if (!e)
		return 0;
	e->vm_gone.tgid = pid_tgid >> 32;
	e->vm_id = vm_id_of_kvm((__u64)kvm);
	ev_submit(e);
	return 0;
}
