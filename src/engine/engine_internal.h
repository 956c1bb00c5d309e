/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The engine's rooms share this: the check transaction (check.c), the SVI
 * judgments (svi.c), the IRR history (irr.c) and the findings they raise
 * (findings.c).  engine.c routes each event to its vCPU and handles losses.
 */
#ifndef NESTIRQ_ENGINE_INTERNAL_H
#define NESTIRQ_ENGINE_INTERNAL_H

#include "nestirq/engine.h"
#include "tid_map.h"
#include "vcpu_table.h"

/* Findings wait here for the next sync point (see nq_engine_sync). */
#define NQ_HELD_MAX 512

struct nq_engine {
	struct nq_engine_config cfg;
	struct nq_stats stats;
	struct vcpu_table vcpus;
	struct tid_map tids;
	/* A ring: the oldest held finding is held[held_first]. */
	unsigned int held_first, n_held;
	struct nq_violation held[NQ_HELD_MAX];
};

/* ---- findings.c ---- */
struct nq_violation *nq_finding_begin(struct nq_engine *e, enum nq_severity sev, int kind,
				      const struct vcpu_state *s, uint64_t ts);
void nq_evidence_add(struct nq_violation *v, const struct nq_event *ev);
/* Accepts of this vCPU inside [from, to]: the evidence of a racing IRQ. */
void nq_evidence_add_accepts(struct nq_violation *v, const struct vcpu_state *s, uint64_t from,
			     uint64_t to);
/* Hold the finding begun last until the next sync point. */
void nq_finding_hold(struct nq_engine *e);
/* A loss was reported: nothing held can be proven any more. */
void nq_findings_withhold(struct nq_engine *e);
/* Deliver every held finding. */
void nq_findings_flush(struct nq_engine *e);

/* ---- check.c: one vmx/svm_check_nested_events invocation ---- */
void nq_check_enter(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev);
void nq_check_close(struct nq_engine *e, struct vcpu_state *s, bool have_ret, int ret);
void nq_check_peek(struct vcpu_state *s, const struct nq_event *ev);
void nq_check_extint(struct vcpu_state *s, const struct nq_event *ev);
void nq_check_ack(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev);
void nq_check_inject(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev);
void nq_check_vmcs_switch(struct vcpu_state *s, const struct nq_event *ev);

/* ---- svi.c: where L1's SVI lands ---- */
void nq_svi_entry(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev);
void nq_svi_return(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev);
void nq_svi_vmcs_switch(struct vcpu_state *s, const struct nq_event *ev);
/* The nested VM-exit was reported to L1: a deferred update must be in vmcs01 by now. */
void nq_svi_exit_reported(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev);
/*
 * Event ABI 1: resolves an SVI entry waiting for its thread's next record
 * (true when ev was that record); at the end of the stream, judges it.
 */
bool nq_svi_legacy_next(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev);
void nq_svi_finish(struct nq_engine *e, struct vcpu_state *s);
/* Drop what a loss may have corrupted; counts it. */
void nq_svi_abort(struct nq_engine *e, struct vcpu_state *s);

/* ---- irr.c: what L1's IRR held, as far as accepts show it ---- */
void nq_irr_accept(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev);
void nq_irr_ack(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev);
const struct nq_event *nq_irr_last_accept(const struct vcpu_state *s, unsigned int vector);
void nq_irr_context(struct vcpu_state *s, const struct nq_event *ev, int vector,
		    uint64_t accept_ts);

#endif /* NESTIRQ_ENGINE_INTERNAL_H */
