/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Live-probe plumbing shared by bpf/nestirq.bpf.c and src/live/: the
 * tracefs-offset fallback table passed in .rodata and a few sizes.  This is
 * not part of the event ABI (see abi.h) and may change with the programs.
 */
#ifndef NESTIRQ_PROBES_H
#define NESTIRQ_PROBES_H

#include <linux/types.h>

/*
 * Field slots of the tracepoint records, for programs that read a record at
 * offsets parsed from tracefs `format` (when BTF lacks trace_event_raw_*).
 * A slot with size 0 is absent on the running kernel.
 */
#define NQ_FMT_SLOTS 8

/* The tracepoints with a format-offset program (same order as enum nq_tp). */
enum nq_fmt_tp {
	NQ_FMT_ACCEPT = 0,
	NQ_FMT_HW_VMEXIT,
	NQ_FMT_INJECT,
	NQ_FMT_SVM_INTR,
	NQ_FMT_TPS,
};

enum nq_fmt_accept_slot {
	NQ_FA_APICID = 0,
	NQ_FA_DM,
	NQ_FA_TM,
	NQ_FA_VEC,
};

/* kvm_nested_vmexit: current names, pre-2020 aliases in the comments. */
enum nq_fmt_hw_slot {
	NQ_FH_REASON = 0, /* exit_reason (old: exit_code) */
	NQ_FH_INFO1,	  /* info1 (old: exit_info1) */
	NQ_FH_INFO2,	  /* info2 (old: exit_info2) */
	NQ_FH_INTR_INFO,  /* intr_info (old: exit_int_info) */
	NQ_FH_ERROR_CODE, /* error_code (old: exit_int_info_err) */
	NQ_FH_ISA,	  /* isa */
	NQ_FH_VCPU_ID,	  /* vcpu_id (absent before 2020) */
};

enum nq_fmt_inject_slot {
	NQ_FI_EXIT_CODE = 0,
	NQ_FI_INFO1,
	NQ_FI_INFO2,
	NQ_FI_INT_INFO,
	NQ_FI_INT_INFO_ERR,
	NQ_FI_ISA,
};

enum nq_fmt_svm_slot {
	NQ_FS_RIP = 0,
};

struct nq_fmt {
	__u16 off[NQ_FMT_SLOTS];
	__u8 size[NQ_FMT_SLOTS]; /* 0: absent; 1, 2, 4 or 8 */
};

/* Default ring buffer size; each CPU wakes the reader every N records (2^k). */
#define NQ_RINGBUF_BYTES (8u << 20)
#define NQ_WAKEUP_EVENTS 1024u

/*
 * Per-CPU counters in the programs' .bss (cpu_ctr[cpu][NQ_CTR_*]), one
 * 64-byte line per CPU, indexed by the CPU the header already read: a
 * counter costs a load, not a map lookup, and userspace reads them from the
 * skeleton's mmapped .bss.  CPUs from NQ_BSS_CPUS up share slots (the loader
 * then attributes drops to every CPU).
 */
#define NQ_BSS_CPUS	 1024
#define NQ_CTR_PRODUCED	 0 /* records submitted (batched wakeups) */
#define NQ_CTR_DROPPED	 1 /* records that did not fit in the ring buffer */
#define NQ_CTR_ACCEPTS	 2 /* accepts counted and not streamed (NQ_ACCEPTS_COUNT, _CONTEXT) */
#define NQ_CTR_CTX_EVICT 3 /* vcpu_ctx slots taken over by another vCPU (its history lost) */
#define NQ_CTR_SLOTS	 8

/* Per-thread state (map "tids", key: tid): the vCPU a thread runs, where it is. */
struct nq_tid_state {
	__u64 vcpu; /* struct kvm_vcpu * last seen on this thread */
	__u32 vcpu_id;
	__u8 in_check;	 /* inside vmx/svm_check_nested_events */
	__u8 in_ack;	 /* inside kvm_get_apic_interrupt (<= 6.11) */
	__u8 isa;	 /* of the open check */
	__u8 pi_pending; /* nested.pi_pending at check entry */
	__u32 vm_id;	 /* of vcpu->kvm (abi.h), 0: unknown */
	__u32 tgid;	 /* the owner: a reused tid of another process starts afresh */
	__u8 in_svi;	 /* inside vmx_hwapic_isr_update (the return probe is live) */
	__u8 loads01;	 /* vmcs01 loads since its entry, saturating at 254 */
	__u8 pad[6];
};

/* Entries of the per-thread state map (LRU). */
#define NQ_TID_ENTRIES 16384

/* What an accept program does with an accept (.rodata accept_mode). */
enum nq_accept_mode {
	NQ_ACCEPTS_STREAM = 0,	/* every accept to the ring buffer; the engine keeps IRR */
	NQ_ACCEPTS_COUNT = 1,	/* counted only: nothing can pair it with a check */
	NQ_ACCEPTS_CONTEXT = 2, /* history in vcpu_ctx; streamed only inside a check */
};

/*
 * A vCPU's accept history (map "vcpu_ctx"): what the engine kept from
 * streamed accepts before event ABI 3.  The vCPU's key is its struct
 * kvm_vcpu pointer, or NQ_CTX_KEY_APICID | apicid where only the accept
 * tracepoint knows the target.  The map is an array, 4-way set
 * associative by a hash of the key (tag checked): an array lookup is
 * inlined by the verifier, where a hash-map lookup costs about as much as
 * the bare counter's whole program.  A fifth vCPU in a set evicts one
 * history (NQ_CTR_CTX_EVICT): with 512 sets that takes hundreds of running
 * vCPUs, and the history is context for counters, never a verdict.
 */
struct nq_vcpu_ctx {
	__u64 key;	     /* the vCPU owning this slot, 0: free */
	__u64 accepted[4];   /* vectors ever accepted (FIXED, LOWEST) */
	__u64 pending[4];    /* accepted since the vector's last ack */
	__u64 first_ts[256]; /* first accept since the vector's last ack, 0: none */
	__u32 vm_id;	     /* owner: a vcpu pointer reused by another VM starts afresh */
	__u32 in_check;	     /* a nested-event check is open on this vCPU */
};
#define NQ_CTX_KEY_APICID    (1ull << 63)
#define NQ_VCPU_CTX_SET_BITS 9 /* 512 sets */
#define NQ_VCPU_CTX_WAYS     4 /* 2048 slots of 2.1 KiB: 4.4 MiB */
#define NQ_VCPU_CTX_SLOTS    (NQ_VCPU_CTX_WAYS << NQ_VCPU_CTX_SET_BITS)

/* The first slot of a vCPU key's set (Fibonacci hashing: pointers differ in their middle bits). */
static inline __u32 nq_ctx_set(__u64 key)
{
	return (__u32)((key * 0x9E3779B97F4A7C15ull) >> (64 - NQ_VCPU_CTX_SET_BITS)) *
	       NQ_VCPU_CTX_WAYS;
}

/* Exits of L2 counted by reason (map "exit_ctr", per CPU); reasons >= 127 share the last slot. */
#define NQ_EXIT_SLOTS 128
struct nq_exit_ctr {
	__u64 n[NQ_EXIT_SLOTS];
};

#endif /* NESTIRQ_PROBES_H */
