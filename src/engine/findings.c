// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Building findings and handing them out.  A finding is held until the next
 * sync point: a loss reported in between means the story it tells may have
 * a gap, so it is counted as unproven instead of delivered.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

static void deliver(struct nq_engine *e, const struct nq_violation *v)
{
	if (v->severity == NQ_SEV_INFO) {
		e->stats.infos++;
		if ((unsigned int)v->kind < NQ_INFO__MAX)
			e->stats.by_info[v->kind]++;
		if (e->cfg.on_info)
			e->cfg.on_info(v, e->cfg.ctx);
		return;
	}
	e->stats.violations++;
	e->stats.by_violation[v->kind]++;
	if (e->cfg.on_violation)
		e->cfg.on_violation(v, e->cfg.ctx);
}

struct nq_violation *nq_finding_begin(struct nq_engine *e, enum nq_severity sev, int kind,
				      const struct vcpu_state *s, uint64_t ts)
{
	struct nq_violation *v;

	/* Bounded: when full (a storm between sync points), the oldest goes out early. */
	if (e->n_held == NQ_HELD_MAX) {
		deliver(e, &e->held[e->held_first]);
		e->held_first = (e->held_first + 1) % NQ_HELD_MAX;
		e->n_held--;
	}
	v = &e->held[(e->held_first + e->n_held) % NQ_HELD_MAX];
	memset(v, 0, sizeof(*v));
	v->kind = (enum nq_violation_kind)kind;
	v->severity = sev;
	v->tgid = s->tgid;
	v->vm_id = s->vm_id;
	v->vcpu_id = s->vcpu_id;
	v->ts_ns = ts;
	return v;
}

void nq_evidence_add(struct nq_violation *v, const struct nq_event *ev)
{
	if (!ev || ev->h.kind == NQ_EV_NONE || v->n_evidence >= NQ_EVIDENCE_MAX)
		return;
	for (unsigned int i = 0; i < v->n_evidence; i++)
		if (!memcmp(&v->evidence[i], ev, sizeof(*ev)))
			return;
	v->evidence[v->n_evidence++] = *ev;
}

void nq_evidence_add_accepts(struct nq_violation *v, const struct vcpu_state *s, uint64_t from,
			     uint64_t to)
{
	for (unsigned int i = 0; i < NQ_ACCEPT_RING; i++) {
		const struct nq_event *a = &s->accept_ring[i];

		if (a->h.kind == NQ_EV_IRQ_ACCEPT && a->h.ts_ns >= from && a->h.ts_ns <= to)
			nq_evidence_add(v, a);
	}
}

static int evidence_cmp(const void *a, const void *b)
{
	const struct nq_event *x = a, *y = b;

	return x->h.ts_ns < y->h.ts_ns ? -1 : x->h.ts_ns > y->h.ts_ns;
}

void nq_finding_hold(struct nq_engine *e)
{
	struct nq_violation *v = &e->held[(e->held_first + e->n_held) % NQ_HELD_MAX];

	qsort(v->evidence, v->n_evidence, sizeof(v->evidence[0]), evidence_cmp);
	e->n_held++;
}

void nq_findings_withhold(struct nq_engine *e)
{
	e->stats.unproven_after_loss += e->n_held;
	e->held_first = e->n_held = 0;
}

void nq_findings_flush(struct nq_engine *e)
{
	for (unsigned int i = 0; i < e->n_held; i++)
		deliver(e, &e->held[(e->held_first + i) % NQ_HELD_MAX]);
	e->held_first = e->n_held = 0;
}
