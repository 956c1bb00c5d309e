// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Host facts for the probe plan: kernel release, kallsyms, BTF (vmlinux and
 * modules), capabilities, lockdown, kprobe support, tracefs.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "live.h"

/* The functions whose presence drives the plan. */
static const char *const ksyms[] = {
	"kvm_apic_ack_interrupt",  "kvm_get_apic_interrupt",  "kvm_apic_has_interrupt",
	"vmx_check_nested_events", "svm_check_nested_events", "vmx_hwapic_isr_update",
	"vt_hwapic_isr_update",	   "vmx_vcpu_load_vmcs",      "kvm_cpu_get_interrupt",
	"__apic_accept_irq",	   "kvm_cpu_get_extint",      "kvm_destroy_vm",
	"vmx_load_vmcs01",
};
#define NKSYMS (sizeof(ksyms) / sizeof(ksyms[0]))
static bool ksym_found[NKSYMS];

const char *const nq_tp_names[NQ_TP__MAX] = {
	[NQ_TP_ACCEPT] = "kvm_apic_accept_irq",
	[NQ_TP_HW_VMEXIT] = "kvm_nested_vmexit",
	[NQ_TP_INJECT] = "kvm_nested_vmexit_inject",
	[NQ_TP_SVM_INTR] = "kvm_nested_intr_vmexit",
};

void nq_ksym_set(const char *const *present)
{
	memset(ksym_found, 0, sizeof(ksym_found));
	for (; present && *present; present++)
		for (size_t i = 0; i < NKSYMS; i++)
			if (!strcmp(ksyms[i], *present))
				ksym_found[i] = true;
}

bool nq_ksym_exists(const char *sym)
{
	for (size_t i = 0; i < NKSYMS; i++)
		if (!strcmp(ksyms[i], sym))
			return ksym_found[i];
	return false;
}

const char *nq_ksym_module(const char *sym)
{
	if (!strncmp(sym, "vmx_", 4) || !strncmp(sym, "vt_", 3))
		return "kvm_intel";
	if (!strncmp(sym, "svm_", 4))
		return "kvm_amd";
	return "kvm";
}

static void scan_kallsyms(struct nq_sysinfo *si)
{
	char line[512];
	FILE *f = fopen("/proc/kallsyms", "r");

	memset(ksym_found, 0, sizeof(ksym_found));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *addr = strtok(line, " \t\n");
		char *type = strtok(NULL, " \t\n");
		char *name = strtok(NULL, " \t\n");

		if (!addr || !type || !name)
			continue;
		if (!si->kallsyms_addrs && strspn(addr, "0") != strlen(addr))
			si->kallsyms_addrs = true;
		if (name[0] != 'k' && name[0] != 'v' && name[0] != 's' && name[0] != '_')
			continue;
		for (size_t i = 0; i < NKSYMS; i++)
			if (!strcmp(name, ksyms[i]))
				ksym_found[i] = true;
	}
	fclose(f);
}

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static void read_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

static void read_caps(struct nq_sysinfo *si)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long eff = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	si->cap_sys_admin = eff & (1ull << 21);
	si->cap_perfmon = eff & (1ull << 38);
	si->cap_bpf = eff & (1ull << 39);
}

/*
 * tracefs and securityfs are often not mounted in minimal systems.  Mount
 * them in a private mount namespace of this process so nothing is left
 * behind on the host when we exit.
 */
static bool private_ns;

static bool enter_private_ns(void)
{
	if (private_ns)
		return true;
	if (unshare(CLONE_NEWNS))
		return false;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return false;
	private_ns = true;
	return true;
}

static void setup_mounts(struct nq_sysinfo *si)
{
	si->tracefs = path_exists("/sys/kernel/tracing/events") ||
		      path_exists("/sys/kernel/debug/tracing/events");
	if (!si->tracefs && enter_private_ns() &&
	    !mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		si->tracefs = path_exists("/sys/kernel/tracing/events");
		si->tracefs_mounted_by_us = si->tracefs;
	}
	if (!path_exists("/sys/kernel/security/lockdown") && path_exists("/sys/kernel/security") &&
	    enter_private_ns())
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	si->root_ns_ok = !private_ns;
}

static void read_lockdown(struct nq_sysinfo *si)
{
	char buf[128], *l, *r;

	read_first_line("/sys/kernel/security/lockdown", buf, sizeof(buf));
	snprintf(si->lockdown, sizeof(si->lockdown), "unknown");
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (l && r) {
		*r = 0;
		snprintf(si->lockdown, sizeof(si->lockdown), "%s", l + 1);
	}
}

/* ---- BTF ---- */

static const struct btf_member *find_member(const struct btf *btf, const char *sname,
					    const char *mname)
{
	int id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);
	const struct btf_type *t;
	const struct btf_member *m;

	if (id < 0)
		return NULL;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), mname))
			return m;
	return NULL;
}

/* Parameter count of the function pointer member sname.mname, or -1. */
static int fnptr_params(const struct btf *btf, const char *sname, const char *mname)
{
	const struct btf_member *m = find_member(btf, sname, mname);
	const struct btf_type *t;

	if (!m)
		return -1;
	t = btf__type_by_id(btf, m->type);
	while (t && (btf_is_mod(t) || btf_is_typedef(t) || btf_is_ptr(t)))
		t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t))
		return -1;
	return btf_vlen(t);
}

static int func_params(const struct btf *btf, const char *fname)
{
	int id = btf__find_by_name_kind(btf, fname, BTF_KIND_FUNC);
	const struct btf_type *t;

	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	return t && btf_is_func_proto(t) ? btf_vlen(t) : -1;
}

static void probe_btf(struct nq_sysinfo *si)
{
	struct btf *vml = btf__load_vmlinux_btf();
	struct btf *kvm = NULL, *intel = NULL;
	struct btf *core[2];
	int ncore = 0;

	si->btf_vmlinux = vml != NULL;
	si->btf_kvm = path_exists("/sys/kernel/btf/kvm");
	si->btf_kvm_intel = path_exists("/sys/kernel/btf/kvm_intel");
	si->btf_kvm_amd = path_exists("/sys/kernel/btf/kvm_amd");
	if (!vml)
		return;
	core[ncore++] = vml;
	if (si->btf_kvm) {
		kvm = btf__load_module_btf("kvm", vml);
		if (kvm)
			core[ncore++] = kvm;
	}
	if (si->btf_kvm_intel)
		intel = btf__load_module_btf("kvm_intel", vml);

	for (int i = 0; i < ncore; i++) {
		/*
		 * HF_GUEST_MASK moved from bit 5 to bit 0 when the emulator
		 * stopped reading raw hflags (x86_emulate_ops.get_hflags went
		 * away in the same patch).
		 */
		if (find_member(core[i], "x86_emulate_ops", "get_hflags"))
			si->hf_guest_mask = 1u << 5;
		if (fnptr_params(core[i], "kvm_x86_ops", "hwapic_isr_update") == 2)
			si->isr_update_has_vcpu = true;
		for (int tp = 0; tp < NQ_TP__MAX; tp++) {
			char name[96];

			snprintf(name, sizeof(name), "trace_event_raw_%s", nq_tp_names[tp]);
			if (btf__find_by_name_kind(core[i], name, BTF_KIND_STRUCT) >= 0)
				si->btf_tp[tp] = true;
		}
	}
	if (intel) {
		if (func_params(intel, "vmx_hwapic_isr_update") == 2)
			si->isr_update_has_vcpu = true;
		if (find_member(intel, "nested_vmx", "update_vmcs01_hwapic_isr"))
			si->has_update_vmcs01_isr = true;
		/* The 7.x guard: also in BTF when kallsyms hides it. */
		if (btf__find_by_name_kind(intel, "vmx_load_vmcs01", BTF_KIND_FUNC) >= 0)
			si->has_load_vmcs01 = true;
		si->btf_vcpu_vmx = find_member(intel, "vcpu_vmx", "loaded_vmcs") &&
				   find_member(intel, "vcpu_vmx", "vmcs01") &&
				   find_member(intel, "nested_vmx", "vmcs02");
	}
	btf__free(intel);
	btf__free(kvm);
	btf__free(vml);
}

static int release_ge(const char *rel, int maj, int min)
{
	int a = 0, b = 0;

	if (sscanf(rel, "%d.%d", &a, &b) != 2)
		return -1;
	return a > maj || (a == maj && b >= min);
}

const char *nq_svi_regime_name(enum nq_svi_regime r)
{
	switch (r) {
	case NQ_SVI_REGIME_PLAIN:
		return "plain";
	case NQ_SVI_REGIME_DEFERRED:
		return "deferred";
	case NQ_SVI_REGIME_GUARD:
		return "guard";
	default:
		return "unknown";
	}
}

const char *nq_svi_regime_desc(enum nq_svi_regime r)
{
	switch (r) {
	case NQ_SVI_REGIME_PLAIN:
		return "plain write (before 6.14)";
	case NQ_SVI_REGIME_DEFERRED:
		return "deferred to the nested VM-exit (nested.update_vmcs01_hwapic_isr: "
		       "6.14 to 6.19, or a stable backport)";
	case NQ_SVI_REGIME_GUARD:
		return "vmcs01 guard inside vmx_hwapic_isr_update (vmx_load_vmcs01: 7.x)";
	default:
		return "unknown (needs kvm_intel and its BTF)";
	}
}

/*
 * What vmx_hwapic_isr_update does while L2 is active, from what the kernel
 * has: the guard's helper, the deferral flag, or (with kvm_intel's BTF to
 * prove the flag absent) neither.
 */
static enum nq_svi_regime svi_regime(const struct nq_sysinfo *si)
{
	if (!si->mod_kvm_intel)
		return NQ_SVI_REGIME_UNKNOWN;
	if (si->has_load_vmcs01)
		return NQ_SVI_REGIME_GUARD;
	if (si->has_update_vmcs01_isr)
		return NQ_SVI_REGIME_DEFERRED;
	/*
	 * hwapic_isr_update(vcpu, isr) came with the deferral; with the flag
	 * gone again, only the guard series (which removed it) is left, even
	 * when its helper was inlined.
	 */
	if (si->isr_update_has_vcpu && si->btf_kvm_intel && si->btf_vcpu_vmx)
		return NQ_SVI_REGIME_GUARD;
	if (si->btf_kvm_intel && si->btf_vcpu_vmx)
		return NQ_SVI_REGIME_PLAIN;
	return NQ_SVI_REGIME_UNKNOWN;
}

/*
 * The flow label names what the kernel has.  The release only tells a
 * stable backport of the 6.14 SVI deferral from the real thing.
 */
void nq_sysinfo_derive(struct nq_sysinfo *si)
{
	si->has_apic_ack |= nq_ksym_exists("kvm_apic_ack_interrupt");
	si->has_get_apic_irq |= nq_ksym_exists("kvm_get_apic_interrupt");
	si->has_load_vmcs01 |= nq_ksym_exists("vmx_load_vmcs01");
	si->svi_regime = svi_regime(si);
	if (si->has_apic_ack) {
		const char *f = "6.12+";

		if (si->svi_regime == NQ_SVI_REGIME_GUARD)
			f = "6.12+, vmcs01 guard";
		else if (si->svi_regime == NQ_SVI_REGIME_DEFERRED)
			f = release_ge(si->release, 6, 14) == 0 ? "6.12+, SVI deferral backported"
								: "6.14+";
		snprintf(si->flow, sizeof(si->flow), "%s", f);
	} else if (si->has_get_apic_irq) {
		snprintf(si->flow, sizeof(si->flow), "<=6.11");
	} else {
		snprintf(si->flow, sizeof(si->flow), "unknown");
	}

	if (si->mod_kvm_intel) {
		snprintf(si->isa, sizeof(si->isa), "vmx");
		snprintf(si->isa_desc, sizeof(si->isa_desc), "nVMX (kvm_intel loaded)");
	} else if (si->mod_kvm_amd) {
		snprintf(si->isa, sizeof(si->isa), "svm");
		snprintf(si->isa_desc, sizeof(si->isa_desc), "nSVM (kvm_amd loaded)");
	} else {
		snprintf(si->isa, sizeof(si->isa), "none");
		snprintf(si->isa_desc, sizeof(si->isa_desc), "none (no kvm_intel/kvm_amd%s)",
			 si->mod_kvm_pvm ? "; KVM is PVM" : "");
	}
}

void nq_sysinfo_probe(struct nq_sysinfo *si)
{
	struct utsname u;

	memset(si, 0, sizeof(*si));
	si->hf_guest_mask = 1;
	if (!uname(&u)) {
		snprintf(si->release, sizeof(si->release), "%s", u.release);
		snprintf(si->host, sizeof(si->host), "%s", u.nodename);
	}
	read_caps(si);
	setup_mounts(si);
	read_lockdown(si);
	si->kprobes = path_exists("/sys/bus/event_source/devices/kprobe/type") ||
		      path_exists("/sys/kernel/tracing/kprobe_events") ||
		      path_exists("/sys/kernel/debug/tracing/kprobe_events");
	for (int tp = 0; tp < NQ_TP__MAX; tp++) {
		char path[160];

		snprintf(path, sizeof(path), "/sys/kernel/tracing/events/kvm/%s", nq_tp_names[tp]);
		si->tp_exists[tp] = path_exists(path);
		snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/kvm/%s",
			 nq_tp_names[tp]);
		si->tp_exists[tp] |= path_exists(path);
	}
	si->mod_kvm = path_exists("/sys/module/kvm");
	si->kvm_builtin = si->mod_kvm && !path_exists("/sys/module/kvm/initstate");
	si->mod_kvm_intel = path_exists("/sys/module/kvm_intel");
	si->mod_kvm_amd = path_exists("/sys/module/kvm_amd");
	si->mod_kvm_pvm = path_exists("/sys/module/kvm_pvm");
	si->dev_kvm = path_exists("/dev/kvm");
	scan_kallsyms(si);
	probe_btf(si);
	nq_sysinfo_derive(si);
}
