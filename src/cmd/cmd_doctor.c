// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nestirq doctor: what this host can trace.  Loads every BPF program (the
 * verifier check), attaches what the plan selects, detaches again, and
 * prints the probe table, the detected flow and which invariants can be
 * checked.  Exit 0 if every invariant can be checked, 4 if not.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_live.h"
#include "live/live.h"
#include "nestirq/engine.h"
#include "nestirq/report.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nestirq doctor [--json] [--no-attach]\n"
		"\n"
		"Show which probe points attach on this host and which invariants can be\n"
		"checked: kernel release, detected KVM flow (<=6.11, 6.12+, 6.14+, or 6.12+\n"
		"with the SVI deferral backported or the vmcs01 guard), the SVI regime, nVMX or\n"
		"nSVM, BTF (vmlinux and modules), capabilities, lockdown and the probe table.\n"
		"Every BPF program is loaded (verifier check); the planned ones are attached\n"
		"and detached again.\n"
		"\n"
		"  --json       one JSON object\n"
		"  --no-attach  load the programs but do not attach them\n"
		"\n"
		"exit: 0 every invariant can be checked here, 4 not all of them (or no BPF),\n"
		"      2 usage\n");
}

static const char *yn(bool b)
{
	return b ? "yes" : "no";
}

/* The evidence behind the flow label: symbols and BTF, never the release alone. */
static const char *flow_why(const struct nq_sysinfo *si)
{
	if (!strcmp(si->flow, "<=6.11"))
		return "kvm_get_apic_interrupt present";
	if (!si->has_apic_ack)
		return "neither kvm_apic_ack_interrupt nor kvm_get_apic_interrupt found";
	switch (si->svi_regime) {
	case NQ_SVI_REGIME_GUARD:
		return si->has_load_vmcs01
			       ? "kvm_apic_ack_interrupt present; vmx_load_vmcs01 present"
			       : "kvm_apic_ack_interrupt present; "
				 "hwapic_isr_update(vcpu, isr) without "
				 "nested_vmx.update_vmcs01_hwapic_isr";
	case NQ_SVI_REGIME_DEFERRED:
		return strstr(si->flow, "backported")
			       ? "kvm_apic_ack_interrupt present; "
				 "nested_vmx.update_vmcs01_hwapic_isr on a release before 6.14"
			       : "kvm_apic_ack_interrupt present; "
				 "nested_vmx.update_vmcs01_hwapic_isr";
	default:
		return "kvm_apic_ack_interrupt present";
	}
}

struct doctor {
	bool json, no_attach;
	struct nq_sysinfo si;
	struct nq_plan plan;
	int nloaded, nprogs;
	char load_err[256];
	bool full;
};

static void print_text(const struct doctor *d)
{
	const struct nq_sysinfo *si = &d->si;

	printf("kernel:     %s (host %s)\n", si->release, si->host);
	printf("flow:       %s (%s)\n", si->flow, flow_why(si));
	printf("SVI:        %s\n", nq_svi_regime_desc(si->svi_regime));
	printf("nested:     %s\n", si->isa_desc);
	printf("BTF:        vmlinux %s; modules: kvm %s, kvm_intel %s, kvm_amd %s\n",
	       yn(si->btf_vmlinux), si->kvm_builtin ? "built in (vmlinux)" : yn(si->btf_kvm),
	       yn(si->btf_kvm_intel), yn(si->btf_kvm_amd));
	printf("privilege:  CAP_BPF %s, CAP_PERFMON %s, CAP_SYS_ADMIN %s; lockdown %s\n",
	       yn(si->cap_bpf), yn(si->cap_perfmon), yn(si->cap_sys_admin), si->lockdown);
	printf("kprobes:    %s\n", si->kprobes ? "available" : "disabled (CONFIG_KPROBES=n)");
	printf("tracefs:    %s\n", !si->tracefs ? "unavailable"
				   : si->tracefs_mounted_by_us
					   ? "yes (mounted privately by nestirq)"
					   : "yes");
	printf("/dev/kvm:   %s\n", yn(si->dev_kvm));
	if (d->load_err[0])
		printf("BPF:        %s\n", d->load_err);
	else
		printf("BPF:        %d of %d programs pass the verifier\n", d->nloaded, d->nprogs);
	printf("\nprobe points:\n");
	for (int i = 0; i < NQ_PT__MAX; i++) {
		const struct nq_point *pt = &d->plan.pt[i];

		printf("  %-14s %-12s %s%s%s\n", nq_point_names[i],
		       nq_point_status_name(pt->status), pt->variant, pt->reason[0] ? ": " : "",
		       pt->reason);
	}
	printf("\ninvariants:\n");
	for (int k = 0; k < NQ_V__MAX; k++) {
		const char *why;
		bool ok = nq_plan_can_check(&d->plan, k, &why);

		printf("  %-18s %-3s %s", nq_violation_name(k), nq_violation_invariant(k),
		       ok ? "checkable" : "not checkable");
		if (!ok)
			printf(" (needs %s)", why);
		printf("\n");
	}
	printf("\n%s\n", d->full ? "verdict: every invariant can be checked here"
				 : "verdict: full checking is NOT possible here (exit 4)");
}

static void print_json(const struct doctor *d)
{
	const struct nq_sysinfo *si = &d->si;

	printf("{\"kernel\":");
	nq_json_string(stdout, si->release);
	printf(",\"host\":");
	nq_json_string(stdout, si->host);
	printf(",\"flow\":");
	nq_json_string(stdout, si->flow);
	printf(",\"flow_reason\":");
	nq_json_string(stdout, flow_why(si));
	printf(",\"svi_regime\":");
	nq_json_string(stdout, nq_svi_regime_name(si->svi_regime));
	printf(",\"svi_regime_desc\":");
	nq_json_string(stdout, nq_svi_regime_desc(si->svi_regime));
	printf(",\"isa\":");
	nq_json_string(stdout, si->isa);
	printf(",\"nested\":");
	nq_json_string(stdout, si->isa_desc);
	printf(",\"kvm_builtin\":%s", si->kvm_builtin ? "true" : "false");
	printf(",\"btf\":{\"vmlinux\":%s,\"kvm\":%s,\"kvm_intel\":%s,\"kvm_amd\":%s}",
	       si->btf_vmlinux ? "true" : "false", si->btf_kvm ? "true" : "false",
	       si->btf_kvm_intel ? "true" : "false", si->btf_kvm_amd ? "true" : "false");
	printf(",\"caps\":{\"CAP_BPF\":%s,\"CAP_PERFMON\":%s,\"CAP_SYS_ADMIN\":%s}",
	       si->cap_bpf ? "true" : "false", si->cap_perfmon ? "true" : "false",
	       si->cap_sys_admin ? "true" : "false");
	printf(",\"lockdown\":");
	nq_json_string(stdout, si->lockdown);
	printf(",\"kprobes\":%s,\"tracefs\":%s,\"dev_kvm\":%s", si->kprobes ? "true" : "false",
	       si->tracefs ? "true" : "false", si->dev_kvm ? "true" : "false");
	printf(",\"bpf\":{\"loaded\":%d,\"programs\":%d,\"error\":", d->nloaded, d->nprogs);
	nq_json_string(stdout, d->load_err);
	printf("},\"probes\":[");
	for (int i = 0; i < NQ_PT__MAX; i++) {
		const struct nq_point *pt = &d->plan.pt[i];

		printf("%s{\"name\":", i ? "," : "");
		nq_json_string(stdout, nq_point_names[i]);
		printf(",\"status\":");
		nq_json_string(stdout, nq_point_status_name(pt->status));
		printf(",\"variant\":");
		nq_json_string(stdout, pt->variant);
		printf(",\"reason\":");
		nq_json_string(stdout, pt->reason);
		printf("}");
	}
	printf("],\"invariants\":[");
	for (int k = 0; k < NQ_V__MAX; k++) {
		const char *why;
		bool ok = nq_plan_can_check(&d->plan, k, &why);

		printf("%s{\"name\":", k ? "," : "");
		nq_json_string(stdout, nq_violation_name(k));
		printf(",\"invariant\":");
		nq_json_string(stdout, nq_violation_invariant(k));
		printf(",\"checkable\":%s,\"needs\":", ok ? "true" : "false");
		nq_json_string(stdout, ok ? "" : why);
		printf("}");
	}
	printf("],\"full\":%s}\n", d->full ? "true" : "false");
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"no-attach", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct doctor d;
	struct nq_live *l;
	int c;

	memset(&d, 0, sizeof(d));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			d.json = true;
			break;
		case 'n':
			d.no_attach = true;
			break;
		case 'h':
			usage(stdout);
			return NQ_EXIT_OK;
		default:
			nq_cli_bad_option("doctor", argv, c, optopt);
			return NQ_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "nestirq doctor: unexpected argument '%s' (try --help)\n",
			argv[optind]);
		return NQ_EXIT_USAGE;
	}

	{
		struct nq_live_opts o = {.load_all = true, .no_attach = d.no_attach, .quiet = true};

		l = nq_live_open(&o, d.load_err, sizeof(d.load_err));
	}
	if (l) {
		d.si = *nq_live_sysinfo(l);
		d.plan = *nq_live_plan(l);
		d.nloaded = nq_live_nloaded(l);
		d.nprogs = nq_live_nprograms(l);
		nq_live_close(l);
	} else {
		nq_sysinfo_probe(&d.si);
		nq_plan_build(&d.plan, &d.si, NQ_TPM_AUTO);
		/* Nothing could load: every point is unavailable for that reason. */
		for (int i = 0; i < NQ_PT__MAX; i++) {
			if (d.plan.pt[i].status != NQ_PS_READY)
				continue;
			d.plan.pt[i].status = NQ_PS_UNAVAILABLE;
			snprintf(d.plan.pt[i].reason, sizeof(d.plan.pt[i].reason), "%.150s",
				 d.load_err);
		}
	}
	d.full = true;
	for (int k = 0; k < NQ_V__MAX; k++)
		if (!nq_plan_can_check(&d.plan, k, NULL))
			d.full = false;
	if (d.json)
		print_json(&d);
	else
		print_text(&d);
	return d.full ? NQ_EXIT_OK : NQ_EXIT_UNSUPPORTED;
}
