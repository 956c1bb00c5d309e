/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nestirq event ABI, shared by the BPF programs and userspace.
 *
 * Every record is a fixed 64-byte struct nq_event: a 24-byte header, a
 * 32-byte payload union and an 8-byte trailer (VM id, drop sequence).
 * Widths are explicit, there are no pointers, and the layout is the same on
 * the BPF target and on x86-64 userspace.  New kinds may be appended;
 * existing fields never move.  Bump NQ_ABI_VERSION when a field changes
 * meaning.
 *
 * Version 2 added the trailer (zero in version 1 records, which read as
 * "VM unknown, no drop before"), the kinds from NQ_EV_SVI_RETURN on, and
 * the flags bytes of accept, SVI and VMCS-switch records.
 *
 * Version 3 keeps a vCPU's accept history in the kernel and attaches it to
 * the records that need it (peek.accept_ts, ack.irr and ack.accept_ts), so
 * that accepts and exits of L2 are no longer streamed one by one: what the
 * kernel only counted arrives as NQ_EV_COUNT records.  Version 1 and 2
 * records read with those fields zero, "no kernel context".
 */
#ifndef NESTIRQ_ABI_H
#define NESTIRQ_ABI_H

/*
 * The kernel UAPI types, on both sides: BPF programs and every userspace
 * file (glibc and libbpf headers pull <linux/types.h> in anyway, so a local
 * typedef would clash).  Print them with %llu/%llx and a cast.
 */
#include <linux/types.h>

#define NQ_ABI_VERSION 3
/* The oldest record version the readers still accept. */
#define NQ_ABI_VERSION_MIN 1
#define NQ_EVENT_SIZE	   64

/* vcpu_id when the probe could not tell which vCPU it ran for. */
#define NQ_VCPU_UNKNOWN 0xffffffffu

enum nq_kind {
	NQ_EV_NONE = 0,
	NQ_EV_IRQ_ACCEPT = 1,	    /* tp kvm:kvm_apic_accept_irq */
	NQ_EV_CHECK_ENTER = 2,	    /* vmx/svm_check_nested_events entry */
	NQ_EV_CHECK_EXIT = 3,	    /* ... and its return */
	NQ_EV_PEEK = 4,		    /* kvm_apic_has_interrupt returned */
	NQ_EV_ACK = 5,		    /* an IRQ moved from IRR to ISR */
	NQ_EV_HW_NESTED_VMEXIT = 6, /* tp kvm:kvm_nested_vmexit (hardware exit from L2) */
	NQ_EV_VMEXIT_INJECT = 7,    /* tp kvm:kvm_nested_vmexit_inject (exit into L1) */
	NQ_EV_SVI_UPDATE = 8,	    /* vmx_hwapic_isr_update */
	NQ_EV_VMCS_SWITCH = 9,	    /* vmx_vcpu_load_vmcs */
	NQ_EV_NESTED_PI = 10,	    /* L2 posted-interrupt notification state */
	NQ_EV_SVM_INTR_EXIT = 11,   /* tp kvm:kvm_nested_intr_vmexit (nSVM INTR) */
	NQ_EV_LOST = 12,	    /* userspace marker: records lost before here */
	NQ_EV_SVI_RETURN = 13,	    /* vmx_hwapic_isr_update returned */
	NQ_EV_EXTINT = 14,	    /* kvm_cpu_get_extint returned inside a check */
	NQ_EV_VM_GONE = 15,	    /* userspace marker: the VM (tgid / vm_id) is gone */
	NQ_EV_SYNC = 16,	    /* userspace marker: every loss before here is reported */
	NQ_EV_COUNT = 17, /* userspace marker: records counted in the kernel, not streamed */
	NQ_EV__MAX
};

enum nq_isa {
	NQ_ISA_UNKNOWN = 0,
	NQ_ISA_VMX = 1, /* KVM_ISA_VMX in the kernel's tracepoints */
	NQ_ISA_SVM = 2, /* KVM_ISA_SVM */
};

/* Which VMCS was current (struct vcpu_vmx::loaded_vmcs) at the probe. */
enum nq_vmcs {
	NQ_VMCS_UNKNOWN = 0,
	NQ_VMCS_01 = 1,
	NQ_VMCS_02 = 2,
	NQ_VMCS_OTHER = 3,
};

/* NQ_EV_ACK: where the ack was observed. */
enum nq_ack_api {
	NQ_ACK_API_UNKNOWN = 0,
	NQ_ACK_API_APIC_ACK = 1,     /* kvm_apic_ack_interrupt(vcpu, vector), 6.12+ */
	NQ_ACK_API_GET_APIC_IRQ = 2, /* return of kvm_get_apic_interrupt(), <= 6.11 */
};

/*
 * NQ_EV_SVI_UPDATE outcome.  Version 2 probes always report WRITTEN at entry
 * and let NQ_EV_SVI_RETURN say what happened; DEFERRED is what version 1
 * probes inferred at entry, still honoured when replaying such traces.
 */
enum nq_svi_outcome {
	NQ_SVI_WRITTEN = 0,  /* the VMWRITE to GUEST_INTR_STATUS.SVI happened */
	NQ_SVI_DEFERRED = 1, /* 6.14+: deferred via nested.update_vmcs01_hwapic_isr */
};

/* NQ_EV_SVI_UPDATE flags */
#define NQ_SVI_F_AWAIT_RETURN                                                                      \
	(1u << 0) /* a return probe is attached: judge at NQ_EV_SVI_RETURN                         \
		   */

/* A tri-state byte read from the kernel: 0, 1, or not readable here. */
#define NQ_BOOL_UNKNOWN 0xff

/* NQ_EV_SVI_UPDATE origin: only L1 ISR updates must target vmcs01. */
enum nq_svi_origin {
	NQ_SVI_ORIGIN_L1_ISR = 0,   /* vmx_hwapic_isr_update from apic_set/clear_isr */
	NQ_SVI_ORIGIN_L2_STATE = 1, /* L2's own RVI/SVI written into vmcs02 */
};

/* NQ_EV_CHECK_ENTER ctls bits: L1's vmcs12 controls when readable. */
#define NQ_CTL_KNOWN	    (1u << 0) /* the bits below are valid */
#define NQ_CTL_EXIT_ON_INTR (1u << 1) /* PIN_BASED_EXT_INTR_MASK / INTR intercept */
#define NQ_CTL_ACK_ON_EXIT  (1u << 2) /* VM_EXIT_ACK_INTR_ON_EXIT */
#define NQ_CTL_POSTED_INTR  (1u << 3) /* PIN_BASED_POSTED_INTR */

/* NQ_EV_PEEK flags */
#define NQ_PEEK_F_IN_ACK  (1u << 0) /* the peek ran inside the ack function (<= 6.11) */
#define NQ_PEEK_F_DECIDES (1u << 1) /* this kernel decides the exit vector here (6.12+) */

/*
 * NQ_EV_ACK irr: the acked vector in L1's IRR as the kernel-side accept
 * history (version 3) saw it.  Never a verdict: IRR also fills from sources
 * no probe sees.
 */
enum nq_ack_irr {
	NQ_ACK_IRR_UNKNOWN = 0,	    /* no history for this vCPU (or a version 1/2 record) */
	NQ_ACK_IRR_NEVER = 1,	    /* the vector was never seen accepted on this vCPU */
	NQ_ACK_IRR_NOT_PENDING = 2, /* not accepted since its previous ack */
	NQ_ACK_IRR_PENDING = 3,	    /* accepted since its previous ack */
};

/* NQ_EV_IRQ_ACCEPT flags */
#define NQ_ACCEPT_F_EXACT (1u << 0) /* from __apic_accept_irq: vcpu and VM read from the APIC */
/*
 * Never in a trace: an accept the engine rebuilt from the accept_ts of an
 * event ABI 3 peek or ack record (only time, vector and vCPU are known).
 */
#define NQ_ACCEPT_F_KERNEL_CONTEXT (1u << 7)

/* APIC delivery modes (ICR bits 10:8, as KVM passes them to the tracepoint) */
#define NQ_APIC_DM_MASK	  0x700u
#define NQ_APIC_DM_FIXED  0x000u
#define NQ_APIC_DM_LOWEST 0x100u

/* NQ_EV_LOST sources */
enum nq_lost_source {
	NQ_LOST_RINGBUF = 0,	/* ring buffer full: hdr.cpu is the CPU that dropped */
	NQ_LOST_PROBE_MISS = 1, /* kretprobe maxactive or BPF recursion: CPU unknown */
};
/* hdr.cpu of a marker that applies to every CPU */
#define NQ_CPU_ALL 0xffffu

/* VM_EXIT_INTR_INFO / exit_int_info bits (SDM 24.9.2) */
#define NQ_INTR_INFO_VALID	       0x80000000u
#define NQ_INTR_INFO_TYPE_MASK	       0x700u
#define NQ_INTR_INFO_VECTOR_MASK       0xffu
#define NQ_VMX_EXIT_EXTERNAL_INTERRUPT 1u
#define NQ_SVM_EXIT_INTR	       0x60u

struct nq_event_hdr {
	__u64 ts_ns;   /* bpf_ktime_get_ns(), CLOCK_MONOTONIC */
	__u32 tgid;    /* the VM: hypervisor process id */
	__u32 tid;     /* the thread that hit the probe */
	__u32 vcpu_id; /* kvm_vcpu::vcpu_id, or NQ_VCPU_UNKNOWN */
	__u16 cpu;     /* host CPU */
	__u8 kind;     /* enum nq_kind */
	__u8 isa;      /* enum nq_isa */
};

struct nq_irq_accept {
	__u32 apicid; /* as traced; KVM passes the target vcpu_id */
	__u16 delivery_mode;
	__u16 trigger_mode;
	__u8 vector;
	__u8 flags; /* NQ_ACCEPT_F_* */
	__u8 pad[2];
};

struct nq_check_enter {
	__u16 posted_intr_nv; /* L2's PI notification vector, 0xffff if none/unknown */
	__u8 vmcs;	      /* enum nq_vmcs */
	__u8 guest_mode;      /* HF_GUEST_MASK, informational only */
	__u8 ctls;	      /* NQ_CTL_* */
	__u8 pi_pending;
	__u8 pad[2];
};

struct nq_check_exit {
	__s32 ret; /* 0 or -EBUSY, ... */
};

struct nq_peek {
	__s32 vector; /* -1 when nothing is pending */
	__u8 vmcs;
	__u8 flags; /* NQ_PEEK_F_* */
	__u8 pad[2];
	/* v3: first accept of this vector since its previous ack (0: none seen) */
	__u64 accept_ts;
};

struct nq_ack {
	__s32 vector;
	__u8 vmcs; /* loaded VMCS at the moment of the ack */
	__u8 api;  /* enum nq_ack_api */
	__u8 guest_mode;
	__u8 irr; /* v3: enum nq_ack_irr */
	/* v3: first accept of this vector since its previous ack (0: none seen) */
	__u64 accept_ts;
};

struct nq_hw_vmexit {
	__u64 info1; /* exit qualification */
	__u64 info2;
	__u32 reason;
	__u32 intr_info;
	__u32 error_code;
	__u32 pad;
};

struct nq_vmexit_inject {
	__u64 exit_code;     /* VMX exit reason or SVM exit code (u32 or u64 in the tp) */
	__u64 info1;	     /* VMX: exit qualification */
	__u64 info2;	     /* VMX: IDT-vectoring info */
	__u32 exit_int_info; /* VMX: VM_EXIT_INTR_INFO (acked vector | valid | type) */
	__u32 exit_int_info_err;
};

struct nq_svi_update {
	__s32 max_isr; /* -1: ISR empty */
	__u8 vmcs;     /* loaded at entry (7.x switches to vmcs01 inside) */
	__u8 outcome;  /* enum nq_svi_outcome */
	__u8 origin;   /* enum nq_svi_origin */
	__u8 guest_mode;
	__u8 flags; /* NQ_SVI_F_* */
	__u8 pad[3];
};

struct nq_svi_return {
	__u8 vmcs;	     /* loaded at return */
	__u8 update_pending; /* nested.update_vmcs01_hwapic_isr at return, or NQ_BOOL_UNKNOWN */
	__u8 guest_mode;
	/*
	 * vmcs01 loads this thread made between entry and return (7.x: the
	 * guard's switch), counted in BPF so the verdict never depends on a
	 * separate record reaching userspace; NQ_BOOL_UNKNOWN without the
	 * VMCS-switch probe.  Saturates at 254.
	 */
	__u8 loads01;
};

struct nq_vmcs_switch {
	__u8 to; /* enum nq_vmcs: the VMCS that became current */
	__u8 guest_mode;
	__u8 apicv_active; /* vcpu->arch.apic->apicv_active, or NQ_BOOL_UNKNOWN */
	__u8 pad;
};

struct nq_extint {
	__s32 vector; /* -1: no PIC interrupt */
};

struct nq_vm_gone {
	__u32 tgid; /* the process that hosted the VM (also in the header) */
};

/*
 * Records of `kind` the kernel counted instead of streaming, since the
 * previous NQ_EV_COUNT of the same kind and reason (accepts outside any
 * check, exits of L2).  vcpu_id and vm_id are unknown: the counts are
 * host-wide.
 */
struct nq_count {
	__u64 n;
	__u8 kind; /* enum nq_kind of the counted records */
	__u8 pad[3];
	__u32 reason; /* NQ_EV_HW_NESTED_VMEXIT: the exit reason (NQ_COUNT_REASON_ANY: all) */
};
#define NQ_COUNT_REASON_ANY 0xffffffffu

struct nq_nested_pi {
	__u16 posted_intr_nv; /* 0xffff: invalid (PI disabled by L1) */
	__u8 pi_enabled;      /* vmcs12 has PIN_BASED_POSTED_INTR */
	__u8 pi_pending;
};

struct nq_svm_intr_exit {
	__u64 rip;
};

struct nq_lost {
	__u64 count; /* records lost on hdr.cpu (NQ_CPU_ALL: anywhere) since the previous marker */
	__u8 source; /* enum nq_lost_source */
	__u8 pad[7];
};

struct nq_event {
	struct nq_event_hdr h;
	union {
		struct {
			union {
				struct nq_irq_accept accept;
				struct nq_check_enter check_enter;
				struct nq_check_exit check_exit;
				struct nq_peek peek;
				struct nq_ack ack;
				struct nq_hw_vmexit hw_exit;
				struct nq_vmexit_inject inject;
				struct nq_svi_update svi;
				struct nq_svi_return svi_ret;
				struct nq_vmcs_switch vmcs_switch;
				struct nq_nested_pi pi;
				struct nq_svm_intr_exit svm_intr;
				struct nq_extint extint;
				struct nq_vm_gone vm_gone;
				struct nq_lost lost;
				struct nq_count count;
				__u8 body[32];
			};
			/*
			 * The VM (a 32-bit id of its struct kvm, 0: unknown), so that one
			 * process may host several VMs and a reused pid starts afresh.
			 */
			__u32 vm_id;
			/*
			 * Records dropped on hdr.cpu before this one was reserved (low 32
			 * bits): a change between two records of a CPU places the loss.
			 */
			__u32 drop_seq;
		};
		__u8 raw[40]; /* the payload and trailer as bytes */
	};
};

#ifndef __bpf__
_Static_assert(sizeof(struct nq_event_hdr) == 24, "hdr size");
_Static_assert(sizeof(struct nq_event) == NQ_EVENT_SIZE, "event size");
_Static_assert(__builtin_offsetof(struct nq_event, vm_id) == 56, "trailer offset");
#endif

#endif /* NESTIRQ_ABI_H */
