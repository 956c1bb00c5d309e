// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One table names every scalar counter, so reports, metrics and tests agree. */
#include <string.h>

#include "nestirq/engine.h"

#define F(field, text)                                                                             \
	{                                                                                          \
#field, offsetof(struct nq_stats, field), text                                     \
	}

const struct nq_stat_field nq_stat_fields[] = {
	F(events, "events consumed"),
	F(checks, "nested-event checks closed"),
	F(pairs, "checks whose peeked, acked and reported vectors agreed"),
	F(violations, "invariant violations"),
	F(lost, "events lost before reaching the engine (ring buffer full)"),
	F(exits_no_ack, "external-interrupt exits without ack-on-exit"),
	F(extint_exits, "external-interrupt exits carrying a PIC (ExtINT) vector"),
	F(busy_peeks, "peeks dropped because the check returned -EBUSY"),
	F(nested_pi_nv, "peeks of L2's PI notification vector that took the nested PI path"),
	F(svm_intr_exits, "nSVM INTR exits reported to L1 (no ack by design)"),
	F(svi_deferred, "SVI updates deferred until vmcs01 is loaded (6.14+)"),
	F(svi_l2_state, "writes of L2's own RVI/SVI into vmcs02 (legitimate)"),
	F(acks_unknown_irr, "acks of vectors never seen accepted (no verdict possible)"),
	F(unterminated_checks, "checks entered again before their return was seen"),
	F(unknown_kind, "records of an unknown kind (skipped)"),
	F(out_of_order, "events whose timestamp went backwards on their vCPU"),
	F(unresolved_vcpu, "events whose vCPU could not be determined"),
	F(vcpu_evictions, "vCPU states recycled to keep memory bounded"),
};

const size_t nq_stat_fields_count = sizeof(nq_stat_fields) / sizeof(nq_stat_fields[0]);

uint64_t nq_stats_field(const struct nq_stats *s, size_t i)
{
	uint64_t v;

	memcpy(&v, (const char *)s + nq_stat_fields[i].offset, sizeof(v));
	return v;
}

int nq_stats_lookup(const struct nq_stats *s, const char *name, uint64_t *value)
{
	for (size_t i = 0; i < nq_stat_fields_count; i++)
		if (!strcmp(nq_stat_fields[i].name, name)) {
			*value = nq_stats_field(s, i);
			return 0;
		}
	return -1;
}
