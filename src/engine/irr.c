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
#include <string.h>

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

/*
 * Event ABI 3: the kernel kept the vCPU's accept history and put the verdict
 * on the vector and its first accept into the ack record itself.
 */
static void irr_ack_from_kernel(struct nq_engine *e, struct vcpu_state *s,
				const struct nq_event *ev)
{
	unsigned int vec = (unsigned int)ev->ack.vector;

	if (ev->ack.accept_ts && ev->h.ts_ns >= ev->ack.accept_ts)
		nq_hist_add(&e->stats.accept_to_ack, ev->h.ts_ns - ev->ack.accept_ts);
	if (ev->ack.irr == NQ_ACK_IRR_NEVER)
		e->stats.acks_unknown_irr++;
	else if (ev->ack.irr == NQ_ACK_IRR_NOT_PENDING)
		e->stats.acks_not_pending++;
	s->accept_ts[vec] = 0;
	nq_bit_clear(s->pending, vec);
}

void nq_irr_ack(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	int vec = ev->ack.vector;

	if (vec < 0 || vec > 255)
		return;
	if (ev->ack.irr != NQ_ACK_IRR_UNKNOWN) {
		irr_ack_from_kernel(e, s, ev);
		return;
	}
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

/*
 * The latest accept of vector before ts: a streamed one, or (event ABI 3)
 * one the kernel stamped into a peek or ack record (see nq_irr_context).
 */
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

/*
 * Event ABI 3 records carry the first accept of their vector since its
 * previous ack instead of streaming it: keep it as an accept record of the
 * vCPU, so that a finding's evidence names it like a streamed one.
 */
void nq_irr_context(struct vcpu_state *s, const struct nq_event *ev, int vector, uint64_t accept_ts)
{
	struct nq_event a;

	if (!accept_ts || vector < 0 || vector > 255)
		return;
	for (unsigned int i = 0; i < NQ_ACCEPT_RING; i++) {
		const struct nq_event *o = &s->accept_ring[i];

		if (o->h.kind == NQ_EV_IRQ_ACCEPT && o->h.ts_ns == accept_ts &&
		    o->accept.vector == vector)
			return; /* streamed, or already taken from another record */
	}
	memset(&a, 0, sizeof(a));
	a.h.ts_ns = accept_ts;
	a.h.tgid = ev->h.tgid;
	a.h.tid = 0;
	a.h.vcpu_id = ev->h.vcpu_id;
	a.h.cpu = NQ_CPU_ALL;
	a.h.kind = NQ_EV_IRQ_ACCEPT;
	a.h.isa = ev->h.isa;
	a.accept.apicid = ev->h.vcpu_id;
	a.accept.vector = (uint8_t)vector;
	a.accept.flags = NQ_ACCEPT_F_KERNEL_CONTEXT;
	a.vm_id = ev->vm_id;
	s->accept_ring[s->accept_head++ % NQ_ACCEPT_RING] = a;
}
