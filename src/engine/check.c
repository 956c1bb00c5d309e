// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One nested-event check (entry to return of vmx_check_nested_events) is
 * the unit of proof.  What KVM decided to report to L1 is the vector in
 * exit_int_info; the vector it acknowledged must be that one, and the ack
 * must happen with vmcs01 loaded.
 *
 * Where the decision is made differs by kernel.  6.12+ (363010e1dd0e)
 * decides at the peek (kvm_apic_has_interrupt) and passes that vector to
 * nested_vmx_vmexit(), so the peek, the report and the ack must all agree.
 * <= 6.11 only asks whether an interrupt is pending; nested_vmx_vmexit()
 * then acks the highest vector of that moment and reports it, as hardware
 * ack-on-exit would: a peek that differs from the ack there is the race
 * window the seed commit closed on newer kernels, counted and reported as
 * information, never as a violation.
 */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"

#define EBUSY_ERRNO 16
/*
 * The accept tracepoint fires before IRR is written, and records of
 * different CPUs are stamped by different clocks' reads: look this far
 * before the check for the accept that raced it.
 */
#define RACE_SLACK_NS 20000ull

enum decision_flow {
	FLOW_UNKNOWN = 0,
	FLOW_DECIDES_AT_PEEK, /* 6.12+ */
	FLOW_ACKS_AT_EXIT,    /* <= 6.11 */
};

static bool is_vmx_ext_intr_exit(uint64_t exit_code)
{
	/* Basic exit reason in bits 15:0; bit 27 (SGX enclave) may ride along. */
	return (exit_code & 0xffff) == NQ_VMX_EXIT_EXTERNAL_INTERRUPT && !(exit_code & 0x80000000u);
}

static bool is_vmx_ext_intr_inject(const struct nq_event *ev)
{
	return ev->h.isa != NQ_ISA_SVM && is_vmx_ext_intr_exit(ev->inject.exit_code);
}

static void check_reset(struct check_txn *t)
{
	memset(t, 0, sizeof(*t));
}

static enum decision_flow flow_of(const struct check_txn *t)
{
	if (t->have_peek && (t->peek.peek.flags & NQ_PEEK_F_DECIDES))
		return FLOW_DECIDES_AT_PEEK;
	if (t->n_acks && t->ack.ack.api == NQ_ACK_API_APIC_ACK)
		return FLOW_DECIDES_AT_PEEK;
	if (t->n_acks && t->ack.ack.api == NQ_ACK_API_GET_APIC_IRQ)
		return FLOW_ACKS_AT_EXIT;
	return FLOW_UNKNOWN;
}

static void add_check_evidence(struct nq_violation *v, const struct vcpu_state *s,
			       const struct check_txn *t)
{
	uint64_t from = t->enter.h.ts_ns > RACE_SLACK_NS ? t->enter.h.ts_ns - RACE_SLACK_NS : 0;
	uint64_t to = t->n_acks ? t->ack.h.ts_ns : t->inject.h.ts_ns;

	nq_evidence_add(v, &t->enter);
	nq_evidence_add(v, t->have_peek ? &t->peek : NULL);
	nq_evidence_add(v, t->n_acks ? &t->ack : NULL);
	nq_evidence_add(v, t->have_inject ? &t->inject : NULL);
	nq_evidence_add_accepts(v, s, from, to);
	if (t->n_acks && t->ack.ack.vector >= 0)
		nq_evidence_add(v, nq_irr_last_accept(s, (unsigned int)t->ack.ack.vector));
}

static void vector_finding(struct nq_engine *e, struct vcpu_state *s, const struct check_txn *t,
			   enum nq_severity sev, const char *what, int peeked, int acked,
			   int reported)
{
	struct nq_violation *v;
	int kind = sev == NQ_SEV_INFO ? (int)NQ_INFO_RACE_WINDOW : (int)NQ_V_VECTOR_MISMATCH;

	v = nq_finding_begin(e, sev, kind, s, t->n_acks ? t->ack.h.ts_ns : t->inject.h.ts_ns);
	snprintf(v->message, sizeof(v->message),
		 "%s: peeked %d, acked %d, reported to L1 %d "
		 "(-1: not observed)",
		 what, peeked, acked, reported);
	add_check_evidence(v, s, t);
	nq_finding_hold(e);
}

/*
 * The exit came from the LAPIC, not the PIC: acked, or kvm_cpu_get_extint
 * seen finding nothing.  (kvm_cpu_has_interrupt peeks the LAPIC when no
 * ExtINT is pending; one may arrive before kvm_cpu_get_extint looks.)
 */
static bool apic_exit_proven(const struct check_txn *t)
{
	return t->n_acks > 0 || (t->have_extint && t->extint.extint.vector < 0);
}

static void check_vectors(struct nq_engine *e, struct vcpu_state *s, const struct check_txn *t)
{
	enum decision_flow flow = flow_of(t);
	/* A peek that found nothing chose nothing (e.g. an ExtINT exit follows). */
	bool have_peek = t->have_peek && t->peek.peek.vector >= 0;
	bool have_ack = t->n_acks > 0;
	bool have_report = false;
	int peeked = have_peek ? t->peek.peek.vector : -1;
	int acked = have_ack ? t->ack.ack.vector : -1;
	int reported = -1;

	if (t->have_inject) {
		uint32_t info = t->inject.inject.exit_int_info;

		if ((info & NQ_INTR_INFO_VALID) && !(info & NQ_INTR_INFO_TYPE_MASK)) {
			reported = (int)(info & NQ_INTR_INFO_VECTOR_MASK);
			have_report = true;
		}
	}

	/* A PIC (ExtINT) exit: the LAPIC decided nothing, whatever it was peeked for. */
	if (have_report && t->have_extint && t->extint.extint.vector == reported && !have_ack)
		return;
	/* Every flow: what was acked is what L1 was told. */
	if (have_ack && have_report && acked != reported) {
		vector_finding(e, s, t, NQ_SEV_VIOLATION,
			       "the vector acknowledged is not the one reported to L1", peeked,
			       acked, reported);
		return;
	}
	if (flow == FLOW_DECIDES_AT_PEEK && have_peek &&
	    ((have_ack && peeked != acked) ||
	     (have_report && peeked != reported && apic_exit_proven(t)))) {
		vector_finding(e, s, t, NQ_SEV_VIOLATION,
			       "the vector decided at the peek is not the one acknowledged or "
			       "reported",
			       peeked, acked, reported);
		return;
	}
	if (flow == FLOW_DECIDES_AT_PEEK && have_peek && have_report && peeked != reported)
		e->stats.vector_unproven++; /* no ack, and the PIC not ruled out */
	else if (flow != FLOW_DECIDES_AT_PEEK && have_peek &&
		 ((have_ack && peeked != acked) || (have_report && peeked != reported))) {
		if (flow == FLOW_ACKS_AT_EXIT) {
			e->stats.race_window_hits++;
			vector_finding(e, s, t, NQ_SEV_INFO,
				       "race window (<= 6.11, hardware-faithful): a higher vector "
				       "arrived between the peek and the ack at exit",
				       peeked, acked, reported);
		} else {
			e->stats.vector_unproven++;
		}
	}
	if (have_ack && (have_report || (flow == FLOW_DECIDES_AT_PEEK && have_peek)))
		e->stats.pairs++;
}

/* I4, I5: properties of the exit reported to L1. */
static void check_reported_exit(struct nq_engine *e, struct vcpu_state *s,
				const struct check_txn *t)
{
	uint32_t info = t->inject.inject.exit_int_info;
	/* An ExtINT (PIC) vector may be below 16: only a proven LAPIC exit is held to it. */
	bool apic_sourced = apic_exit_proven(t);
	bool extint = t->have_extint && t->extint.extint.vector >= 0;
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
	} else if (apic_sourced && !extint && vector < 16) {
		why = "APIC vector below 16 reported to L1";
	}
	if (why) {
		v = nq_finding_begin(e, NQ_SEV_VIOLATION, NQ_V_INVALID_VECTOR, s,
				     t->inject.h.ts_ns);
		snprintf(v->message, sizeof(v->message), "%s: exit_int_info=0x%08x", why, info);
		nq_evidence_add(v, t->open ? &t->enter : NULL);
		nq_evidence_add(v, t->have_peek ? &t->peek : NULL);
		nq_evidence_add(v, &t->inject);
		nq_finding_hold(e);
		return;
	}
	if (!(info & NQ_INTR_INFO_VALID))
		return;
	/* ExtINT only when kvm_cpu_get_extint said so: never by elimination. */
	if (extint && (unsigned int)t->extint.extint.vector == vector)
		e->stats.extint_exits++;
	else if (!apic_sourced && !(t->have_peek && t->peek.peek.vector >= 0))
		e->stats.exits_unpaired++;
	if (pi_on && nv != 0xffff && vector == nv && !extint) {
		v = nq_finding_begin(e, NQ_SEV_VIOLATION, NQ_V_NESTED_PI_NV, s, t->inject.h.ts_ns);
		snprintf(v->message, sizeof(v->message),
			 "external-interrupt exit reported L2's posted-interrupt notification "
			 "vector 0x%02x to L1 instead of processing the posted interrupt",
			 vector);
		nq_evidence_add(v, t->open ? &t->enter : NULL);
		nq_evidence_add(v, t->have_peek ? &t->peek : NULL);
		nq_evidence_add(v, &t->inject);
		nq_finding_hold(e);
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

void nq_check_close(struct nq_engine *e, struct vcpu_state *s, bool have_ret, int ret)
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
	check_reset(t);
}

static void note_cpu(struct check_txn *t, const struct nq_event *ev)
{
	t->cpus |= 1ull << (ev->h.cpu & 63);
}

void nq_check_enter(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn *t = &s->txn;

	if (t->open) {
		e->stats.unterminated_checks++;
		nq_check_close(e, s, false, 0);
	}
	t->open = true;
	t->enter = *ev;
	t->ctls = ev->check_enter.ctls;
	t->posted_intr_nv = ev->check_enter.posted_intr_nv;
	note_cpu(t, ev);
	if (ev->check_enter.vmcs != NQ_VMCS_UNKNOWN)
		s->vmcs = ev->check_enter.vmcs;
	if (t->ctls & NQ_CTL_KNOWN) {
		s->pi_known = true;
		s->pi_enabled = t->ctls & NQ_CTL_POSTED_INTR;
		s->posted_intr_nv = ev->check_enter.posted_intr_nv;
	}
}

void nq_check_peek(struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn *t = &s->txn;

	if (ev->peek.vmcs != NQ_VMCS_UNKNOWN)
		s->vmcs = ev->peek.vmcs;
	nq_irr_context(s, ev, ev->peek.vector, ev->peek.accept_ts);
	/*
	 * Only a peek made before the exit emulation began can be the decision.
	 * On <= 6.11 kvm_get_apic_interrupt() peeks again inside the ack; that
	 * second look is what the ack takes, not a decision.
	 */
	if (!t->open || t->exit_started || (ev->peek.flags & NQ_PEEK_F_IN_ACK))
		return;
	note_cpu(t, ev);
	t->have_peek = true;
	t->peek = *ev;
}

void nq_check_extint(struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn *t = &s->txn;

	if (!t->open)
		return;
	note_cpu(t, ev);
	/* 6.12+ asks for the PIC first; a -1 there says nothing about the exit. */
	if (!t->have_extint || ev->extint.vector >= 0) {
		t->have_extint = true;
		t->extint = *ev;
	}
}

static void ack_in_vmcs02(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn *t = &s->txn;
	struct nq_violation *v;

	v = nq_finding_begin(e, NQ_SEV_VIOLATION, NQ_V_ACK_IN_VMCS02, s, ev->h.ts_ns);
	snprintf(v->message, sizeof(v->message),
		 "vector 0x%02x acknowledged while vmcs02 was loaded: SVI would be marked in "
		 "L2's VMCS, not vmcs01",
		 ev->ack.vector & 0xff);
	nq_evidence_add(v, &t->enter);
	nq_evidence_add(v, t->have_peek ? &t->peek : NULL);
	nq_evidence_add(v, s->have_switch ? &s->last_switch : NULL);
	nq_evidence_add(v, ev);
	nq_finding_hold(e);
}

void nq_check_ack(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn *t = &s->txn;
	/* The ack's own reading when the probe had one, else what switches said. */
	uint8_t vmcs = ev->ack.vmcs != NQ_VMCS_UNKNOWN ? ev->ack.vmcs : s->vmcs;
	struct nq_violation *v;

	if (ev->ack.vmcs != NQ_VMCS_UNKNOWN)
		s->vmcs = ev->ack.vmcs;
	nq_irr_context(s, ev, ev->ack.vector, ev->ack.accept_ts);
	nq_irr_ack(e, s, ev);
	if (!t->open)
		return; /* an ordinary (non-nested) injection */
	note_cpu(t, ev);
	if (t->have_peek)
		nq_hist_add(&e->stats.peek_to_ack,
			    ev->h.ts_ns >= t->peek.h.ts_ns ? ev->h.ts_ns - t->peek.h.ts_ns : 0);

	if (++t->n_acks == 1) {
		t->ack = *ev;
	} else {
		v = nq_finding_begin(e, NQ_SEV_VIOLATION, NQ_V_MULTIPLE_ACKS, s, ev->h.ts_ns);
		snprintf(v->message, sizeof(v->message),
			 "%u acks in one nested-event check (vectors 0x%02x then 0x%02x)",
			 t->n_acks, t->ack.ack.vector & 0xff, ev->ack.vector & 0xff);
		nq_evidence_add(v, &t->enter);
		nq_evidence_add(v, t->have_peek ? &t->peek : NULL);
		nq_evidence_add(v, &t->ack);
		nq_evidence_add(v, ev);
		nq_finding_hold(e);
	}
	if (vmcs == NQ_VMCS_02)
		ack_in_vmcs02(e, s, ev);
}

/* An exit reported with no open check: judge what the report alone proves. */
static void inject_alone(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn solo;

	memset(&solo, 0, sizeof(solo));
	solo.posted_intr_nv = 0xffff;
	solo.have_inject = true;
	solo.inject = *ev;
	check_reported_exit(e, s, &solo);
}

void nq_check_inject(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	struct check_txn *t = &s->txn;

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
		inject_alone(e, s, ev);
		return;
	}
	note_cpu(t, ev);
	if (t->have_inject) {
		/* Two exits in one check: close the first as its own story. */
		struct check_txn keep = *t;

		nq_check_close(e, s, false, 0);
		t->open = true;
		t->enter = keep.enter;
		t->ctls = keep.ctls;
		t->posted_intr_nv = keep.posted_intr_nv;
		t->cpus = keep.cpus;
	}
	t->have_inject = true;
	t->inject = *ev;
	t->exit_started = true;
}

void nq_check_vmcs_switch(struct vcpu_state *s, const struct nq_event *ev)
{
	s->vmcs = ev->vmcs_switch.to;
	s->have_switch = true;
	s->last_switch = *ev;
	if (s->txn.open) {
		note_cpu(&s->txn, ev);
		if (ev->vmcs_switch.to == NQ_VMCS_01)
			s->txn.exit_started = true;
	}
}
