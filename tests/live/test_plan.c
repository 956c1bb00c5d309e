// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The probe plan from synthetic host facts: which variant each point takes
 * on <= 6.11, 6.12+ and 6.14+ kernels, nVMX and nSVM, and the reason named
 * for every point that cannot attach.  Needs no privilege.
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
	"kvm_get_apic_interrupt",
	"kvm_apic_has_interrupt",
	"vmx_check_nested_events",
	"vmx_hwapic_isr_update",
	"vmx_vcpu_load_vmcs",
	"kvm_cpu_get_interrupt",
	NULL,
};
static const char *const syms_612[] = {
	"kvm_apic_ack_interrupt",
	"kvm_apic_has_interrupt",
	"vmx_check_nested_events",
	"vmx_hwapic_isr_update",
	"vmx_vcpu_load_vmcs",
	"kvm_cpu_get_interrupt",
	NULL,
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
		if (i != NQ_PT_CHECK_SVM)
			CHECK(attachable(&p, i));
	CHECK_STR_CONTAINS(p.pt[NQ_PT_CHECK_SVM].reason, "module kvm_amd not loaded");
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
	TEST_EXIT();
}
