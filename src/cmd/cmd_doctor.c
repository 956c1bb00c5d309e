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
#include "common/json_writer.h"
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

static void json_flags(struct nq_json *w, const char *key, const char *const *names,
		       const bool *vals, int n)
{
	nq_json_key(w, key);
	nq_json_begin_object(w);
	for (int i = 0; i < n; i++)
		nq_json_kbool(w, names[i], vals[i]);
	nq_json_end_object(w);
}

static void json_probes(struct nq_json *w, const struct doctor *d)
{
	struct nq_plan_data pd;

	nq_plan_data(&d->plan, &pd);
	nq_json_key(w, "probes");
	nq_plan_json(w, &pd);
	nq_json_key(w, "invariants");
	nq_json_begin_array(w);
	for (int k = 0; k < NQ_V__MAX; k++) {
		const char *why;
		bool ok = nq_plan_can_check(&d->plan, k, &why);

		nq_json_begin_object(w);
		nq_json_kstr(w, "name", nq_violation_name(k));
		nq_json_kstr(w, "invariant", nq_violation_invariant(k));
		nq_json_kbool(w, "checkable", ok);
		nq_json_kstr(w, "needs", ok ? "" : why);
		nq_json_end_object(w);
	}
	nq_json_end_array(w);
}

static void print_json(const struct doctor *d)
{
	static const char *const btf[] = {"vmlinux", "kvm", "kvm_intel", "kvm_amd"};
	static const char *const caps[] = {"CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN"};
	const struct nq_sysinfo *si = &d->si;
	const bool btf_v[] = {si->btf_vmlinux, si->btf_kvm, si->btf_kvm_intel, si->btf_kvm_amd};
	const bool caps_v[] = {si->cap_bpf, si->cap_perfmon, si->cap_sys_admin};
	struct nq_json w;

	nq_json_init(&w, stdout);
	nq_json_begin_object(&w);
	nq_json_kstr(&w, "kernel", si->release);
	nq_json_kstr(&w, "host", si->host);
	nq_json_kstr(&w, "flow", si->flow);
	nq_json_kstr(&w, "flow_reason", flow_why(si));
	nq_json_kstr(&w, "svi_regime", nq_svi_regime_name(si->svi_regime));
	nq_json_kstr(&w, "svi_regime_desc", nq_svi_regime_desc(si->svi_regime));
	nq_json_kstr(&w, "isa", si->isa);
	nq_json_kstr(&w, "nested", si->isa_desc);
	nq_json_kbool(&w, "kvm_builtin", si->kvm_builtin);
	json_flags(&w, "btf", btf, btf_v, 4);
	json_flags(&w, "caps", caps, caps_v, 3);
	nq_json_kstr(&w, "lockdown", si->lockdown);
	nq_json_kbool(&w, "kprobes", si->kprobes);
	nq_json_kbool(&w, "tracefs", si->tracefs);
	nq_json_kbool(&w, "dev_kvm", si->dev_kvm);
	nq_json_key(&w, "bpf");
	nq_json_begin_object(&w);
	nq_json_ki64(&w, "loaded", d->nloaded);
	nq_json_ki64(&w, "programs", d->nprogs);
	nq_json_kstr(&w, "error", d->load_err);
	nq_json_end_object(&w);
	json_probes(&w, d);
	nq_json_kbool(&w, "full", d->full);
	nq_json_end_object(&w);
	putchar('\n');
}

/* Flags into *d; -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct doctor *d)
{
	static const struct option long_opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"no-attach", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			d->json = true;
			break;
		case 'n':
			d->no_attach = true;
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
	return -1;
}

/* Load everything, attach what the plan selects, detach; the facts into *d. */
static void probe(struct doctor *d)
{
	struct nq_live_opts o = {.load_all = true, .no_attach = d->no_attach, .quiet = true};
	struct nq_live *l = nq_live_open(&o, d->load_err, sizeof(d->load_err));

	if (l) {
		d->si = *nq_live_sysinfo(l);
		d->plan = *nq_live_plan(l);
		d->nloaded = nq_live_nloaded(l);
		d->nprogs = nq_live_nprograms(l);
		nq_live_close(l);
	} else {
		nq_sysinfo_probe(&d->si);
		nq_plan_build(&d->plan, &d->si, NQ_TPM_AUTO);
		/* Nothing could load: every point is unavailable for that reason. */
		for (int i = 0; i < NQ_PT__MAX; i++) {
			if (d->plan.pt[i].status != NQ_PS_READY)
				continue;
			d->plan.pt[i].status = NQ_PS_UNAVAILABLE;
			snprintf(d->plan.pt[i].reason, sizeof(d->plan.pt[i].reason), "%.150s",
				 d->load_err);
		}
	}
	d->full = true;
	for (int k = 0; k < NQ_V__MAX; k++)
		if (!nq_plan_can_check(&d->plan, k, NULL))
			d->full = false;
}

int cmd_doctor(int argc, char **argv)
{
	struct doctor d;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = parse(argc, argv, &d);
	if (rc >= 0)
		return rc;
	probe(&d);
	if (d.json)
		print_json(&d);
	else
		print_text(&d);
	return d.full ? NQ_EXIT_OK : NQ_EXIT_UNSUPPORTED;
}
