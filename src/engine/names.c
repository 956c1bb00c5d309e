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
	[NQ_V_ACK_NOT_ACCEPTED] = {"ack_not_accepted", "I6"},
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
