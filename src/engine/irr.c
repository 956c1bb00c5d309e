// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * L1's IRR as far as accepts show it: context for the checks (the racing
 * accept in a finding's evidence, accept-to-ack latency), and counters.
 * It is never a verdict: IRR also fills from sources no probe sees (IPI
 * virtualization, VT-d posted interrupts and any posted interrupt the CPU
 * delivers while the vCPU runs, KVM_SET_LAPIC), and under APICv the same
 * vector accepted again after the peek is a new interrupt.  So an ack with
 * no accept since the previous one is counted (acks_not_pending), never
 * flagged.
 */
#include "engine_internal.h"

void nq_irr_accept(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	unsigned int vec = ev->accept.vector;

	/* INIT, SIPI, NMI, SMI and ExtINT deliveries set no IRR bit. */
	switch (ev->accept.delivery_mode & NQ_APIC_DM_MASK) {
	case NQ_APIC_DM_FIXED:
	case NQ_APIC_DM_LOWEST:
		break;
	default:
		e->stats.accepts_not_fixed++;
		return;
	}
	nq_bit_set(s->accepted, vec);
	nq_bit_set(s->pending, vec);
	if (!s->accept_ts[vec])
		s->accept_ts[vec] = ev->h.ts_ns ? ev->h.ts_ns : 1;
	s->accept_ring[s->accept_head++ % NQ_ACCEPT_RING] = *ev;
}

void nq_irr_ack(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	int vec = ev->ack.vector;

	if (vec < 0 || vec > 255)
		return;
	if (s->accept_ts[vec]) {
		if (ev->h.ts_ns >= s->accept_ts[vec])
			nq_hist_add(&e->stats.accept_to_ack, ev->h.ts_ns - s->accept_ts[vec]);
		s->accept_ts[vec] = 0;
	}
	if (!nq_bit_test(s->accepted, (unsigned int)vec))
		e->stats.acks_unknown_irr++;
	else if (!nq_bit_test(s->pending, (unsigned int)vec))
		e->stats.acks_not_pending++;
	nq_bit_clear(s->pending, (unsigned int)vec);
}

const struct nq_event *nq_irr_last_accept(const struct vcpu_state *s, unsigned int vector)
{
	const struct nq_event *best = NULL;

	for (unsigned int i = 0; i < NQ_ACCEPT_RING; i++) {
		const struct nq_event *a = &s->accept_ring[i];

		if (a->h.kind == NQ_EV_IRQ_ACCEPT && a->accept.vector == vector &&
		    (!best || a->h.ts_ns > best->h.ts_ns))
			best = a;
	}
	return best;
}
