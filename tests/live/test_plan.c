// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The probe plan from synthetic host facts: which variant each point takes
 * on <= 6.11, 6.12+ and 6.14+ kernels, nVMX and nSVM, and the reason named
 * for every point that cannot attach; the SVI regime and the flow label
 * derived from symbols and BTF.  Needs no privilege.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "nestirq/engine.h"
#include "live/live.h"

/* A root host with kprobes, tracefs, BTF everywhere and kvm loaded. */
static void host(struct nq_sysinfo *si, const char *isa)
{
	memset(si, 0, sizeof(*si));
	si->cap_bpf = si->cap_perfmon = si->cap_sys_admin = true;
	si->kprobes = true;
	si->tracefs = true;
	si->btf_vmlinux = si->btf_kvm = true;
	si->mod_kvm = true;
	si->hf_guest_mask = 1;
	for (int i = 0; i < NQ_TP__MAX; i++)
		si->btf_tp[i] = si->tp_exists[i] = true;
	if (!strcmp(isa, "vmx")) {
		si->mod_kvm_intel = si->btf_kvm_intel = si->btf_vcpu_vmx = true;
		snprintf(si->isa, sizeof(si->isa), "vmx");
	} else if (!strcmp(isa, "svm")) {
		si->mod_kvm_amd = si->btf_kvm_amd = true;
		snprintf(si->isa, sizeof(si->isa), "svm");
	} else {
		snprintf(si->isa, sizeof(si->isa), "none");
	}
}

static const char *const syms_611[] = {
	"kvm_get_apic_interrupt", "kvm_apic_has_interrupt", "vmx_check_nested_events",
	"vmx_hwapic_isr_update",  "vmx_vcpu_load_vmcs",	    "kvm_cpu_get_interrupt",
	"__apic_accept_irq",	  "kvm_destroy_vm",	    NULL,
};
static const char *const syms_612[] = {
	"kvm_apic_ack_interrupt",  "kvm_apic_has_interrupt",
	"vmx_check_nested_events", "vmx_hwapic_isr_update",
	"vmx_vcpu_load_vmcs",	   "kvm_cpu_get_interrupt",
	"__apic_accept_irq",	   "kvm_cpu_get_extint",
	"kvm_destroy_vm",	   NULL,
};
/* Debian's 7.3.4: the vmcs01 guard's helper is a symbol. */
static const char *const syms_73[] = {
	"kvm_apic_ack_interrupt",  "kvm_apic_has_interrupt",
	"vmx_check_nested_events", "vmx_hwapic_isr_update",
	"vmx_vcpu_load_vmcs",	   "__apic_accept_irq",
	"kvm_cpu_get_extint",	   "kvm_destroy_vm",
	"vmx_load_vmcs01",	   NULL,
};
static const char *const syms_svm_612[] = {
	"kvm_apic_ack_interrupt",
	"kvm_apic_has_interrupt",
	"svm_check_nested_events",
	NULL,
};

static bool attachable(const struct nq_plan *p, enum nq_point_id id)
{
	return p->pt[id].status == NQ_PS_READY;
}

static void test_vmx_611(void)
{
	struct nq_sysinfo si;
	struct nq_plan p;

	host(&si, "vmx");
	nq_ksym_set(syms_611);
	si.has_get_apic_irq = true;
	snprintf(si.flow, sizeof(si.flow), "<=6.11");
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK(p.ack_is_ret);
	CHECK(!strcmp(p.ack_sym, "kvm_get_apic_interrupt"));
	CHECK(!p.svi_has_vcpu);
	CHECK_STR_CONTAINS(p.pt[NQ_PT_SVI].variant, "(max_isr)");
	for (int i = 0; i < NQ_PT__MAX; i++)
		if (i != NQ_PT_CHECK_SVM && i != NQ_PT_EXTINT)
			CHECK(attachable(&p, i));
	CHECK_STR_CONTAINS(p.pt[NQ_PT_CHECK_SVM].reason, "module kvm_amd not loaded");
	/* kvm_cpu_get_extint was static before 6.12: named, with why. */
	CHECK_STR_CONTAINS(p.pt[NQ_PT_EXTINT].reason,
			   "symbol kvm_cpu_get_extint absent or inlined (static before 6.12");
	CHECK_STR_CONTAINS(p.pt[NQ_PT_SVI_RETURN].variant, "kretprobe vmx_hwapic_isr_update");
	CHECK_EQ(p.tp_mode[NQ_TP_ACCEPT], NQ_TPM_RAW);
	CHECK_EQ(p.tp_mode[NQ_TP_INJECT], NQ_TPM_CORE);
	for (int k = 0; k < NQ_V__MAX; k++)
		CHECK(nq_plan_can_check(&p, k, NULL));
}

static void test_vmx_612_and_614(void)
{
	struct nq_sysinfo si;
	struct nq_plan p;

	host(&si, "vmx");
	nq_ksym_set(syms_612);
	si.has_apic_ack = true;
	snprintf(si.flow, sizeof(si.flow), "6.12+");
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK(!p.ack_is_ret);
	CHECK(!strcmp(p.ack_sym, "kvm_apic_ack_interrupt"));
	CHECK(!p.svi_has_vcpu);
	for (int k = 0; k < NQ_V__MAX; k++)
		CHECK(nq_plan_can_check(&p, k, NULL));

	si.isr_update_has_vcpu = true;
	snprintf(si.flow, sizeof(si.flow), "6.14+");
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK(p.svi_has_vcpu);
	CHECK_STR_CONTAINS(p.pt[NQ_PT_SVI].variant, "(vcpu, max_isr)");
}

/* TDX-era kernels: vmx_hwapic_isr_update may only exist as vt_hwapic_isr_update. */
static void test_vt_wrapper(void)
{
	static const char *const syms[] = {"kvm_apic_ack_interrupt", "vt_hwapic_isr_update",
					   "vmx_check_nested_events", NULL};
	struct nq_sysinfo si;
	struct nq_plan p;

	host(&si, "vmx");
	nq_ksym_set(syms);
	si.has_apic_ack = si.isr_update_has_vcpu = true;
	snprintf(si.flow, sizeof(si.flow), "6.14+");
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK(!strcmp(p.svi_sym, "vt_hwapic_isr_update"));
	CHECK(attachable(&p, NQ_PT_SVI));
	CHECK_STR_CONTAINS(p.pt[NQ_PT_VMCS_SWITCH].reason,
			   "symbol vmx_vcpu_load_vmcs absent or inlined");
}

static void test_svm(void)
{
	struct nq_sysinfo si;
	struct nq_plan p;
	const char *why;

	host(&si, "svm");
	nq_ksym_set(syms_svm_612);
	si.has_apic_ack = true;
	snprintf(si.flow, sizeof(si.flow), "6.12+");
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK(attachable(&p, NQ_PT_CHECK_SVM));
	CHECK(attachable(&p, NQ_PT_SVM_INTR));
	CHECK_STR_CONTAINS(p.pt[NQ_PT_CHECK_VMX].reason, "module kvm_intel not loaded");
	CHECK_STR_CONTAINS(p.pt[NQ_PT_VMX_STATE].reason, "module kvm_intel not loaded");
	CHECK(!nq_plan_can_check(&p, NQ_V_SVI_IN_VMCS02, &why));
	CHECK(!nq_plan_can_check(&p, NQ_V_SVI_DEFERRED_LOST, &why));
	CHECK_STR_CONTAINS(why, "svi");
}

/* The reasons, in order of precedence. */
static void test_reasons(void)
{
	struct nq_sysinfo si;
	struct nq_plan p;

	host(&si, "vmx");
	nq_ksym_set(syms_612);
	si.has_apic_ack = true;
	snprintf(si.flow, sizeof(si.flow), "6.12+");

	si.kprobes = false;
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	for (int i = NQ_PT_CHECK_VMX; i <= NQ_PT_VMCS_SWITCH; i++)
		CHECK_STR_CONTAINS(p.pt[i].reason, "kprobes disabled (CONFIG_KPROBES=n)");
	for (int i = NQ_PT_ACCEPT_EXACT; i <= NQ_PT_VM_DESTROY; i++)
		CHECK_STR_CONTAINS(p.pt[i].reason, "kprobes disabled (CONFIG_KPROBES=n)");
	CHECK(attachable(&p, NQ_PT_ACCEPT));
	CHECK_STR_CONTAINS(p.pt[NQ_PT_VMX_STATE].reason, "no kprobe attached");

	si.kprobes = true;
	si.btf_kvm_intel = false;
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK_STR_CONTAINS(p.pt[NQ_PT_VMX_STATE].reason, "no BTF for kvm_intel");
	CHECK(!nq_plan_can_check(&p, NQ_V_ACK_IN_VMCS02, NULL));
	CHECK(nq_plan_can_check(&p, NQ_V_MULTIPLE_ACKS, NULL));

	si.cap_bpf = si.cap_perfmon = si.cap_sys_admin = false;
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	for (int i = 0; i < NQ_PT_VMX_STATE; i++)
		CHECK_STR_CONTAINS(p.pt[i].reason, "no privilege");

	host(&si, "vmx");
	nq_ksym_set(NULL);
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK_STR_CONTAINS(p.pt[NQ_PT_CHECK_VMX].reason,
			   "symbol vmx_check_nested_events absent or inlined");
	CHECK_STR_CONTAINS(p.pt[NQ_PT_ACK].reason, "absent or inlined");

	host(&si, "none");
	si.mod_kvm = false;
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK_STR_CONTAINS(p.pt[NQ_PT_ACCEPT].reason, "module kvm not loaded");
}

/* Without tracefs the record-based tracepoints fall back or name the reason. */
static void test_no_tracefs(void)
{
	struct nq_sysinfo si;
	struct nq_plan p;

	host(&si, "vmx");
	nq_ksym_set(syms_612);
	si.has_apic_ack = true;
	si.tracefs = false;
	for (int i = 0; i < NQ_TP__MAX; i++)
		si.tp_exists[i] = false;
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK_EQ(p.tp_mode[NQ_TP_ACCEPT], NQ_TPM_RAW);
	CHECK(attachable(&p, NQ_PT_ACCEPT));
	CHECK(attachable(&p, NQ_PT_INJECT));
	CHECK_EQ(p.tp_mode[NQ_TP_INJECT], NQ_TPM_RAW);
	CHECK_STR_CONTAINS(p.pt[NQ_PT_HW_VMEXIT].reason, "tracefs");
	nq_plan_build(&p, &si, NQ_TPM_CORE);
	CHECK_STR_CONTAINS(p.pt[NQ_PT_ACCEPT].reason, "tracefs");
}

/* Exact accepts need kvm's BTF (struct kvm_lapic), and replace the tracepoint for ack_not_accepted.
 */
static void test_accept_exact(void)
{
	struct nq_sysinfo si;
	struct nq_plan p;

	host(&si, "vmx");
	nq_ksym_set(syms_612);
	nq_sysinfo_derive(&si);
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK(attachable(&p, NQ_PT_ACCEPT_EXACT));
	CHECK_STR_CONTAINS(p.pt[NQ_PT_ACCEPT_EXACT].variant, "__apic_accept_irq");
	/* A deferral is seen only at the return: without it, svi_deferred_lost cannot be checked.
	 */
	CHECK(nq_plan_can_check(&p, NQ_V_SVI_DEFERRED_LOST, NULL));
	p.pt[NQ_PT_SVI_RETURN].status = NQ_PS_FAILED;
	CHECK(!nq_plan_can_check(&p, NQ_V_SVI_DEFERRED_LOST, NULL));

	si.btf_kvm = false;
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK_STR_CONTAINS(p.pt[NQ_PT_ACCEPT_EXACT].reason, "no BTF for kvm");
	si.kvm_builtin = true; /* struct kvm_lapic is in vmlinux's BTF then */
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK(attachable(&p, NQ_PT_ACCEPT_EXACT));

	host(&si, "vmx");
	nq_ksym_set(syms_611);
	nq_sysinfo_derive(&si);
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK(attachable(&p, NQ_PT_ACCEPT_EXACT));
	nq_ksym_set(NULL);
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK_STR_CONTAINS(p.pt[NQ_PT_ACCEPT_EXACT].reason,
			   "symbol __apic_accept_irq absent or inlined");
	CHECK_STR_CONTAINS(p.pt[NQ_PT_VM_DESTROY].reason, "symbol kvm_destroy_vm absent");
}

struct regime_case {
	const char *release;
	const char *const *syms;
	bool isr_vcpu, field, btf_intel, intel;
	enum nq_svi_regime regime;
	const char *flow;
};

/* The three SVI regimes and the flow labels, from symbols and BTF only. */
static void test_svi_regimes_and_flows(void)
{
	static const struct regime_case cases[] = {
		{"6.1.0-40-amd64", syms_611, false, false, true, true, NQ_SVI_REGIME_PLAIN,
		 "<=6.11"},
		{"6.12.0", syms_612, false, false, true, true, NQ_SVI_REGIME_PLAIN, "6.12+"},
		/* Debian's 6.12.95: the 6.14 deferral backported to stable */
		{"6.12.95+deb13-amd64", syms_612, true, true, true, true, NQ_SVI_REGIME_DEFERRED,
		 "6.12+, SVI deferral backported"},
		{"6.16.3", syms_612, true, true, true, true, NQ_SVI_REGIME_DEFERRED, "6.14+"},
		{"7.3.4+bpo-amd64", syms_73, true, false, true, true, NQ_SVI_REGIME_GUARD,
		 "6.12+, vmcs01 guard"},
		/* the guard's helper inlined: the flag is gone but the vcpu argument stays */
		{"7.3.4", syms_612, true, false, true, true, NQ_SVI_REGIME_GUARD,
		 "6.12+, vmcs01 guard"},
		/* the release alone proves nothing: a 6.15 without the flag's BTF */
		{"6.15.0", syms_612, false, false, false, true, NQ_SVI_REGIME_UNKNOWN, "6.12+"},
		{"6.12.0", syms_612, false, false, false, false, NQ_SVI_REGIME_UNKNOWN, "6.12+"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct regime_case *c = &cases[i];
		struct nq_sysinfo si;

		host(&si, c->intel ? "vmx" : "none");
		snprintf(si.release, sizeof(si.release), "%s", c->release);
		si.btf_kvm_intel = si.btf_vcpu_vmx = c->btf_intel;
		si.isr_update_has_vcpu = c->isr_vcpu;
		si.has_update_vmcs01_isr = c->field;
		nq_ksym_set(c->syms);
		nq_sysinfo_derive(&si);
		printf("# %s: %s, %s\n", c->release, si.flow, nq_svi_regime_name(si.svi_regime));
		CHECK_EQ(si.svi_regime, c->regime);
		CHECK(!strcmp(si.flow, c->flow));
	}
	CHECK(!strcmp(nq_svi_regime_desc(NQ_SVI_REGIME_PLAIN), "plain write (before 6.14)"));
	CHECK_STR_CONTAINS(nq_svi_regime_desc(NQ_SVI_REGIME_DEFERRED),
			   "deferred to the nested VM-exit (nested.update_vmcs01_hwapic_isr: "
			   "6.14 to 6.19, or a stable backport)");
	CHECK_STR_CONTAINS(nq_svi_regime_desc(NQ_SVI_REGIME_GUARD),
			   "vmcs01 guard inside vmx_hwapic_isr_update (vmx_load_vmcs01: 7.x)");
}

/* What the SVI verdict needs beyond the entry, per regime; the regime in the trace header. */
static void test_svi_needs_by_regime(void)
{
	struct nq_sysinfo si;
	struct nq_plan p;
	struct nq_trace_meta m;
	const char *why;

	host(&si, "vmx");
	si.isr_update_has_vcpu = true;
	nq_ksym_set(syms_73);
	nq_sysinfo_derive(&si);
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK(p.svi_has_vcpu);
	CHECK(nq_plan_can_check(&p, NQ_V_SVI_IN_VMCS02, NULL));
	p.pt[NQ_PT_VMCS_SWITCH].status = NQ_PS_FAILED;
	CHECK(!nq_plan_can_check(&p, NQ_V_SVI_IN_VMCS02, &why));
	CHECK(!strcmp(why, "vmcs_switch"));
	p.pt[NQ_PT_SVI_RETURN].status = NQ_PS_FAILED;
	CHECK(!nq_plan_can_check(&p, NQ_V_SVI_IN_VMCS02, &why));
	CHECK(!strcmp(why, "svi_return"));
	nq_plan_meta(&p, &si, &m);
	{
		const struct nq_plan_entry *re = nq_plan_find(&m.plan, "svi_regime");

		CHECK(re != NULL);
		CHECK(!strcmp(re->variant, "guard"));
		CHECK_STR_CONTAINS(re->reason, "vmcs01 guard inside");
	}
	CHECK(!strcmp(m.flow, "6.12+, vmcs01 guard"));

	/* deferred: the return is needed, the switch probe is not */
	si.has_update_vmcs01_isr = true;
	si.has_load_vmcs01 = false;
	nq_ksym_set(syms_612);
	nq_sysinfo_derive(&si);
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	p.pt[NQ_PT_VMCS_SWITCH].status = NQ_PS_FAILED;
	CHECK(nq_plan_can_check(&p, NQ_V_SVI_IN_VMCS02, NULL));
	p.pt[NQ_PT_SVI_RETURN].status = NQ_PS_FAILED;
	CHECK(!nq_plan_can_check(&p, NQ_V_SVI_IN_VMCS02, &why));
	CHECK(!strcmp(why, "svi_return"));

	/* plain: the entry sees the VMCS the write goes to */
	host(&si, "vmx");
	nq_ksym_set(syms_612);
	nq_sysinfo_derive(&si);
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	CHECK_EQ(p.svi_regime, NQ_SVI_REGIME_PLAIN);
	p.pt[NQ_PT_SVI_RETURN].status = NQ_PS_FAILED;
	CHECK(nq_plan_can_check(&p, NQ_V_SVI_IN_VMCS02, NULL));
}

/* The plan as a trace header carries it: one point per probe, in the text form. */
static void test_plan_lines(void)
{
	struct nq_sysinfo si;
	struct nq_plan p;
	struct nq_plan_data pd;
	const struct nq_plan_entry *e;
	char line[NQ_PLAN_LINE_MAX];

	host(&si, "svm");
	nq_ksym_set(syms_svm_612);
	si.has_apic_ack = true;
	nq_plan_build(&p, &si, NQ_TPM_AUTO);
	nq_plan_data(&p, &pd);
	CHECK_EQ(pd.n, NQ_PT__MAX);
	CHECK(nq_plan_entry_format(&pd.pt[NQ_PT_ACCEPT], line, sizeof(line)) > 0);
	CHECK(!strcmp(line, "accept\tready\traw_tp kvm:kvm_apic_accept_irq"));
	e = nq_plan_find(&pd, "check_vmx");
	CHECK(e && e->status == NQ_PS_UNAVAILABLE && e->reason[0]);
}

int main(void)
{
	RUN(test_vmx_611);
	RUN(test_vmx_612_and_614);
	RUN(test_vt_wrapper);
	RUN(test_svm);
	RUN(test_reasons);
	RUN(test_no_tracefs);
	RUN(test_plan_lines);
	RUN(test_accept_exact);
	RUN(test_svi_regimes_and_flows);
	RUN(test_svi_needs_by_regime);
	TEST_EXIT();
}
