/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live side: what this host can trace (sysinfo), which variant of each
 * probe point applies (the plan), and the BPF loader that attaches it and
 * turns the ring buffer into a stream of struct nq_event.
 */
#ifndef NESTIRQ_LIVE_H
#define NESTIRQ_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nestirq/abi.h"
#include "nestirq/plan.h"
#include "nestirq/trace.h"

/* ---- host facts ---- */

/*
 * Where an L1 SVI update lands when vmx_hwapic_isr_update runs while L2 is
 * active, decided from symbols and BTF, never from the release number.
 */
enum nq_svi_regime {
	NQ_SVI_REGIME_UNKNOWN = 0, /* no kvm_intel, or no BTF to tell */
	NQ_SVI_REGIME_PLAIN,	   /* the VMWRITE goes to the loaded VMCS (before 6.14) */
	NQ_SVI_REGIME_DEFERRED,	   /* nested.update_vmcs01_hwapic_isr (6.14..6.19, backports) */
	NQ_SVI_REGIME_GUARD, /* guard(vmx_vmcs01) inside the function (vmx_load_vmcs01, 7.x) */
};

/* "plain", "deferred", "guard", "unknown" */
const char *nq_svi_regime_name(enum nq_svi_regime r);
/* One line for people: "plain write (before 6.14)" ... */
const char *nq_svi_regime_desc(enum nq_svi_regime r);

struct nq_sysinfo {
	char release[128];
	char host[128];
	bool root_ns_ok; /* we could set up a private mount namespace if needed */
	bool tracefs;	 /* /sys/kernel/tracing/events usable */
	bool tracefs_mounted_by_us;
	bool kprobes;	     /* kprobe PMU or tracefs kprobe_events */
	bool kallsyms_addrs; /* /proc/kallsyms shows addresses */
	char lockdown[32];   /* "none", "integrity", "confidentiality", "unknown" */
	bool cap_bpf, cap_perfmon, cap_sys_admin;
	bool btf_vmlinux;
	bool btf_kvm, btf_kvm_intel, btf_kvm_amd;	       /* module BTF in /sys/kernel/btf */
	bool mod_kvm, mod_kvm_intel, mod_kvm_amd, mod_kvm_pvm; /* /sys/module/<m> */
	bool kvm_builtin; /* kvm is part of vmlinux (no initstate) */
	bool dev_kvm;
	/* flow detection inputs */
	bool has_apic_ack;	    /* kvm_apic_ack_interrupt in kallsyms */
	bool has_get_apic_irq;	    /* kvm_get_apic_interrupt in kallsyms */
	bool isr_update_has_vcpu;   /* BTF: hwapic_isr_update takes a vcpu (6.14+) */
	bool has_update_vmcs01_isr; /* BTF: nested_vmx.update_vmcs01_hwapic_isr */
	bool has_load_vmcs01;	    /* vmx_load_vmcs01 in kallsyms or kvm_intel BTF (7.x guard) */
	enum nq_svi_regime svi_regime;
	bool btf_vcpu_vmx;	/* BTF: struct vcpu_vmx with loaded_vmcs */
	uint32_t hf_guest_mask; /* HF_GUEST_MASK: 1 << 5 before ~6.3, 1 << 0 since */
	bool btf_tp[4];		/* BTF: trace_event_raw_<tp> for NQ_TP_* */
	bool tp_exists[4];	/* tracefs events/kvm/<tp> for NQ_TP_* */
	/*
	 * What the kernel has: "<=6.11", "6.12+", "6.12+, SVI deferral backported",
	 * "6.14+" (the SVI deferral), "6.12+, vmcs01 guard", "unknown".
	 */
	char flow[32];
	char isa[16]; /* "vmx", "svm", "none" */
	char isa_desc[96];
};

/* Fills *si; never fails (unknown facts stay false). */
void nq_sysinfo_probe(struct nq_sysinfo *si);
/*
 * The derived facts (flow, SVI regime, the kallsyms flags) from the probed
 * ones and nq_ksym_exists(); nq_sysinfo_probe calls it, tests call it on
 * synthetic facts after nq_ksym_set().
 */
void nq_sysinfo_derive(struct nq_sysinfo *si);
/* Is `sym` in /proc/kallsyms (exact name, any module)?  Cached per call of probe. */
bool nq_ksym_exists(const char *sym);
/* Replace the kallsyms facts (NULL-terminated list); for tests of the plan. */
void nq_ksym_set(const char *const *present);
/* "<mod>" for a function we probe, for the "module not loaded" reason. */
const char *nq_ksym_module(const char *sym);

/* ---- the probe plan ---- */

enum nq_tp {
	NQ_TP_ACCEPT = 0,
	NQ_TP_HW_VMEXIT,
	NQ_TP_INJECT,
	NQ_TP_SVM_INTR,
	NQ_TP__MAX,
};

extern const char *const nq_tp_names[NQ_TP__MAX];

enum nq_point_id {
	NQ_PT_ACCEPT = 0,   /* tp kvm_apic_accept_irq */
	NQ_PT_HW_VMEXIT,    /* tp kvm_nested_vmexit */
	NQ_PT_INJECT,	    /* tp kvm_nested_vmexit_inject */
	NQ_PT_SVM_INTR,	    /* tp kvm_nested_intr_vmexit */
	NQ_PT_CHECK_VMX,    /* vmx_check_nested_events entry + return */
	NQ_PT_CHECK_SVM,    /* svm_check_nested_events entry + return */
	NQ_PT_PEEK,	    /* kretprobe kvm_apic_has_interrupt */
	NQ_PT_ACK,	    /* kvm_apic_ack_interrupt / kvm_get_apic_interrupt */
	NQ_PT_SVI,	    /* vmx_hwapic_isr_update */
	NQ_PT_VMCS_SWITCH,  /* vmx_vcpu_load_vmcs */
	NQ_PT_VMX_STATE,    /* CO-RE: loaded_vmcs vs vmcs02, nested PI, vmcs12 ctls */
	NQ_PT_ACCEPT_EXACT, /* kprobe __apic_accept_irq: replaces NQ_PT_ACCEPT when attached */
	NQ_PT_EXTINT,	    /* kretprobe kvm_cpu_get_extint (inside a check) */
	NQ_PT_SVI_RETURN,   /* kretprobe vmx_hwapic_isr_update */
	NQ_PT_VM_DESTROY,   /* kprobe kvm_destroy_vm */
	NQ_PT__MAX,
};

/* Tracepoint reading mode. */
enum nq_tp_mode {
	NQ_TPM_AUTO = 0,
	NQ_TPM_CORE,   /* classic tracepoint, record via CO-RE (BTF) */
	NQ_TPM_FORMAT, /* classic tracepoint, record at tracefs format offsets */
	NQ_TPM_RAW,    /* raw tracepoint, TP_PROTO arguments */
};

struct nq_point {
	enum nq_point_status status;
	char variant[64]; /* e.g. "tracepoint (CO-RE)", "kprobe kvm_apic_ack_interrupt" */
	char reason[160]; /* why unavailable / how it failed */
};

struct nq_plan {
	struct nq_point pt[NQ_PT__MAX];
	enum nq_tp_mode tp_mode[NQ_TP__MAX];
	const char *ack_sym; /* chosen ack function or NULL */
	bool ack_is_ret;     /* kretprobe kvm_get_apic_interrupt */
	const char *svi_sym; /* vmx_hwapic_isr_update / vt_hwapic_isr_update */
	bool svi_has_vcpu;
	enum nq_svi_regime svi_regime; /* from the host facts, for nq_plan_can_check */
};

/* enum nq_point_status and its names: nestirq/plan.h, the plan as data. */
extern const char *const nq_point_names[NQ_PT__MAX];

/* Decide the variant of each point from the host facts. */
void nq_plan_build(struct nq_plan *p, const struct nq_sysinfo *si, enum nq_tp_mode force);
/* The plan as data (a trace header's, doctor's): one entry per point. */
void nq_plan_data(const struct nq_plan *p, struct nq_plan_data *pd);
/*
 * Fill kernel/host/flow/isa/plan/created_ns of a trace header.  The plan
 * ends with a pseudo-entry "svi_regime" whose variant names the regime.
 */
void nq_plan_meta(const struct nq_plan *p, const struct nq_sysinfo *si, struct nq_trace_meta *m);

/* Which invariants (engine violation kinds) the attached points can check. */
bool nq_plan_can_check(const struct nq_plan *p, int violation_kind, const char **why);

/* Parse a tracefs format file into the nq_fmt slots of one tracepoint. */
struct nq_fmt;
int nq_tracefs_format(enum nq_tp tp, struct nq_fmt *f, char *err, size_t errlen);

/* ---- the loader ---- */

typedef void (*nq_live_event_cb)(const struct nq_event *ev, void *ctx);

struct nq_live_opts {
	uint32_t tgid;	     /* 0: trace every process */
	nq_live_event_cb cb; /* called for every record, NQ_EV_LOST included */
	void *ctx;
	bool load_all;		 /* load every program (verifier check), attach per plan */
	bool no_attach;		 /* load only (doctor --no-attach, tests) */
	enum nq_tp_mode tp_mode; /* NQ_TPM_AUTO unless a test forces one */
	uint32_t wakeup_events;	 /* records per CPU per wakeup; 0: NQ_WAKEUP_EVENTS */
	bool quiet;		 /* no libbpf warnings on stderr */
	/*
	 * Count accepts in the kernel instead of streaming them when the plan
	 * attaches nothing that pairs them (check, peek, ack): watch and serve.
	 * With pairing probes and the exact accept probe, accepts are always
	 * kept as context in the kernel and streamed only inside a check (see
	 * enum nq_accept_mode).  Counted records arrive as NQ_EV_COUNT.
	 */
	bool count_accepts;
};

struct nq_live;

/* Opens, loads and attaches.  Returns NULL and fills err on a setup error
 * (no BPF at all); unavailable points are not errors, see the plan. */
struct nq_live *nq_live_open(const struct nq_live_opts *o, char *err, size_t errlen);
/* Consumes ready records; returns the number delivered or a negative errno. */
int nq_live_poll(struct nq_live *l, int timeout_ms);
/* Re-plans when kvm_intel/kvm_amd were loaded or unloaded. 1 if re-planned. */
int nq_live_check_modules(struct nq_live *l, char *msg, size_t msglen);
void nq_live_close(struct nq_live *l);

const struct nq_plan *nq_live_plan(const struct nq_live *l);
const struct nq_sysinfo *nq_live_sysinfo(const struct nq_live *l);
/* Is anything attached?  False after a re-plan that attached nothing. */
bool nq_live_attached(const struct nq_live *l);
/* Probe hits lost before becoming records (kretprobe maxactive, recursion), so far. */
uint64_t nq_live_probe_misses(const struct nq_live *l);
/*
 * Reports every loss up to now (drops not yet tied to a record, missed
 * kretprobes) and then an NQ_EV_SYNC record.  nq_live_poll does this once
 * a second; callers do it once more after their final drain.
 */
void nq_live_sync(struct nq_live *l);
/* Records dropped by the kernel side so far, in total and per CPU. */
uint64_t nq_live_drops(const struct nq_live *l);
int nq_live_ncpus(const struct nq_live *l);
uint64_t nq_live_drops_cpu(const struct nq_live *l, int cpu);
uint64_t nq_live_events(const struct nq_live *l);
/* Accepts counted in the kernel and not streamed, so far. */
uint64_t nq_live_counted(const struct nq_live *l);
/* Exits of L2 counted in the kernel and not streamed, so far. */
uint64_t nq_live_exits_counted(const struct nq_live *l);
/* How accepts are handled in the kernel right now (probes.h NQ_ACCEPTS_*). */
int nq_live_accept_mode(const struct nq_live *l);
/* Are accepts counted in the kernel right now (NQ_ACCEPTS_COUNT or _CONTEXT)? */
bool nq_live_counting(const struct nq_live *l);
/* Number of programs loaded (all of them pass the verifier). */
int nq_live_nloaded(const struct nq_live *l);
/* Number of programs in the BPF object. */
int nq_live_nprograms(const struct nq_live *l);

/* ---- BPF program statistics (bpf_stats.c) ---- */
struct nq_metrics_snap;
/* kernel.bpf_stats_enabled: 1, 0, or -1 if unreadable. */
int nq_bpf_stats_sysctl(void);
/*
 * Turns run-time statistics on for as long as the returned fd is open
 * (BPF_ENABLE_STATS: the kernel restores the previous state when the fd is
 * closed, even if we crash).  -1 with err set on failure.
 */
int nq_bpf_stats_enable(char *err, size_t errlen);
/* run_time_ns/run_cnt of every loaded program into s->prog. */
void nq_live_prog_stats(struct nq_live *l, struct nq_metrics_snap *s);

/* ---- where losses belong (droptrack.c, no libbpf) ---- */
struct nq_droptrack {
	int nslots;	     /* per-CPU slots tracked */
	bool aliased;	     /* more CPUs than NQ_BSS_CPUS: markers name NQ_CPU_ALL */
	uint32_t tgid;	     /* header tgid of the markers */
	uint64_t *announced; /* per slot: drops already announced */
	uint64_t total;
};

int nq_droptrack_init(struct nq_droptrack *t, int ncpus, uint32_t tgid);
void nq_droptrack_free(struct nq_droptrack *t);
/* Hands ev to cb, preceded by a LOST marker when its drop_seq shows unannounced drops. */
void nq_droptrack_deliver(struct nq_droptrack *t, const struct nq_event *ev, nq_live_event_cb cb,
			  void *ctx);
/* After a batch: a marker per CPU whose count (read before the batch) exceeds what was announced.
 */
void nq_droptrack_flush(struct nq_droptrack *t, const uint64_t *counted, uint64_t ts_ns,
			nq_live_event_cb cb, void *ctx);
/* Drops announced so far for a CPU. */
uint64_t nq_droptrack_cpu(const struct nq_droptrack *t, int cpu);
/* An NQ_EV_LOST record. */
void nq_lost_marker(struct nq_event *ev, uint16_t cpu, uint64_t count, uint8_t source,
		    uint64_t ts_ns, uint32_t tgid);

/* Probe misses of these links and programs (misses.c). */
struct bpf_object;
struct bpf_link;
uint64_t nq_probe_misses(struct bpf_object *obj, struct bpf_link *const *links, int nlinks);

/* ---- processes that are gone (vmgone.c, no libbpf) ---- */
struct nq_vmgone {
	uint32_t *pids;
	uint64_t *starts; /* start time when first seen, 0: already gone */
	int n, cap;
	uint32_t last; /* the tgid noted last (fast path) */
	uint64_t (*start_of)(uint32_t pid);
};

/* start_of: start time of a process, 0 if gone; NULL: nq_proc_start_time. */
void nq_vmgone_init(struct nq_vmgone *g, uint64_t (*start_of)(uint32_t pid));
void nq_vmgone_free(struct nq_vmgone *g);
void nq_vmgone_seen(struct nq_vmgone *g, uint32_t tgid);
/* Delivers NQ_EV_VM_GONE for every noted process that is gone; returns how many. */
int nq_vmgone_check(struct nq_vmgone *g, uint64_t ts_ns, nq_live_event_cb cb, void *ctx);
/* /proc/PID/stat start time, 0 if the process is gone. */
uint64_t nq_proc_start_time(uint32_t pid);

/* ---- VM labels ---- */
/* "pid 1234 (name)" from /proc/PID/cmdline's QEMU -name, or "pid 1234 (comm)". */
void nq_vm_label(uint32_t pid, char *buf, size_t len);
/* The QEMU -name value in a NUL-separated cmdline; 0 if found. */
int nq_qemu_name(const char *cmdline, size_t len, char *out, size_t outlen);

/* Set by SIGINT/SIGTERM handlers in the commands. */
extern volatile int nq_live_stop;
void nq_live_install_signals(void);

#endif /* NESTIRQ_LIVE_H */
