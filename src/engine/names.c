// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Stable names for violation kinds (event kinds: src/common/abi_names.c). */
#include <string.h>

#include "nestirq/engine.h"

static const struct {
	const char *name;
	const char *invariant;
} violations[NQ_V__MAX] = {
	[NQ_V_VECTOR_MISMATCH] = {"vector_mismatch", "I3"},
	[NQ_V_ACK_IN_VMCS02] = {"ack_in_vmcs02", "I2"},
	[NQ_V_SVI_IN_VMCS02] = {"svi_in_vmcs02", "I1"},
	[NQ_V_INVALID_VECTOR] = {"invalid_vector", "I5"},
	[NQ_V_NESTED_PI_NV] = {"nested_pi_nv", "I4"},
	[NQ_V_MULTIPLE_ACKS] = {"multiple_acks", "I6"},
	[NQ_V_SVI_DEFERRED_LOST] = {"svi_deferred_lost", "I1"},
};

static const char *const info_names[NQ_INFO__MAX] = {
	[NQ_INFO_RACE_WINDOW] = "race_window",
};

const char *nq_violation_name(enum nq_violation_kind kind)
{
	return (unsigned int)kind < NQ_V__MAX ? violations[kind].name : "unknown";
}

const char *nq_violation_invariant(enum nq_violation_kind kind)
{
	return (unsigned int)kind < NQ_V__MAX ? violations[kind].invariant : "?";
}

int nq_violation_from_name(const char *name)
{
	for (int i = 0; i < NQ_V__MAX; i++)
		if (!strcmp(violations[i].name, name))
			return i;
	return -1;
}

const char *nq_info_name(enum nq_info_kind kind)
{
	return (unsigned int)kind < NQ_INFO__MAX ? info_names[kind] : "unknown";
}

int nq_info_from_name(const char *name)
{
	for (int i = 0; i < NQ_INFO__MAX; i++)
		if (!strcmp(info_names[i], name))
			return i;
	return -1;
}

const char *nq_severity_name(enum nq_severity sev)
{
	return sev == NQ_SEV_INFO ? "info" : "violation";
}

const char *nq_finding_name(const struct nq_violation *f)
{
	return f->severity == NQ_SEV_INFO ? nq_info_name((enum nq_info_kind)f->kind)
					  : nq_violation_name(f->kind);
}
