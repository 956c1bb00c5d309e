// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The invariant engine.  Events arrive in ring-buffer (reservation) order;
 * each is routed to its vCPU's state.  A nested-event check (entry to
 * return of vmx_check_nested_events) is the unit of proof: the vector it
 * peeked, the vector it acknowledged and the vector it reported to L1 must
 * agree, and the ack must happen with vmcs01 loaded.  The engine accepts
 * both kernel orders: the ack before the inject tracepoint (<= 6.11) and
 * after it (6.12+).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nestirq/engine.h"
#include "tid_map.h"
#include "vcpu_table.h"

#define DEFAULT_MAX_VCPUS 1024
#define EBUSY_ERRNO	  16

struct nq_engine {
	struct nq_engine_config cfg;
	struct nq_stats stats;
	struct vcpu_table vcpus;
	struct tid_map tids;
	struct nq_violation scratch;
};

struct nq_engine *nq_engine_new(const struct nq_engine_config *cfg)
{
	struct nq_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (cfg)
		e->cfg = *cfg;
	if (!e->cfg.max_vcpus)
		e->cfg.max_vcpus = DEFAULT_MAX_VCPUS;
	if (vcpu_table_init(&e->vcpus, e->cfg.max_vcpus) || tid_map_init(&e->tids)) {
		nq_engine_free(e);
		return NULL;
	}
	return e;
}

void nq_engine_free(struct nq_engine *e)
{
	if (!e)
		return;
	vcpu_table_destroy(&e->vcpus);
	tid_map_destroy(&e->tids);
	free(e);
}

const struct nq_stats *nq_engine_stats(const struct nq_engine *e)
{
	return &e->stats;
}

/* ---- violations ---- */

static struct nq_violation *violation_begin(struct nq_engine *e, enum nq_violation_kind kind,
					    const struct vcpu_state *s, uint64_t ts)
{
	struct nq_violation *v = &e->scratch;

	v->kind = kind;
	v->tgid = s->tgid;
	v->vcpu_id = s->vcpu_id;
	v->ts_ns = ts;
	v->message[0] = '\0';
	v->n_evidence = 0;
	return v;
}

static void evidence_add(struct nq_violation *v, const struct nq_event *ev)
{
	if (!ev || ev->h.kind == NQ_EV_NONE || v->n_evidence >= NQ_EVIDENCE_MAX)
		return;
	for (unsigned int i = 0; i < v->n_evidence; i++)
		if (!memcmp(&v->evidence[i], ev, sizeof(*ev)))
			return;
	v->evidence[v->n_evidence++] = *ev;
}

static int evidence_cmp(const void *a, const void *b)
{
	const struct nq_event *x = a, *y = b;

	return x->h.ts_ns < y->h.ts_ns ? -1 : x->h.ts_ns > y->h.ts_ns;
}

static void violation_emit(struct nq_engine *e, struct nq_violation *v)
{
	qsort(v->evidence, v->n_evidence, sizeof(v->evidence[0]), evidence_cmp);
	e->stats.violations++;
	e->stats.by_violation[v->kind]++;
	if (e->cfg.on_violation)
		e->cfg.on_violation(v, e->cfg.ctx);
}

/* Accepts of this vCPU inside [from, to]: the evidence of a racing IRQ. */
static void evidence_add_accepts(struct nq_violation *v, const struct vcpu_state *s, uint64_t from,
				 uint64_t to)
{
	for (unsigned int i = 0; i < NQ_ACCEPT_RING; i++) {
		const struct nq_event *a = &s->accept_ring[i];

		if (a->h.kind == NQ_EV_IRQ_ACCEPT && a->h.ts_ns >= from && a->h.ts_ns <= to)
			evidence_add(v, a);
	}
}

static const struct nq_event *last_accept_of(const struct vcpu_state *s, unsigned int vector)
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

/* ---- helpers ---- */

/* The VMCS an event saw: its own field when the probe could read it, else what switches say. */
static uint8_t effective_vmcs(const struct vcpu_state *s, uint8_t from_event)
{
	return from_event != NQ_VMCS_UNKNOWN ? from_event : s->vmcs;
}

static bool is_vmx_ext_intr_inject(const struct nq_event *ev)
{
	return ev->h.isa != NQ_ISA_SVM && ev->inject.exit_code == NQ_VMX_EXIT_EXTERNAL_INTERRUPT;
}

static void count_reason(uint64_t *table, uint64_t reason)
{
	table[reason < NQ_EXIT_REASONS ? reason : NQ_EXIT_REASONS - 1]++;
}

/* ---- closing a check: the pairing verdicts ---- */

static void check_vectors(struct nq_engine *e, struct vcpu_state *s, const struct check_txn *t)
{
	bool have_ack = t->n_acks > 0;
	bool have_report = false;
	/* A peek that found nothing chose nothing (e.g. an ExtINT exit follows). */
	bool have_peek = t->have_peek && t->peek.peek.vector >= 0;
	int peeked = have_peek ? t->peek.peek.vector : -1;
	int acked = have_ack ? t->ack.ack.vector : -1;
	int reported = -1;
	struct nq_violation *v;

	if (t->have_inject) {
		uint32_t info = t->inject.inject.exit_int_info;

		if ((info & NQ_INTR_INFO_VALID) && !(info & NQ_INTR_INFO_TYPE_MASK)) {
			reported = (int)(info & NQ_INTR_INFO_VECTOR_MASK);
			have_report = true;
		}
	}

	/* Need at least two of the three to compare. */
	if ((have_peek + have_ack + have_report) < 2)
		return;
	if ((!have_peek || !have_ack || peeked == acked) &&
	    (!have_peek || !have_report || peeked == reported) &&
	    (!have_ack || !have_report || acked == reported)) {
		if (have_ack && (have_report || have_peek))
			e->stats.pairs++;
		return;
	}

	v = violation_begin(e, NQ_V_VECTOR_MISMATCH, s,
			    have_ack ? t->ack.h.ts_ns : t->inject.h.ts_ns);
	snprintf(
		v->message, sizeof(v->message),
		"vector mismatch in one nested-event check: peeked %d, acked %d, reported to L1 %d "
		"(-1: not observed)",
		have_peek ? peeked : -1, have_ack ? acked : -1, have_report ? reported : -1);
	evidence_add(v, &t->enter);
	evidence_add(v, have_peek ? &t->peek : NULL);
	evidence_add(v, have_ack ? &t->ack : NULL);
	evidence_add(v, t->have_inject ? &t->inject : NULL);
	if (have_peek)
		evidence_add_accepts(v, s, t->peek.h.ts_ns,
				     have_ack ? t->ack.h.ts_ns : t->inject.h.ts_ns);
	violation_emit(e, v);
}

/* I4, I5: properties of the exit reported to L1. */
static void check_reported_exit(struct nq_engine *e, struct vcpu_state *s,
				const struct check_txn *t)
{
	uint32_t info = t->inject.inject.exit_int_info;
	/* Only the LAPIC path peeks or acks; an ExtINT (PIC) vector may be below 16. */
	bool apic_sourced = (t->have_peek && t->peek.peek.vector >= 0) || t->n_acks > 0;
	bool ack_on_exit_known = (t->ctls & NQ_CTL_KNOWN) && (t->ctls & NQ_CTL_ACK_ON_EXIT);
	unsigned int vector = info & NQ_INTR_INFO_VECTOR_MASK;
	uint16_t nv = t->posted_intr_nv != 0xffff ? t->posted_intr_nv : s->posted_intr_nv;
	bool pi_on = ((t->ctls & NQ_CTL_KNOWN) && (t->ctls & NQ_CTL_POSTED_INTR)) ||
		     (s->pi_known && s->pi_enabled);
	struct nq_violation *v;
	const char *why = NULL;

	if (!(info & NQ_INTR_INFO_VALID)) {
		if (ack_on_exit_known)
			why = "L1 set ack-on-exit but the exit carries no valid vector";
		else
			e->stats.exits_no_ack++;
	} else if (info & NQ_INTR_INFO_TYPE_MASK) {
		why = "exit interruption info is not an external interrupt";
	} else if (apic_sourced && vector < 16) {
		why = "APIC vector below 16 reported to L1";
	}
	if (why) {
		v = violation_begin(e, NQ_V_INVALID_VECTOR, s, t->inject.h.ts_ns);
		snprintf(v->message, sizeof(v->message), "%s: exit_int_info=0x%08x", why, info);
		evidence_add(v, &t->enter);
		evidence_add(v, t->have_peek ? &t->peek : NULL);
		evidence_add(v, &t->inject);
		violation_emit(e, v);
		return;
	}
	if (!(info & NQ_INTR_INFO_VALID))
		return;
	if (!apic_sourced)
		e->stats.extint_exits++;
	if (pi_on && nv != 0xffff && vector == nv) {
		v = violation_begin(e, NQ_V_NESTED_PI_NV, s, t->inject.h.ts_ns);
		snprintf(v->message, sizeof(v->message),
			 "external-interrupt exit reported L2's posted-interrupt notification "
			 "vector "
			 "0x%02x to L1 instead of processing the posted interrupt",
			 vector);
		evidence_add(v, &t->enter);
		evidence_add(v, t->have_peek ? &t->peek : NULL);
		evidence_add(v, &t->inject);
		violation_emit(e, v);
	}
}

/* A check with a peek but no exit: legitimate, but say why. */
static void account_unreported_peek(struct nq_engine *e, const struct vcpu_state *s,
				    const struct check_txn *t, bool have_ret, int ret)
{
	uint16_t nv = t->posted_intr_nv != 0xffff ? t->posted_intr_nv : s->posted_intr_nv;

	if (have_ret && ret == -EBUSY_ERRNO)
		e->stats.busy_peeks++;
	else if (t->peek.peek.vector >= 0 && nv != 0xffff && t->peek.peek.vector == nv)
		e->stats.nested_pi_nv++;
}

static void txn_close(struct nq_engine *e, struct vcpu_state *s, bool have_ret, int ret)
{
	struct check_txn *t = &s->txn;

	if (!t->open)
		return;
	e->stats.checks++;
	if (t->have_inject && is_vmx_ext_intr_inject(&t->inject))
		check_reported_exit(e, s, t);
	check_vectors(e, s, t);
	if (t->have_peek && !t->have_inject && !t->n_acks)
		account_unreported_peek(e, s, t, have_ret, ret);
	memset(t, 0, sizeof(*t));
}

/* Drops every open check without a verdict: after lost events the story is incomplete. */
static void txn_abort(struct vcpu_state *s, void *ctx)
{
	(void)ctx;
	memset(&s->txn, 0, sizeof(s->txn));
	/* Accepts may have been lost too: forget what IRR held. */
	memset(s->accepted, 0, sizeof(s->accepted));
	memset(s->pending, 0, sizeof(s->pending));
}

static void on_evict(struct vcpu_state *victim, void *ctx)
{
	struct nq_engine *e = ctx;

	e->stats.vcpu_evictions++;
	txn_close(e, victim, false, 0);
}

/* ---- per-kind handlers ---- */

static void on_accept(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	unsigned int vec = ev->accept.vector;

	(void)e;
	nq_bit_set(s->accepted, vec);
	nq_bit_set(s->pending, vec);
	if (!s->accept_ts[vec])
		s->accept_ts[vec] = ev->h.ts_ns ? ev->h.ts_ns : 1;
	s->accept_ring[s->accept_head++ % NQ_ACCEPT_RING] = *ev;
}

static void on_check_enter(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn *t = &s->txn;

	if (t->open) {
		e->stats.unterminated_checks++;
		txn_close(e, s, false, 0);
	}
	t->open = true;
	t->enter = *ev;
	t->ctls = ev->check_enter.ctls;
	t->posted_intr_nv = ev->check_enter.posted_intr_nv;
	if (ev->check_enter.vmcs != NQ_VMCS_UNKNOWN)
		s->vmcs = ev->check_enter.vmcs;
	if (t->ctls & NQ_CTL_KNOWN) {
		s->pi_known = true;
		s->pi_enabled = t->ctls & NQ_CTL_POSTED_INTR;
		s->posted_intr_nv = ev->check_enter.posted_intr_nv;
	}
}

static void on_peek(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn *t = &s->txn;

	(void)e;
	if (ev->peek.vmcs != NQ_VMCS_UNKNOWN)
		s->vmcs = ev->peek.vmcs;
	/*
	 * Only a peek made before the exit emulation began chose the vector.  On
	 * <= 6.11 kvm_get_apic_interrupt() peeks again inside the ack; that
	 * second look is the TOCTOU window, not the decision.
	 */
	if (!t->open || t->exit_started || (ev->peek.flags & NQ_PEEK_F_IN_ACK))
		return;
	t->have_peek = true;
	t->peek = *ev;
}

static void on_ack(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn *t = &s->txn;
	int vec = ev->ack.vector;
	uint8_t vmcs = effective_vmcs(s, ev->ack.vmcs);
	struct nq_violation *v;

	if (ev->ack.vmcs != NQ_VMCS_UNKNOWN)
		s->vmcs = ev->ack.vmcs;

	if (vec >= 0 && vec < 256) {
		if (s->accept_ts[vec]) {
			if (ev->h.ts_ns >= s->accept_ts[vec])
				nq_hist_add(&e->stats.accept_to_ack,
					    ev->h.ts_ns - s->accept_ts[vec]);
			s->accept_ts[vec] = 0;
		}
		if (!nq_bit_test(s->accepted, vec)) {
			e->stats.acks_unknown_irr++;
		} else if (!nq_bit_test(s->pending, vec)) {
			v = violation_begin(e, NQ_V_ACK_NOT_ACCEPTED, s, ev->h.ts_ns);
			snprintf(v->message, sizeof(v->message),
				 "vector 0x%02x acknowledged but not pending: no accept since its "
				 "previous ack",
				 vec);
			evidence_add(v, last_accept_of(s, (unsigned int)vec));
			evidence_add(v, ev);
			violation_emit(e, v);
		}
		nq_bit_clear(s->pending, (unsigned int)vec);
	}

	if (!t->open)
		return; /* an ordinary (non-nested) injection */

	if (t->have_peek)
		nq_hist_add(&e->stats.peek_to_ack,
			    ev->h.ts_ns >= t->peek.h.ts_ns ? ev->h.ts_ns - t->peek.h.ts_ns : 0);

	if (++t->n_acks == 1) {
		t->ack = *ev;
	} else {
		v = violation_begin(e, NQ_V_MULTIPLE_ACKS, s, ev->h.ts_ns);
		snprintf(v->message, sizeof(v->message),
			 "%u acks in one nested-event check (vectors 0x%02x then 0x%02x)",
			 t->n_acks, t->ack.ack.vector & 0xff, vec & 0xff);
		evidence_add(v, &t->enter);
		evidence_add(v, t->have_peek ? &t->peek : NULL);
		evidence_add(v, &t->ack);
		evidence_add(v, ev);
		violation_emit(e, v);
	}

	if (vmcs == NQ_VMCS_02) {
		v = violation_begin(e, NQ_V_ACK_IN_VMCS02, s, ev->h.ts_ns);
		snprintf(v->message, sizeof(v->message),
			 "vector 0x%02x acknowledged while vmcs02 was loaded: SVI would be marked "
			 "in L2's VMCS, not vmcs01",
			 vec & 0xff);
		evidence_add(v, &t->enter);
		evidence_add(v, t->have_peek ? &t->peek : NULL);
		evidence_add(v, s->have_switch ? &s->last_switch : NULL);
		evidence_add(v, ev);
		violation_emit(e, v);
	}
}

static void on_inject(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn *t = &s->txn;
	struct check_txn solo;

	count_reason(e->stats.inject_exit_reasons, ev->inject.exit_code);
	if (ev->h.isa == NQ_ISA_SVM) {
		/* nSVM has no ack-on-exit: the IRQ stays in L1's IRR. Nothing to pair. */
		if (ev->inject.exit_code == NQ_SVM_EXIT_INTR)
			e->stats.svm_intr_exits++;
		if (t->open)
			t->exit_started = true;
		return;
	}
	if (!is_vmx_ext_intr_inject(ev))
		return;
	if (!t->open) {
		/* No check probe: judge the reported exit on its own. */
		memset(&solo, 0, sizeof(solo));
		solo.open = true;
		solo.posted_intr_nv = 0xffff;
		solo.have_inject = true;
		solo.inject = *ev;
		check_reported_exit(e, s, &solo);
		return;
	}
	if (t->have_inject) {
		/* Two exits in one check: close the first as its own story. */
		struct nq_event enter = t->enter;
		uint8_t ctls = t->ctls;
		uint16_t nv = t->posted_intr_nv;

		txn_close(e, s, false, 0);
		t->open = true;
		t->enter = enter;
		t->ctls = ctls;
		t->posted_intr_nv = nv;
	}
	t->have_inject = true;
	t->inject = *ev;
	t->exit_started = true;
}

static void on_svi(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	uint8_t vmcs = effective_vmcs(s, ev->svi.vmcs);
	struct nq_violation *v;

	if (ev->svi.origin == NQ_SVI_ORIGIN_L2_STATE) {
		e->stats.svi_l2_state++;
		return;
	}
	if (ev->svi.outcome == NQ_SVI_DEFERRED) {
		e->stats.svi_deferred++;
		return;
	}
	if (vmcs != NQ_VMCS_02)
		return;
	v = violation_begin(e, NQ_V_SVI_IN_VMCS02, s, ev->h.ts_ns);
	snprintf(v->message, sizeof(v->message),
		 "L1's SVI (max ISR %d) written while vmcs02 was loaded: vmcs01 keeps a stale SVI",
		 ev->svi.max_isr);
	evidence_add(v, s->txn.open ? &s->txn.enter : NULL);
	evidence_add(v, s->txn.n_acks ? &s->txn.ack : NULL);
	evidence_add(v, s->have_switch ? &s->last_switch : NULL);
	evidence_add(v, ev);
	violation_emit(e, v);
}

static void on_vmcs_switch(struct vcpu_state *s, const struct nq_event *ev)
{
	s->vmcs = ev->vmcs_switch.to;
	s->have_switch = true;
	s->last_switch = *ev;
	if (s->txn.open && ev->vmcs_switch.to == NQ_VMCS_01)
		s->txn.exit_started = true;
}

static void on_nested_pi(struct vcpu_state *s, const struct nq_event *ev)
{
	s->pi_known = true;
	s->pi_enabled = ev->pi.pi_enabled;
	s->posted_intr_nv = ev->pi.posted_intr_nv;
}

static void abort_all(struct vcpu_state *s, void *ctx)
{
	txn_abort(s, ctx);
}

/* ---- dispatch ---- */

static uint32_t resolve_vcpu(struct nq_engine *e, const struct nq_event *ev)
{
	uint32_t vcpu = ev->h.vcpu_id;

	if (ev->h.kind == NQ_EV_IRQ_ACCEPT) {
		/* The sender's thread, not the target's: the target is the apicid. */
		return vcpu != NQ_VCPU_UNKNOWN ? vcpu : ev->accept.apicid;
	}
	if (vcpu != NQ_VCPU_UNKNOWN) {
		tid_map_learn(&e->tids, ev->h.tgid, ev->h.tid, vcpu);
		return vcpu;
	}
	vcpu = tid_map_lookup(&e->tids, ev->h.tgid, ev->h.tid);
	if (vcpu == NQ_VCPU_UNKNOWN)
		e->stats.unresolved_vcpu++;
	return vcpu;
}

void nq_engine_feed(struct nq_engine *e, const struct nq_event *ev)
{
	struct vcpu_state *s;
	unsigned int kind = ev->h.kind;

	e->stats.events++;
	if (kind == NQ_EV_NONE || kind >= NQ_EV__MAX) {
		e->stats.unknown_kind++;
		return;
	}
	e->stats.by_kind[kind]++;

	switch (kind) {
	case NQ_EV_LOST:
		e->stats.lost += ev->lost.count;
		vcpu_table_for_each(&e->vcpus, abort_all, e);
		return;
	case NQ_EV_HW_NESTED_VMEXIT:
		count_reason(e->stats.hw_exit_reasons, ev->hw_exit.reason);
		resolve_vcpu(e, ev);
		return;
	case NQ_EV_SVM_INTR_EXIT:
		resolve_vcpu(e, ev);
		return;
	default:
		break;
	}

	s = vcpu_table_get(&e->vcpus, ev->h.tgid, resolve_vcpu(e, ev), on_evict, e);
	if (ev->h.ts_ns < s->last_ts)
		e->stats.out_of_order++;
	else
		s->last_ts = ev->h.ts_ns;

	switch (kind) {
	case NQ_EV_IRQ_ACCEPT:
		on_accept(e, s, ev);
		break;
	case NQ_EV_CHECK_ENTER:
		on_check_enter(e, s, ev);
		break;
	case NQ_EV_CHECK_EXIT:
		txn_close(e, s, true, ev->check_exit.ret);
		break;
	case NQ_EV_PEEK:
		on_peek(e, s, ev);
		break;
	case NQ_EV_ACK:
		on_ack(e, s, ev);
		break;
	case NQ_EV_VMEXIT_INJECT:
		on_inject(e, s, ev);
		break;
	case NQ_EV_SVI_UPDATE:
		on_svi(e, s, ev);
		break;
	case NQ_EV_VMCS_SWITCH:
		on_vmcs_switch(s, ev);
		break;
	case NQ_EV_NESTED_PI:
		on_nested_pi(s, ev);
		break;
	}
}

void nq_engine_count(struct nq_engine *e, unsigned int kind, uint64_t n)
{
	if (kind == NQ_EV_NONE || kind >= NQ_EV__MAX || kind == NQ_EV_LOST)
		return;
	e->stats.events += n;
	e->stats.by_kind[kind] += n;
}

static void close_open(struct vcpu_state *s, void *ctx)
{
	txn_close(ctx, s, false, 0);
}

void nq_engine_finish(struct nq_engine *e)
{
	vcpu_table_for_each(&e->vcpus, close_open, e);
}
