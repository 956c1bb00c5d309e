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
	F(pairs, "checks whose acked vector was the one KVM decided on and reported"),
	F(violations, "invariant violations"),
	F(infos, "informational findings (never a failure)"),
	F(race_window_hits, "<= 6.11: a higher vector arrived between the peek and the ack at exit "
			    "(hardware-faithful, not a bug there)"),
	F(vector_unproven, "peek and report differed on a kernel whose decision point is unknown"),
	F(lost, "events lost before reaching the engine (ring buffer full, missed probes)"),
	F(unproven_after_loss, "findings withheld because a loss was reported before they stood"),
	F(checks_dropped_by_loss, "open checks dropped because records of their CPU were lost"),
	F(exits_no_ack, "external-interrupt exits without ack-on-exit"),
	F(extint_exits, "external-interrupt exits with the vector kvm_cpu_get_extint returned"),
	F(exits_unpaired, "external-interrupt exits whose vector no probe explains"),
	F(busy_peeks, "peeks dropped because the check returned -EBUSY"),
	F(nested_pi_nv, "peeks of L2's PI notification vector that took the nested PI path"),
	F(svm_intr_exits, "nSVM INTR exits reported to L1 (no ack by design)"),
	F(svi_deferred, "SVI updates deferred to the nested VM-exit (6.14 to 6.19, backports)"),
	F(svi_deferred_applied, "deferred SVI updates applied to vmcs01 at the nested VM-exit"),
	F(svi_deferred_unverified, "deferred SVI updates whose outcome could not be observed"),
	F(svi_guarded, "SVI writes moved to vmcs01 by the guard inside the function (7.x)"),
	F(svi_unjudged, "SVI updates whose return was never seen (no verdict)"),
	F(svi_l2_state, "writes of L2's own RVI/SVI into vmcs02 (legitimate)"),
	F(acks_unknown_irr, "acks of vectors never seen accepted (no verdict possible)"),
	F(acks_not_pending, "acks with no accept since the vector's previous ack (untraced IRR "
			    "sources: IPIv, posted interrupts, KVM_SET_LAPIC)"),
	F(accepts_not_fixed, "INIT, SIPI, NMI and ExtINT deliveries (no IRR bit)"),
	F(accepts_unattributed, "accepts whose VM could not be told apart in a multi-VM process"),
	F(unterminated_checks, "checks entered again before their return was seen"),
	F(vms_gone, "VMs whose state was dropped when they went away"),
	F(unknown_kind, "records of an unknown kind (skipped)"),
	F(counted, "records the kernel counted instead of streaming (accepts outside checks, exits "
		   "of L2)"),
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
