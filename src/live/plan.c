// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The probe plan: for every probe point, which variant applies on this
 * kernel, or a named reason why it cannot be traced.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nestirq/engine.h"
#include "nestirq/probes.h"
#include "live.h"

const char *const nq_point_names[NQ_PT__MAX] = {
	[NQ_PT_ACCEPT] = "accept",
	[NQ_PT_HW_VMEXIT] = "hw_vmexit",
	[NQ_PT_INJECT] = "inject",
	[NQ_PT_SVM_INTR] = "svm_intr_exit",
	[NQ_PT_CHECK_VMX] = "check_vmx",
	[NQ_PT_CHECK_SVM] = "check_svm",
	[NQ_PT_PEEK] = "peek",
	[NQ_PT_ACK] = "ack",
	[NQ_PT_SVI] = "svi",
	[NQ_PT_VMCS_SWITCH] = "vmcs_switch",
	[NQ_PT_VMX_STATE] = "vmx_state",
	[NQ_PT_ACCEPT_EXACT] = "accept_exact",
	[NQ_PT_EXTINT] = "extint",
	[NQ_PT_SVI_RETURN] = "svi_return",
	[NQ_PT_VM_DESTROY] = "vm_destroy",
};

static const char *tracefs_root(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK))
		return "/sys/kernel/tracing";
	return "/sys/kernel/debug/tracing";
}

/* ---- tracefs format files ---- */

struct fmt_alias {
	int slot;
	const char *name;
};

static const struct fmt_alias accept_aliases[] = {
	{NQ_FA_APICID, "apicid"}, {NQ_FA_DM, "dm"}, {NQ_FA_TM, "tm"},
	{NQ_FA_VEC, "vec"},	  {-1, NULL},
};
static const struct fmt_alias hw_aliases[] = {
	{NQ_FH_REASON, "exit_reason"},
	{NQ_FH_REASON, "exit_code"},
	{NQ_FH_INFO1, "info1"},
	{NQ_FH_INFO1, "exit_info1"},
	{NQ_FH_INFO2, "info2"},
	{NQ_FH_INFO2, "exit_info2"},
	{NQ_FH_INTR_INFO, "intr_info"},
	{NQ_FH_INTR_INFO, "exit_int_info"},
	{NQ_FH_ERROR_CODE, "error_code"},
	{NQ_FH_ERROR_CODE, "exit_int_info_err"},
	{NQ_FH_ISA, "isa"},
	{NQ_FH_VCPU_ID, "vcpu_id"},
	{-1, NULL},
};
static const struct fmt_alias inject_aliases[] = {
	{NQ_FI_EXIT_CODE, "exit_code"},
	{NQ_FI_INFO1, "exit_info1"},
	{NQ_FI_INFO2, "exit_info2"},
	{NQ_FI_INT_INFO, "exit_int_info"},
	{NQ_FI_INT_INFO_ERR, "exit_int_info_err"},
	{NQ_FI_ISA, "isa"},
	{-1, NULL},
};
static const struct fmt_alias svm_aliases[] = {{NQ_FS_RIP, "rip"}, {-1, NULL}};

static const struct fmt_alias *const tp_aliases[NQ_TP__MAX] = {accept_aliases, hw_aliases,
							       inject_aliases, svm_aliases};

/* Slots each tracepoint needs for its record to make sense. */
static const int tp_required[NQ_TP__MAX][4] = {
	{NQ_FA_APICID, NQ_FA_VEC, -1},
	{NQ_FH_REASON, NQ_FH_INTR_INFO, -1},
	{NQ_FI_EXIT_CODE, NQ_FI_INT_INFO, -1},
	{NQ_FS_RIP, -1},
};

/* "\tfield:__u32 apicid;\toffset:8;\tsize:4;\tsigned:0;" */
static int parse_field_line(const char *line, char *name, size_t nlen, unsigned *off, unsigned *sz)
{
	const char *f = strstr(line, "field:"), *semi, *p, *o, *s;
	size_t n;

	if (!f)
		return -1;
	semi = strchr(f, ';');
	o = strstr(line, "offset:");
	s = strstr(line, "size:");
	if (!semi || !o || !s)
		return -1;
	/* the name is the last identifier before ';' (drop any [N]) */
	p = semi;
	if (p > f && p[-1] == ']')
		while (p > f && *p != '[')
			p--;
	n = 0;
	while (p - (long)n - 1 > f &&
	       (isalnum((unsigned char)p[-(long)n - 1]) || p[-(long)n - 1] == '_'))
		n++;
	if (!n || n >= nlen)
		return -1;
	memcpy(name, p - n, n);
	name[n] = 0;
	if (sscanf(o, "offset:%u", off) != 1 || sscanf(s, "size:%u", sz) != 1)
		return -1;
	return 0;
}

int nq_tracefs_format(enum nq_tp tp, struct nq_fmt *f, char *err, size_t errlen)
{
	char path[256], line[512], name[64];
	FILE *fp;

	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof(path), "%s/events/kvm/%s/format", tracefs_root(), nq_tp_names[tp]);
	fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		unsigned off, sz;

		if (parse_field_line(line, name, sizeof(name), &off, &sz))
			continue;
		for (const struct fmt_alias *a = tp_aliases[tp]; a->name; a++) {
			if (strcmp(a->name, name))
				continue;
			if (sz != 1 && sz != 2 && sz != 4 && sz != 8)
				continue;
			f->off[a->slot] = (__u16)off;
			f->size[a->slot] = (__u8)sz;
		}
	}
	fclose(fp);
	for (int i = 0; tp_required[tp][i] >= 0; i++) {
		if (!f->size[tp_required[tp][i]]) {
			snprintf(err, errlen, "%s: unknown record layout", path);
			return -1;
		}
	}
	return 0;
}

/* ---- the plan ---- */

static void set(struct nq_point *pt, enum nq_point_status st, const char *variant,
		const char *reason)
{
	pt->status = st;
	snprintf(pt->variant, sizeof(pt->variant), "%.*s", (int)sizeof(pt->variant) - 1,
		 variant ? variant : "");
	snprintf(pt->reason, sizeof(pt->reason), "%.*s", (int)sizeof(pt->reason) - 1,
		 reason ? reason : "");
}

static bool privileged(const struct nq_sysinfo *si)
{
	return si->cap_sys_admin || (si->cap_bpf && si->cap_perfmon);
}

#define NO_PRIV "no privilege (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)"

/* Can a kprobe on sym attach?  Fills the point's reason when not. */
static bool kprobe_gate(const struct nq_sysinfo *si, const char *sym, struct nq_point *pt,
			const char *variant)
{
	const char *mod = nq_ksym_module(sym);
	char why[160];

	if (!privileged(si)) {
		set(pt, NQ_PS_UNAVAILABLE, variant, NO_PRIV);
		return false;
	}
	if (!si->kprobes) {
		set(pt, NQ_PS_UNAVAILABLE, variant, "kprobes disabled (CONFIG_KPROBES=n)");
		return false;
	}
	if ((!strcmp(mod, "kvm_intel") && !si->mod_kvm_intel) ||
	    (!strcmp(mod, "kvm_amd") && !si->mod_kvm_amd) ||
	    (!strcmp(mod, "kvm") && !si->mod_kvm)) {
		snprintf(why, sizeof(why), "module %s not loaded", mod);
		set(pt, NQ_PS_UNAVAILABLE, variant, why);
		return false;
	}
	if (!nq_ksym_exists(sym)) {
		snprintf(why, sizeof(why), "symbol %s absent or inlined", sym);
		set(pt, NQ_PS_UNAVAILABLE, variant, why);
		return false;
	}
	set(pt, NQ_PS_READY, variant, "");
	return true;
}

/* kprobe_gate, with why a symbol may be missing on this kernel generation. */
static bool kprobe_gate_hint(const struct nq_sysinfo *si, const char *sym, struct nq_point *pt,
			     const char *variant, const char *hint)
{
	size_t n;

	if (kprobe_gate(si, sym, pt, variant))
		return true;
	n = strlen(pt->reason);
	if (strstr(pt->reason, "absent or inlined"))
		snprintf(pt->reason + n, sizeof(pt->reason) - n, " (%s)", hint);
	return false;
}

static void plan_tracepoint(struct nq_plan *p, const struct nq_sysinfo *si, enum nq_tp tp,
			    enum nq_point_id id, enum nq_tp_mode force)
{
	struct nq_point *pt = &p->pt[id];
	char err[256], variant[64];
	enum nq_tp_mode mode = force;
	struct nq_fmt f;

	snprintf(variant, sizeof(variant), "tracepoint kvm:%s", nq_tp_names[tp]);
	if (!privileged(si)) {
		set(pt, NQ_PS_UNAVAILABLE, variant, NO_PRIV);
		return;
	}
	if (!si->mod_kvm) {
		set(pt, NQ_PS_UNAVAILABLE, variant, "module kvm not loaded");
		return;
	}
	if (mode == NQ_TPM_AUTO) {
		/*
		 * kvm_apic_accept_irq fires for every interrupt the host injects:
		 * its raw tracepoint skips filling the perf record (~200 ns per
		 * event here) and its TP_PROTO arguments (apicid, dm, tm, vec)
		 * never moved.  The rare nested-exit events keep the record,
		 * read through CO-RE or tracefs offsets.
		 */
		if (tp == NQ_TP_ACCEPT)
			mode = NQ_TPM_RAW;
		else if (si->tracefs && si->btf_tp[tp])
			mode = NQ_TPM_CORE;
		else if (si->tracefs && !nq_tracefs_format(tp, &f, err, sizeof(err)))
			mode = NQ_TPM_FORMAT;
		else
			mode = NQ_TPM_RAW;
	}
	if (mode != NQ_TPM_RAW && !si->tracefs) {
		set(pt, NQ_PS_UNAVAILABLE, variant, "tracefs not mounted and cannot be mounted");
		return;
	}
	if (mode != NQ_TPM_RAW && !si->tp_exists[tp]) {
		snprintf(err, sizeof(err), "tracepoint kvm:%s absent", nq_tp_names[tp]);
		set(pt, NQ_PS_UNAVAILABLE, variant, err);
		return;
	}
	if (mode == NQ_TPM_CORE && !si->btf_tp[tp]) {
		set(pt, NQ_PS_UNAVAILABLE, variant, "no BTF for the tracepoint record");
		return;
	}
	if (mode == NQ_TPM_FORMAT && nq_tracefs_format(tp, &f, err, sizeof(err))) {
		set(pt, NQ_PS_UNAVAILABLE, variant, err);
		return;
	}
	if (mode == NQ_TPM_RAW && tp == NQ_TP_HW_VMEXIT) {
		/* Its raw arguments are (vcpu, isa): the exit fields are not there. */
		set(pt, NQ_PS_UNAVAILABLE, variant,
		    "tracefs unavailable (the raw tracepoint carries no exit fields)");
		return;
	}
	p->tp_mode[tp] = mode;
	snprintf(variant, sizeof(variant), "%s kvm:%s",
		 mode == NQ_TPM_CORE	 ? "tracepoint(CO-RE)"
		 : mode == NQ_TPM_FORMAT ? "tracepoint(format)"
					 : "raw_tp",
		 nq_tp_names[tp]);
	set(pt, NQ_PS_READY, variant, "");
}

/* The points that make verdicts exact where kprobes exist. */
static void plan_extras(struct nq_plan *p, const struct nq_sysinfo *si)
{
	struct nq_point *ex = &p->pt[NQ_PT_ACCEPT_EXACT];
	const char *var = "kprobe __apic_accept_irq (exact vCPU and VM)";

	/* Reading apic->vcpu needs struct kvm_lapic: kvm's BTF, or vmlinux's when built in. */
	if (kprobe_gate_hint(si, "__apic_accept_irq", ex, var, "static, inlined by this build") &&
	    !((si->btf_kvm || si->kvm_builtin) && si->btf_vmlinux))
		set(ex, NQ_PS_UNAVAILABLE, var,
		    "no BTF for kvm (struct kvm_lapic; CONFIG_DEBUG_INFO_BTF_MODULES=n)");
	kprobe_gate_hint(si, "kvm_cpu_get_extint", &p->pt[NQ_PT_EXTINT],
			 "kretprobe kvm_cpu_get_extint",
			 "static before 6.12 and often inlined there");
	kprobe_gate_hint(si, "kvm_destroy_vm", &p->pt[NQ_PT_VM_DESTROY], "kprobe kvm_destroy_vm",
			 "static, inlined by this build; gone processes are still seen in /proc");
}

void nq_plan_build(struct nq_plan *p, const struct nq_sysinfo *si, enum nq_tp_mode force)
{
	char v[64];

	memset(p, 0, sizeof(*p));
	plan_tracepoint(p, si, NQ_TP_ACCEPT, NQ_PT_ACCEPT, force);
	plan_tracepoint(p, si, NQ_TP_HW_VMEXIT, NQ_PT_HW_VMEXIT, force);
	plan_tracepoint(p, si, NQ_TP_INJECT, NQ_PT_INJECT, force);
	plan_tracepoint(p, si, NQ_TP_SVM_INTR, NQ_PT_SVM_INTR, force);

	kprobe_gate(si, "vmx_check_nested_events", &p->pt[NQ_PT_CHECK_VMX],
		    "kprobe+kretprobe vmx_check_nested_events");
	kprobe_gate(si, "svm_check_nested_events", &p->pt[NQ_PT_CHECK_SVM],
		    "kprobe+kretprobe svm_check_nested_events");
	kprobe_gate(si, "kvm_apic_has_interrupt", &p->pt[NQ_PT_PEEK],
		    "kretprobe kvm_apic_has_interrupt");

	/* The ack: 6.12+ kvm_apic_ack_interrupt, <= 6.11 kvm_get_apic_interrupt. */
	if (si->has_apic_ack || !si->has_get_apic_irq) {
		p->ack_sym = "kvm_apic_ack_interrupt";
		p->ack_is_ret = false;
		if (!si->has_apic_ack && !si->has_get_apic_irq && si->kprobes && si->mod_kvm) {
			set(&p->pt[NQ_PT_ACK], NQ_PS_UNAVAILABLE, "kprobe kvm_apic_ack_interrupt",
			    "symbols kvm_apic_ack_interrupt and kvm_get_apic_interrupt absent or "
			    "inlined");
			p->ack_sym = NULL;
		} else {
			kprobe_gate(si, p->ack_sym, &p->pt[NQ_PT_ACK],
				    "kprobe kvm_apic_ack_interrupt");
		}
	} else {
		p->ack_sym = "kvm_get_apic_interrupt";
		p->ack_is_ret = true;
		kprobe_gate(si, p->ack_sym, &p->pt[NQ_PT_ACK],
			    "kprobe+kretprobe kvm_get_apic_interrupt");
	}

	/* SVI: vmx_hwapic_isr_update (or the TDX-era vt_ wrapper). */
	p->svi_sym = "vmx_hwapic_isr_update";
	if (!nq_ksym_exists(p->svi_sym) && nq_ksym_exists("vt_hwapic_isr_update"))
		p->svi_sym = "vt_hwapic_isr_update";
	/* The vcpu argument came with the 6.14 deferral, so it is there in both later regimes. */
	p->svi_regime = si->svi_regime;
	p->svi_has_vcpu = si->isr_update_has_vcpu || si->svi_regime == NQ_SVI_REGIME_DEFERRED ||
			  si->svi_regime == NQ_SVI_REGIME_GUARD;
	snprintf(v, sizeof(v), "kprobe %s(%s)", p->svi_sym,
		 p->svi_has_vcpu ? "vcpu, max_isr" : "max_isr");
	kprobe_gate(si, p->svi_sym, &p->pt[NQ_PT_SVI], v);
	snprintf(v, sizeof(v), "kretprobe %s", p->svi_sym);
	kprobe_gate(si, p->svi_sym, &p->pt[NQ_PT_SVI_RETURN], v);
	plan_extras(p, si);

	kprobe_gate(si, "vmx_vcpu_load_vmcs", &p->pt[NQ_PT_VMCS_SWITCH],
		    "kprobe vmx_vcpu_load_vmcs");

	/* CO-RE reads of struct vcpu_vmx: needs kvm_intel's module BTF. */
	{
		struct nq_point *pt = &p->pt[NQ_PT_VMX_STATE];
		const char *var = "CO-RE vcpu_vmx.loaded_vmcs/nested (kvm_intel BTF)";

		if (!si->mod_kvm_intel)
			set(pt, NQ_PS_UNAVAILABLE, var, "module kvm_intel not loaded");
		else if (!si->btf_kvm_intel)
			set(pt, NQ_PS_UNAVAILABLE, var,
			    "no BTF for kvm_intel (CONFIG_DEBUG_INFO_BTF_MODULES=n)");
		else if (!si->btf_vcpu_vmx)
			set(pt, NQ_PS_UNAVAILABLE, var,
			    "kvm_intel BTF lacks vcpu_vmx.loaded_vmcs/vmcs01/nested.vmcs02");
		else if (p->pt[NQ_PT_CHECK_VMX].status != NQ_PS_READY &&
			 p->pt[NQ_PT_ACK].status != NQ_PS_READY &&
			 p->pt[NQ_PT_SVI].status != NQ_PS_READY)
			set(pt, NQ_PS_UNAVAILABLE, var, "no kprobe attached that can read it");
		else
			set(pt, NQ_PS_READY, var, "");
	}
}

void nq_plan_data(const struct nq_plan *p, struct nq_plan_data *pd)
{
	memset(pd, 0, sizeof(*pd));
	for (int i = 0; i < NQ_PT__MAX; i++)
		nq_plan_add(pd, nq_point_names[i], p->pt[i].status, p->pt[i].variant,
			    p->pt[i].reason);
}

void nq_plan_meta(const struct nq_plan *p, const struct nq_sysinfo *si, struct nq_trace_meta *m)
{
	struct timespec ts;

	memset(m, 0, sizeof(*m));
	snprintf(m->kernel, sizeof(m->kernel), "%s", si->release);
	snprintf(m->host, sizeof(m->host), "%s", si->host);
	snprintf(m->flow, sizeof(m->flow), "%s", si->flow);
	snprintf(m->isa, sizeof(m->isa), "%s", si->isa);
	clock_gettime(CLOCK_REALTIME, &ts);
	m->created_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	nq_plan_data(p, &m->plan);
	/* Not a probe point: a pseudo-entry whose variant names the SVI regime. */
	nq_plan_add(&m->plan, "svi_regime", NQ_PS_READY, nq_svi_regime_name(si->svi_regime),
		    nq_svi_regime_desc(si->svi_regime));
}

/* ---- which invariants the plan can check ---- */

static bool live(const struct nq_plan *p, enum nq_point_id id)
{
	return p->pt[id].status == NQ_PS_ATTACHED || p->pt[id].status == NQ_PS_READY;
}

/* Points the SVI verdict needs beyond the entry, by regime. */
static bool svi_points(const struct nq_plan *p, const char **why)
{
	enum nq_point_id need[2];
	int n = 0;

	switch (p->svi_regime) {
	case NQ_SVI_REGIME_GUARD:
		/* the switch to vmcs01 happens inside: seen between entry and return */
		need[n++] = NQ_PT_SVI_RETURN;
		need[n++] = NQ_PT_VMCS_SWITCH;
		break;
	case NQ_SVI_REGIME_DEFERRED:
		/* the return shows whether the write was deferred */
		need[n++] = NQ_PT_SVI_RETURN;
		break;
	default:
		/*
		 * Plain: the entry sees the VMCS the write goes to.  Unknown: a
		 * live host without kvm_intel BTF has no vmx_state anyway, and a
		 * trace header without the regime predates the return probe.
		 */
		return true;
	}
	for (int i = 0; i < n; i++)
		if (!live(p, need[i])) {
			if (why)
				*why = nq_point_names[need[i]];
			return false;
		}
	return true;
}

bool nq_plan_can_check(const struct nq_plan *p, int kind, const char **why)
{
	/* Point ids + 1, so that 0 ends a row. */
#define P(x) ((x) + 1)
	static const int need[NQ_V__MAX][5] = {
		[NQ_V_VECTOR_MISMATCH] = {P(NQ_PT_CHECK_VMX), P(NQ_PT_PEEK), P(NQ_PT_ACK),
					  P(NQ_PT_INJECT)},
		[NQ_V_ACK_IN_VMCS02] = {P(NQ_PT_CHECK_VMX), P(NQ_PT_ACK), P(NQ_PT_VMX_STATE)},
		[NQ_V_SVI_IN_VMCS02] = {P(NQ_PT_SVI), P(NQ_PT_VMX_STATE)},
		[NQ_V_INVALID_VECTOR] = {P(NQ_PT_CHECK_VMX), P(NQ_PT_INJECT), P(NQ_PT_VMX_STATE)},
		[NQ_V_NESTED_PI_NV] = {P(NQ_PT_CHECK_VMX), P(NQ_PT_PEEK), P(NQ_PT_INJECT),
				       P(NQ_PT_VMX_STATE)},
		[NQ_V_MULTIPLE_ACKS] = {P(NQ_PT_CHECK_VMX), P(NQ_PT_ACK)},
		[NQ_V_SVI_DEFERRED_LOST] = {P(NQ_PT_SVI), P(NQ_PT_SVI_RETURN), P(NQ_PT_VMCS_SWITCH),
					    P(NQ_PT_INJECT), P(NQ_PT_VMX_STATE)},
	};
#undef P

	if (kind < 0 || kind >= NQ_V__MAX) {
		if (why)
			*why = "unknown";
		return false;
	}
	for (int i = 0; i < 5 && need[kind][i]; i++) {
		int id = need[kind][i] - 1;

		/* The peek is implicit before 6.12 (the ack returns the vector). */
		if (id == NQ_PT_PEEK &&
		    !strcmp(p->ack_sym ? p->ack_sym : "", "kvm_get_apic_interrupt"))
			continue;
		/* The exact accept kprobe replaces the tracepoint. */
		if (id == NQ_PT_ACCEPT && live(p, NQ_PT_ACCEPT_EXACT))
			continue;
		if (!live(p, id)) {
			if (why)
				*why = nq_point_names[id];
			return false;
		}
	}
	if (kind == NQ_V_SVI_IN_VMCS02 && !svi_points(p, why))
		return false;
	if (why)
		*why = "";
	return true;
}
