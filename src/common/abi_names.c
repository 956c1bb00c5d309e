// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The names of the event ABI's enumerations, one table each (nestirq/abi_names.h). */
#include <string.h>

#include "nestirq/abi.h"
#include "nestirq/abi_names.h"

#define N(a)		   (sizeof(a) / sizeof((a)[0]))
#define NAMES(var, w, tbl) const struct nq_names var = {w, tbl, N(tbl)}

static const char *const kinds[NQ_EV__MAX] = {
	[NQ_EV_NONE] = "none",
	[NQ_EV_IRQ_ACCEPT] = "irq_accept",
	[NQ_EV_CHECK_ENTER] = "check_enter",
	[NQ_EV_CHECK_EXIT] = "check_exit",
	[NQ_EV_PEEK] = "peek",
	[NQ_EV_ACK] = "ack",
	[NQ_EV_HW_NESTED_VMEXIT] = "hw_nested_vmexit",
	[NQ_EV_VMEXIT_INJECT] = "vmexit_inject",
	[NQ_EV_SVI_UPDATE] = "svi_update",
	[NQ_EV_VMCS_SWITCH] = "vmcs_switch",
	[NQ_EV_NESTED_PI] = "nested_pi",
	[NQ_EV_SVM_INTR_EXIT] = "svm_intr_exit",
	[NQ_EV_LOST] = "lost",
	[NQ_EV_SVI_RETURN] = "svi_return",
	[NQ_EV_EXTINT] = "extint",
	[NQ_EV_VM_GONE] = "vm_gone",
	[NQ_EV_SYNC] = "sync",
	[NQ_EV_COUNT] = "count",
};
static const char *const isas[] = {
	[NQ_ISA_UNKNOWN] = "unknown",
	[NQ_ISA_VMX] = "vmx",
	[NQ_ISA_SVM] = "svm",
};
static const char *const vmcses[] = {
	[NQ_VMCS_UNKNOWN] = "unknown",
	[NQ_VMCS_01] = "01",
	[NQ_VMCS_02] = "02",
	[NQ_VMCS_OTHER] = "other",
};
static const char *const apis[] = {
	[NQ_ACK_API_UNKNOWN] = "unknown",
	[NQ_ACK_API_APIC_ACK] = "apic_ack",
	[NQ_ACK_API_GET_APIC_IRQ] = "get_apic_interrupt",
};
static const char *const outcomes[] = {
	[NQ_SVI_WRITTEN] = "written",
	[NQ_SVI_DEFERRED] = "deferred",
};
static const char *const origins[] = {
	[NQ_SVI_ORIGIN_L1_ISR] = "l1_isr",
	[NQ_SVI_ORIGIN_L2_STATE] = "l2_state",
};
static const char *const irrs[] = {
	[NQ_ACK_IRR_UNKNOWN] = "unknown",
	[NQ_ACK_IRR_NEVER] = "never_accepted",
	[NQ_ACK_IRR_NOT_PENDING] = "not_pending",
	[NQ_ACK_IRR_PENDING] = "pending",
};
static const char *const sources[] = {
	[NQ_LOST_RINGBUF] = "ringbuf",
	[NQ_LOST_PROBE_MISS] = "probe_miss",
};

NAMES(nq_kind_names, "kind", kinds);
NAMES(nq_isa_names, "isa", isas);
NAMES(nq_vmcs_names, "vmcs", vmcses);
NAMES(nq_ack_api_names, "api", apis);
NAMES(nq_svi_outcome_names, "outcome", outcomes);
NAMES(nq_svi_origin_names, "origin", origins);
NAMES(nq_lost_source_names, "source", sources);
NAMES(nq_ack_irr_names, "irr", irrs);

const char *nq_name_of(const struct nq_names *t, unsigned int v)
{
	return v < t->n ? t->name[v] : NULL;
}

int nq_name_find(const struct nq_names *t, const char *name)
{
	for (unsigned int i = 0; i < t->n; i++)
		if (t->name[i] && !strcmp(t->name[i], name))
			return (int)i;
	return -1;
}

const char *nq_kind_name(unsigned int kind)
{
	const char *n = nq_name_of(&nq_kind_names, kind);

	return n ? n : "unknown";
}

int nq_kind_from_name(const char *name)
{
	return nq_name_find(&nq_kind_names, name);
}
