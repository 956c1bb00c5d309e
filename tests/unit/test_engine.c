// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Engine unit tests: flows built event by event, plus robustness properties. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "nestirq/engine.h"

#define VM   100
#define TID0 110

static uint64_t now;
static unsigned int seen;
static unsigned int infos;
static struct nq_violation last_info;
/* The API the ack probe reports: which flow the kernel has. */
static uint8_t ack_api = NQ_ACK_API_UNKNOWN;
/* What L1's vmcs12 says, as the check-entry probe reads it. */
static uint8_t enter_ctls = NQ_CTL_KNOWN | NQ_CTL_EXIT_ON_INTR | NQ_CTL_ACK_ON_EXIT;
static uint16_t enter_nv = 0xffff;
static struct nq_violation last;

static void collect(const struct nq_violation *v, void *ctx)
{
	(void)ctx;
	seen++;
	last = *v;
}

static void collect_info(const struct nq_violation *v, void *ctx)
{
	(void)ctx;
	infos++;
	last_info = *v;
}

static struct nq_engine *fresh(unsigned int max_vcpus)
{
	struct nq_engine_config cfg = {
		.max_vcpus = max_vcpus, .on_violation = collect, .on_info = collect_info};

	now = 1000;
	seen = 0;
	infos = 0;
	ack_api = NQ_ACK_API_UNKNOWN;
	memset(&last_info, 0, sizeof(last_info));
	enter_ctls = NQ_CTL_KNOWN | NQ_CTL_EXIT_ON_INTR | NQ_CTL_ACK_ON_EXIT;
	enter_nv = 0xffff;
	memset(&last, 0, sizeof(last));
	return nq_engine_new(&cfg);
}

/* The live loop's rhythm: one event, then the sync point that delivers findings. */
static void feed(struct nq_engine *e, const struct nq_event *ev)
{
	nq_engine_feed(e, ev);
	nq_engine_sync(e);
}

static struct nq_event mk(uint8_t kind, uint32_t vm, uint32_t vcpu)
{
	struct nq_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.h.ts_ns = now += 100;
	ev.h.kind = kind;
	ev.h.tgid = vm;
	ev.h.tid = vm + 10 + (vcpu == NQ_VCPU_UNKNOWN ? 0 : vcpu);
	ev.h.vcpu_id = vcpu;
	ev.h.isa = NQ_ISA_VMX;
	return ev;
}

static void accept(struct nq_engine *e, uint32_t vm, uint32_t vcpu, int vec)
{
	struct nq_event ev = mk(NQ_EV_IRQ_ACCEPT, vm, vcpu);

	ev.h.tid = vm + 1; /* the sender, not the vCPU thread */
	ev.accept.apicid = vcpu;
	ev.accept.vector = (uint8_t)vec;
	feed(e, &ev);
}

static void enter(struct nq_engine *e, uint32_t vm, uint32_t vcpu)
{
	struct nq_event ev = mk(NQ_EV_CHECK_ENTER, vm, vcpu);

	ev.check_enter.vmcs = NQ_VMCS_02;
	ev.check_enter.ctls = enter_ctls;
	ev.check_enter.posted_intr_nv = enter_nv;
	feed(e, &ev);
}

static void leave(struct nq_engine *e, uint32_t vm, uint32_t vcpu, int ret)
{
	struct nq_event ev = mk(NQ_EV_CHECK_EXIT, vm, vcpu);

	ev.check_exit.ret = ret;
	feed(e, &ev);
}

static void peek(struct nq_engine *e, uint32_t vm, uint32_t vcpu, int vec, uint8_t flags)
{
	struct nq_event ev = mk(NQ_EV_PEEK, vm, vcpu);

	ev.peek.vector = vec;
	ev.peek.flags = flags;
	feed(e, &ev);
}

static void ack(struct nq_engine *e, uint32_t vm, uint32_t vcpu, int vec, uint8_t vmcs)
{
	struct nq_event ev = mk(NQ_EV_ACK, vm, vcpu);

	ev.ack.vector = vec;
	ev.ack.vmcs = vmcs;
	ev.ack.api = ack_api;
	feed(e, &ev);
}

static void switch_to(struct nq_engine *e, uint32_t vm, uint32_t vcpu, uint8_t vmcs)
{
	struct nq_event ev = mk(NQ_EV_VMCS_SWITCH, vm, vcpu);

	ev.vmcs_switch.to = vmcs;
	feed(e, &ev);
}

/* The inject tracepoint has no vCPU: the engine must find it from the thread. */
static void inject(struct nq_engine *e, uint32_t vm, uint32_t vcpu, uint32_t info)
{
	struct nq_event ev = mk(NQ_EV_VMEXIT_INJECT, vm, vcpu);

	ev.h.vcpu_id = NQ_VCPU_UNKNOWN;
	ev.inject.exit_code = NQ_VMX_EXIT_EXTERNAL_INTERRUPT;
	ev.inject.exit_int_info = info;
	feed(e, &ev);
}

/* One 6.12+ nested exit: peek, switch, report, ack. */
static void exit_612(struct nq_engine *e, uint32_t vm, uint32_t vcpu, int peeked, int acked)
{
	enter(e, vm, vcpu);
	peek(e, vm, vcpu, peeked, 0);
	switch_to(e, vm, vcpu, NQ_VMCS_01);
	inject(e, vm, vcpu, NQ_INTR_INFO_VALID | (uint32_t)peeked);
	ack(e, vm, vcpu, acked, NQ_VMCS_01);
	leave(e, vm, vcpu, 0);
}

static void test_clean_612_pairs(void)
{
	struct nq_engine *e = fresh(0);

	CHECK(e);
	for (int i = 0; i < 100; i++) {
		accept(e, VM, 0, 0x30 + (i % 16));
		exit_612(e, VM, 0, 0x30 + (i % 16), 0x30 + (i % 16));
	}
	nq_engine_finish(e);
	CHECK_EQ(nq_engine_stats(e)->pairs, 100);
	CHECK_EQ(nq_engine_stats(e)->violations, 0);
	CHECK_EQ(nq_engine_stats(e)->unresolved_vcpu, 0);
	CHECK_EQ(nq_engine_stats(e)->accept_to_ack.count, 100);
	CHECK_EQ(nq_engine_stats(e)->peek_to_ack.count, 100);
	nq_engine_free(e);
}

static void test_mismatch_612_ack_differs(void)
{
	struct nq_engine *e = fresh(0);

	accept(e, VM, 0, 0x31);
	accept(e, VM, 0, 0x41);
	exit_612(e, VM, 0, 0x31, 0x41);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_VECTOR_MISMATCH);
	CHECK_EQ(last.tgid, VM);
	CHECK_EQ(last.vcpu_id, 0);
	CHECK_STR_CONTAINS(last.message, "peeked 49, acked 65");
	nq_engine_free(e);
}

/*
 * <= 6.11 decides nothing at the peek: nested_vmx_vmexit() acks and reports
 * the highest vector at exit time, as hardware does.  A higher vector that
 * arrives in between is the race window, an informational finding, never a
 * violation; the peek inside the ack is not the check's peek.
 */
static void test_race_window_611_is_info(void)
{
	struct nq_engine *e = fresh(0);

	ack_api = NQ_ACK_API_GET_APIC_IRQ;
	accept(e, VM, 0, 0x31);
	enter(e, VM, 0);
	peek(e, VM, 0, 0x31, 0);
	accept(e, VM, 0, 0x41);
	switch_to(e, VM, 0, NQ_VMCS_01);
	peek(e, VM, 0, 0x41, 0); /* no IN_ACK flag: position alone must tell */
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x41);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 0);
	CHECK_EQ(infos, 1);
	CHECK_EQ(last_info.severity, NQ_SEV_INFO);
	CHECK_EQ(last_info.kind, NQ_INFO_RACE_WINDOW);
	CHECK_EQ(nq_engine_stats(e)->race_window_hits, 1);
	CHECK_EQ(nq_engine_stats(e)->by_info[NQ_INFO_RACE_WINDOW], 1);
	CHECK_EQ(nq_engine_stats(e)->violations, 0);
	/* Acked == reported: the pair is right, the race was hardware's. */
	CHECK_EQ(nq_engine_stats(e)->pairs, 1);
	/* The racing accept is part of the evidence. */
	int found = 0;
	for (unsigned int i = 0; i < last_info.n_evidence; i++)
		if (last_info.evidence[i].h.kind == NQ_EV_IRQ_ACCEPT &&
		    last_info.evidence[i].accept.vector == 0x41)
			found = 1;
	CHECK(found);
	/* Evidence is in time order. */
	for (unsigned int i = 1; i < last_info.n_evidence; i++)
		CHECK(last_info.evidence[i - 1].h.ts_ns <= last_info.evidence[i].h.ts_ns);
	nq_engine_free(e);
}

/* 6.12+: the peek is the decision; acking another vector is the seed commit's bug. */
static void test_toctou_612_decided_then_acked_other(void)
{
	struct nq_engine *e = fresh(0);

	ack_api = NQ_ACK_API_APIC_ACK;
	accept(e, VM, 0, 0x41);
	enter(e, VM, 0);
	peek(e, VM, 0, 0x41, NQ_PEEK_F_DECIDES);
	accept(e, VM, 0, 0x92);
	switch_to(e, VM, 0, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x41);
	ack(e, VM, 0, 0x92, NQ_VMCS_01);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_VECTOR_MISMATCH);
	CHECK_EQ(last.severity, NQ_SEV_VIOLATION);
	CHECK_EQ(infos, 0);
	nq_engine_free(e);
}

/*
 * Without the ack probe, a 6.12+ peek that differs from the report is proof
 * once kvm_cpu_get_extint was seen finding no PIC interrupt: an ExtINT that
 * arrives after the peek would be reported instead, legitimately.
 */
static void test_612_decision_differs_from_report(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event x;

	enter(e, VM, 0);
	peek(e, VM, 0, 0x41, NQ_PEEK_F_DECIDES);
	switch_to(e, VM, 0, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x92);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 0); /* the PIC not ruled out */
	CHECK_EQ(nq_engine_stats(e)->vector_unproven, 1);
	enter(e, VM, 0);
	peek(e, VM, 0, 0x41, NQ_PEEK_F_DECIDES);
	x = mk(NQ_EV_EXTINT, VM, 0);
	x.extint.vector = -1;
	feed(e, &x);
	switch_to(e, VM, 0, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x92);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_VECTOR_MISMATCH);
	/* On a kernel whose flow is unknown (no flag, no ack): counted only. */
	enter(e, VM, 0);
	peek(e, VM, 0, 0x41, 0);
	switch_to(e, VM, 0, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x92);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 1);
	CHECK_EQ(nq_engine_stats(e)->vector_unproven, 2);
	nq_engine_free(e);
}

/*
 * The accept tracepoint fires before IRR is written, and CPUs stamp their
 * records with separate clock reads: an accept stamped just before the
 * peek is still the racing one.
 */
static void test_racing_accept_stamped_before_peek(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event ev;

	ack_api = NQ_ACK_API_GET_APIC_IRQ;
	accept(e, VM, 0, 0x31);
	enter(e, VM, 0);
	ev = mk(NQ_EV_IRQ_ACCEPT, VM, 0);
	ev.h.tid = VM + 1;
	ev.accept.apicid = 0;
	ev.accept.vector = 0x41;
	ev.h.ts_ns = now + 95; /* the peek below is stamped now + 100 */
	nq_engine_feed(e, &ev);
	peek(e, VM, 0, 0x31, 0);
	switch_to(e, VM, 0, NQ_VMCS_01);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x41);
	leave(e, VM, 0, 0);
	CHECK_EQ(infos, 1);
	int found = 0;
	for (unsigned int i = 0; i < last_info.n_evidence; i++)
		if (last_info.evidence[i].h.kind == NQ_EV_IRQ_ACCEPT &&
		    last_info.evidence[i].accept.vector == 0x41)
			found = 1;
	CHECK(found);
	nq_engine_free(e);
}

static void test_report_differs_from_ack(void)
{
	struct nq_engine *e = fresh(0);

	accept(e, VM, 0, 0x31);
	enter(e, VM, 0);
	switch_to(e, VM, 0, NQ_VMCS_01);
	ack(e, VM, 0, 0x31, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x32);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_VECTOR_MISMATCH);
	nq_engine_free(e);
}

static void test_ack_in_vmcs02_from_switch_state(void)
{
	struct nq_engine *e = fresh(0);

	/* The ack probe could not read loaded_vmcs: the switch events decide. */
	switch_to(e, VM, 0, NQ_VMCS_02);
	accept(e, VM, 0, 0x31);
	enter(e, VM, 0);
	peek(e, VM, 0, 0x31, 0);
	ack(e, VM, 0, 0x31, NQ_VMCS_UNKNOWN);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_ACK_IN_VMCS02);
	switch_to(e, VM, 0, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x31);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 1);
	nq_engine_free(e);
}

/* An ordinary injection into L2 while vmcs02 is loaded is not a nested-exit ack. */
static void test_ack_outside_check_not_flagged(void)
{
	struct nq_engine *e = fresh(0);

	switch_to(e, VM, 0, NQ_VMCS_02);
	accept(e, VM, 0, 0x31);
	ack(e, VM, 0, 0x31, NQ_VMCS_02);
	CHECK_EQ(seen, 0);
	nq_engine_free(e);
}

static void test_busy_peek_not_flagged(void)
{
	struct nq_engine *e = fresh(0);

	accept(e, VM, 0, 0x31);
	enter(e, VM, 0);
	peek(e, VM, 0, 0x31, 0);
	leave(e, VM, 0, -16);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->busy_peeks, 1);
	nq_engine_free(e);
}

static void test_multiple_acks(void)
{
	struct nq_engine *e = fresh(0);

	accept(e, VM, 0, 0x31);
	accept(e, VM, 0, 0x32);
	enter(e, VM, 0);
	peek(e, VM, 0, 0x32, 0);
	ack(e, VM, 0, 0x32, NQ_VMCS_01);
	ack(e, VM, 0, 0x31, NQ_VMCS_01);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_MULTIPLE_ACKS);
	nq_engine_free(e);
}

/*
 * IRR fills from sources no probe sees (IPIv, VT-d posted interrupts,
 * KVM_SET_LAPIC): an ack with no accept since the previous one is counted,
 * never a violation.
 */
static void test_ack_without_accept_is_counted(void)
{
	struct nq_engine *e = fresh(0);

	/* Never seen accepted: no verdict (tracing may have started late). */
	ack(e, VM, 0, 0x40, NQ_VMCS_01);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->acks_unknown_irr, 1);
	accept(e, VM, 0, 0x41);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->acks_not_pending, 1);
	nq_engine_free(e);
}

/* Event ABI 3: the ack carries the kernel's IRR history; no accept is streamed. */
static void ack_v3(struct nq_engine *e, int vec, uint8_t irr, uint64_t accept_ts)
{
	struct nq_event ev = mk(NQ_EV_ACK, VM, 0);

	ev.ack.vector = vec;
	ev.ack.vmcs = NQ_VMCS_01;
	ev.ack.api = ack_api;
	ev.ack.irr = irr;
	ev.ack.accept_ts = accept_ts;
	feed(e, &ev);
}

static void test_abi3_ack_irr_from_kernel(void)
{
	struct nq_engine *e = fresh(0);

	ack_v3(e, 0x40, NQ_ACK_IRR_NEVER, 0);
	CHECK_EQ(nq_engine_stats(e)->acks_unknown_irr, 1);
	ack_v3(e, 0x41, NQ_ACK_IRR_PENDING, now - 50);
	CHECK_EQ(nq_engine_stats(e)->acks_not_pending, 0);
	CHECK_EQ(nq_engine_stats(e)->accept_to_ack.count, 1);
	CHECK_EQ(nq_engine_stats(e)->accept_to_ack.max_ns, 150);
	ack_v3(e, 0x41, NQ_ACK_IRR_NOT_PENDING, 0);
	CHECK_EQ(nq_engine_stats(e)->acks_not_pending, 1);
	CHECK_EQ(nq_engine_stats(e)->accept_to_ack.count, 1);
	CHECK_EQ(seen, 0);
	nq_engine_free(e);
}

/*
 * The accept that raced a 6.12 check is not streamed (it came before the
 * check opened): the ack's accept_ts brings it back as evidence.
 */
static void test_abi3_evidence_from_accept_ts(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event ev;
	uint64_t t41;
	int found = 0;

	enter(e, VM, 0);
	ev = mk(NQ_EV_PEEK, VM, 0);
	ev.peek.vector = 0x31;
	ev.peek.accept_ts = now - 500;
	feed(e, &ev);
	switch_to(e, VM, 0, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x31);
	t41 = now - 10;
	ack_v3(e, 0x41, NQ_ACK_IRR_PENDING, t41);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_VECTOR_MISMATCH);
	for (unsigned int i = 0; i < last.n_evidence; i++) {
		const struct nq_event *a = &last.evidence[i];

		if (a->h.kind == NQ_EV_IRQ_ACCEPT && a->accept.vector == 0x41 &&
		    a->h.ts_ns == t41 && (a->accept.flags & NQ_ACCEPT_F_KERNEL_CONTEXT))
			found = 1;
	}
	CHECK(found);
	nq_engine_free(e);
}

/* Counted records move the counters exactly as the records would have. */
static void test_count_records(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event ev = mk(NQ_EV_COUNT, 0, NQ_VCPU_UNKNOWN);

	ev.count.kind = NQ_EV_HW_NESTED_VMEXIT;
	ev.count.reason = NQ_VMX_EXIT_EXTERNAL_INTERRUPT;
	ev.count.n = 25679;
	feed(e, &ev);
	ev.count.reason = 0x400; /* SVM NPF: beyond the table, the last slot */
	ev.count.n = 3;
	feed(e, &ev);
	ev.count.kind = NQ_EV_IRQ_ACCEPT;
	ev.count.reason = NQ_COUNT_REASON_ANY;
	ev.count.n = 1000000;
	feed(e, &ev);
	ev.count.kind = NQ_EV__MAX; /* corrupt: skipped, counted */
	feed(e, &ev);
	CHECK_EQ(nq_engine_stats(e)->by_kind[NQ_EV_HW_NESTED_VMEXIT], 25682);
	CHECK_EQ(nq_engine_stats(e)->hw_exit_reasons[NQ_VMX_EXIT_EXTERNAL_INTERRUPT], 25679);
	CHECK_EQ(nq_engine_stats(e)->hw_exit_reasons[NQ_EXIT_REASONS - 1], 3);
	CHECK_EQ(nq_engine_stats(e)->by_kind[NQ_EV_IRQ_ACCEPT], 1000000);
	CHECK_EQ(nq_engine_stats(e)->counted, 1025682);
	CHECK_EQ(nq_engine_stats(e)->by_kind[NQ_EV_COUNT], 4);
	CHECK_EQ(nq_engine_stats(e)->unknown_kind, 1);
	CHECK_EQ(nq_engine_stats(e)->unresolved_vcpu, 0);
	nq_engine_free(e);
}

/* One event never yields two findings: a double ack is multiple_acks only. */
static void test_double_ack_one_finding(void)
{
	struct nq_engine *e = fresh(0);

	accept(e, VM, 0, 0x31);
	enter(e, VM, 0);
	peek(e, VM, 0, 0x31, 0);
	switch_to(e, VM, 0, NQ_VMCS_01);
	ack(e, VM, 0, 0x31, NQ_VMCS_01);
	ack(e, VM, 0, 0x31, NQ_VMCS_01);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_MULTIPLE_ACKS);
	CHECK_EQ(nq_engine_stats(e)->acks_not_pending, 1);
	nq_engine_free(e);
}

/* INIT, SIPI, NMI and ExtINT deliveries carry a vector field but set no IRR bit. */
static void test_non_fixed_delivery_marks_nothing(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event ev = mk(NQ_EV_IRQ_ACCEPT, VM, 0);

	ev.h.tid = VM + 1;
	ev.accept.vector = 0x41;
	ev.accept.delivery_mode = 0x500; /* INIT */
	feed(e, &ev);
	ev.accept.delivery_mode = 0x600; /* SIPI */
	feed(e, &ev);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	CHECK_EQ(nq_engine_stats(e)->accepts_not_fixed, 2);
	CHECK_EQ(nq_engine_stats(e)->acks_unknown_irr, 1);
	ev.accept.delivery_mode = 0x100; /* lowest priority: a real IRR bit */
	feed(e, &ev);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	CHECK_EQ(nq_engine_stats(e)->acks_unknown_irr, 1);
	CHECK_EQ(nq_engine_stats(e)->accepts_not_fixed, 2);
	nq_engine_free(e);
}

/* Lost events mean lost accepts: the engine must not then cry ack_not_accepted. */
static void test_lost_events_reset_history(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event lost = mk(NQ_EV_LOST, 0, NQ_VCPU_UNKNOWN);

	accept(e, VM, 0, 0x41);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	lost.lost.count = 7;
	feed(e, &lost);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->lost, 7);
	nq_engine_free(e);
}

static void test_svi_written_in_vmcs02(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event svi = mk(NQ_EV_SVI_UPDATE, VM, 0);

	svi.svi.max_isr = 0x31;
	svi.svi.vmcs = NQ_VMCS_02;
	feed(e, &svi);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_SVI_IN_VMCS02);
	svi.svi.outcome = NQ_SVI_DEFERRED;
	feed(e, &svi);
	svi.svi.outcome = NQ_SVI_WRITTEN;
	svi.svi.origin = NQ_SVI_ORIGIN_L2_STATE;
	feed(e, &svi);
	svi.svi.origin = NQ_SVI_ORIGIN_L1_ISR;
	svi.svi.vmcs = NQ_VMCS_01;
	feed(e, &svi);
	CHECK_EQ(seen, 1);
	CHECK_EQ(nq_engine_stats(e)->svi_deferred, 1);
	CHECK_EQ(nq_engine_stats(e)->svi_l2_state, 1);
	nq_engine_free(e);
}

/* ---- SVI: judged at the return, from what the kernel did ---- */

static void svi_entry(struct nq_engine *e, uint8_t vmcs, uint8_t guest_mode)
{
	struct nq_event ev = mk(NQ_EV_SVI_UPDATE, VM, 0);

	ev.svi.max_isr = 0x31;
	ev.svi.vmcs = vmcs;
	ev.svi.guest_mode = guest_mode;
	ev.svi.flags = NQ_SVI_F_AWAIT_RETURN;
	feed(e, &ev);
}

static void svi_return(struct nq_engine *e, uint8_t vmcs, uint8_t pending, uint8_t loads01)
{
	struct nq_event ev = mk(NQ_EV_SVI_RETURN, VM, 0);

	ev.svi_ret.vmcs = vmcs;
	ev.svi_ret.update_pending = pending;
	ev.svi_ret.loads01 = loads01;
	feed(e, &ev);
}

static void switch_apicv(struct nq_engine *e, uint8_t vmcs, uint8_t apicv)
{
	struct nq_event ev = mk(NQ_EV_VMCS_SWITCH, VM, 0);

	ev.vmcs_switch.to = vmcs;
	ev.vmcs_switch.apicv_active = apicv;
	feed(e, &ev);
}

/*
 * 7.x: guard(vmx_vmcs01) enters with vmcs02 while L2 runs, loads vmcs01,
 * writes, loads vmcs02 back.  The order seen on Debian's 7.3.4: svi_update
 * vmcs=02, vmcs_switch to=01, vmcs_switch to=02.  Not a violation.
 */
static void test_svi_7x_guard_is_vmcs01(void)
{
	struct nq_engine *e = fresh(0);

	svi_entry(e, NQ_VMCS_02, 1);
	switch_apicv(e, NQ_VMCS_01, 1);
	switch_apicv(e, NQ_VMCS_02, 1);
	svi_return(e, NQ_VMCS_02, NQ_BOOL_UNKNOWN, NQ_BOOL_UNKNOWN);
	CHECK_EQ(seen, 0);
	/* The same, counted by the BPF side with no switch record in the stream. */
	svi_entry(e, NQ_VMCS_02, 1);
	svi_return(e, NQ_VMCS_02, NQ_BOOL_UNKNOWN, 1);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->svi_guarded, 2);
	nq_engine_free(e);
}

/* 7.x without the guard (the v1 regression's and Chao Gao's shape): caught. */
static void test_svi_7x_without_guard_caught(void)
{
	struct nq_engine *e = fresh(0);

	svi_entry(e, NQ_VMCS_02, 1);
	CHECK_EQ(seen, 0); /* judged at the return, not at entry */
	svi_return(e, NQ_VMCS_02, NQ_BOOL_UNKNOWN, 0);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_SVI_IN_VMCS02);
	nq_engine_free(e);
}

/*
 * Event ABI 1 recorders had no return probe.  The 7.x guard's load of
 * vmcs01 while still in guest mode, as the thread's next record, says the
 * write went to vmcs01; the nested VM-exit's load (guest mode already left)
 * does not, which is how the v1 regression looks.
 */
static void test_svi_abi1_guard_seen_by_next_record(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event svi = mk(NQ_EV_SVI_UPDATE, VM, 0), sw;

	svi.svi.max_isr = -1;
	svi.svi.vmcs = NQ_VMCS_02;
	svi.svi.guest_mode = 1;
	feed(e, &svi);
	sw = mk(NQ_EV_VMCS_SWITCH, VM, 0);
	sw.vmcs_switch.to = NQ_VMCS_01;
	sw.vmcs_switch.guest_mode = 1;
	feed(e, &sw);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->svi_guarded, 1);
	/* The v1 regression: the load of vmcs01 comes after leave_guest_mode(). */
	svi.h.ts_ns = now += 100;
	feed(e, &svi);
	sw.h.ts_ns = now += 100;
	sw.vmcs_switch.guest_mode = 0;
	feed(e, &sw);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_SVI_IN_VMCS02);
	/* Waiting at the end of the stream: judged as written. */
	svi.h.ts_ns = now += 100;
	feed(e, &svi);
	nq_engine_finish(e);
	CHECK_EQ(seen, 2);
	nq_engine_free(e);
}

/* 6.14 to 6.19: deferred while L2 runs, applied after vmcs01 is loaded at exit. */
static void test_svi_deferral_applied(void)
{
	struct nq_engine *e = fresh(0);

	svi_entry(e, NQ_VMCS_02, 1);
	svi_return(e, NQ_VMCS_02, 1, 0);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->svi_deferred, 1);
	switch_apicv(e, NQ_VMCS_01, 1);
	svi_entry(e, NQ_VMCS_01, 0); /* __nested_vmx_vmexit() refreshes SVI */
	svi_return(e, NQ_VMCS_01, 0, 0);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x31);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->svi_deferred_applied, 1);
	nq_engine_free(e);
}

/* A deferral that never reaches vmcs01 leaves L1 with a stale SVI. */
static void test_svi_deferral_lost_caught(void)
{
	struct nq_engine *e = fresh(0);

	svi_entry(e, NQ_VMCS_02, 1);
	svi_return(e, NQ_VMCS_02, 1, 0);
	switch_apicv(e, NQ_VMCS_01, 1);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x31);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_SVI_DEFERRED_LOST);
	/* APICv off at the exit: KVM rightly skips the update; unknown: counted. */
	svi_entry(e, NQ_VMCS_02, 1);
	svi_return(e, NQ_VMCS_02, 1, 0);
	switch_apicv(e, NQ_VMCS_01, 0);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x31);
	svi_entry(e, NQ_VMCS_02, 1);
	svi_return(e, NQ_VMCS_02, 1, 0);
	switch_apicv(e, NQ_VMCS_01, NQ_BOOL_UNKNOWN);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x31);
	CHECK_EQ(seen, 1);
	CHECK_EQ(nq_engine_stats(e)->svi_deferred_unverified, 1);
	nq_engine_free(e);
}

/* ---- losses never become verdicts ---- */

static void lost_on(struct nq_engine *e, uint16_t cpu, uint64_t n, bool sync)
{
	struct nq_event ev = mk(NQ_EV_LOST, 0, NQ_VCPU_UNKNOWN);

	ev.h.cpu = cpu;
	ev.lost.count = n;
	nq_engine_feed(e, &ev);
	if (sync)
		nq_engine_sync(e);
}

/* A marker placed after the records it concerns withholds what they proved. */
static void test_loss_withholds_held_findings(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event ev = mk(NQ_EV_SVI_UPDATE, VM, 0);

	ev.svi.vmcs = NQ_VMCS_02; /* event ABI 1: judged at entry */
	nq_engine_feed(e, &ev);
	CHECK_EQ(seen, 0);
	lost_on(e, 1, 3, true);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->unproven_after_loss, 1);
	CHECK_EQ(nq_engine_stats(e)->violations, 0);
	nq_engine_free(e);
}

static uint64_t order_last;
static unsigned int order_bad, order_seen;

static void collect_order(const struct nq_violation *v, void *ctx)
{
	(void)ctx;
	order_bad += v->ts_ns <= order_last;
	order_last = v->ts_ns;
	order_seen++;
}

/* More findings than the held ring keeps between sync points: all delivered, oldest first. */
static void test_held_findings_overflow_in_order(void)
{
	struct nq_engine_config cfg = {.on_violation = collect_order};
	struct nq_engine *e = nq_engine_new(&cfg);
	struct nq_event ev;

	CHECK(e);
	order_last = 0;
	order_bad = order_seen = 0;
	now = 1000;
	for (int i = 0; i < 1300; i++) {
		ev = mk(NQ_EV_SVI_UPDATE, VM, 0);
		ev.svi.vmcs = NQ_VMCS_02; /* event ABI 1: judged at entry */
		nq_engine_feed(e, &ev);
	}
	CHECK(order_seen > 0); /* the ring is bounded: the oldest went out early */
	nq_engine_finish(e);
	CHECK_EQ(order_seen, 1300);
	CHECK_EQ(order_bad, 0);
	CHECK_EQ(nq_engine_stats(e)->violations, 1300);
	nq_engine_free(e);
}

static void enter_on(struct nq_engine *e, uint32_t vcpu, uint16_t cpu)
{
	struct nq_event ev = mk(NQ_EV_CHECK_ENTER, VM, vcpu);

	ev.h.cpu = cpu;
	ev.check_enter.vmcs = NQ_VMCS_02;
	ev.check_enter.ctls = enter_ctls;
	ev.check_enter.posted_intr_nv = 0xffff;
	feed(e, &ev);
}

/* Only the checks that ran on the CPU that dropped are broken. */
static void test_loss_drops_only_its_cpu(void)
{
	struct nq_engine *e = fresh(0);

	accept(e, VM, 0, 0x31);
	accept(e, VM, 1, 0x31);
	enter_on(e, 0, 0);
	enter_on(e, 1, 1);
	lost_on(e, 1, 2, true);
	CHECK_EQ(nq_engine_stats(e)->checks_dropped_by_loss, 1);
	/* vCPU 0's check survives and still proves its mismatch. */
	switch_to(e, VM, 0, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x31);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.vcpu_id, 0);
	/* vCPU 1's IRR history is kept: its ack of 0x31 is known. */
	uint64_t unknown = nq_engine_stats(e)->acks_unknown_irr;
	ack(e, VM, 1, 0x31, NQ_VMCS_01);
	CHECK_EQ(nq_engine_stats(e)->acks_unknown_irr, unknown);
	/* A marker for every CPU (missed kretprobes) breaks every open check. */
	enter_on(e, 0, 0);
	enter_on(e, 1, 1);
	lost_on(e, NQ_CPU_ALL, 1, true);
	CHECK_EQ(nq_engine_stats(e)->checks_dropped_by_loss, 3);
	nq_engine_free(e);
}

/* ---- the VM is the key, the pid a label ---- */

static struct nq_event in_vm(struct nq_event ev, uint32_t vm_id)
{
	ev.vm_id = vm_id;
	return ev;
}

/* One process hosting two VMs: their vCPU 0s never mix. */
static void test_two_vms_in_one_process(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event ev;

	ev = in_vm(mk(NQ_EV_CHECK_ENTER, VM, 0), 7);
	ev.check_enter.ctls = enter_ctls;
	ev.check_enter.posted_intr_nv = 0xffff;
	feed(e, &ev);
	ev = in_vm(mk(NQ_EV_CHECK_ENTER, VM, 0), 8);
	ev.h.tid = VM + 50; /* another thread: the other VM's vCPU 0 */
	ev.check_enter.ctls = enter_ctls;
	ev.check_enter.posted_intr_nv = 0xffff;
	feed(e, &ev);
	ev = in_vm(mk(NQ_EV_ACK, VM, 0), 7);
	ev.ack.vector = 0x31;
	ev.ack.vmcs = NQ_VMCS_01;
	feed(e, &ev);
	/* VM 8's exit reports 0x41: it must not be paired with VM 7's ack of 0x31. */
	ev = mk(NQ_EV_VMEXIT_INJECT, VM, NQ_VCPU_UNKNOWN);
	ev.h.tid = VM + 50;
	ev.inject.exit_code = NQ_VMX_EXIT_EXTERNAL_INTERRUPT;
	ev.inject.exit_int_info = NQ_INTR_INFO_VALID | 0x41;
	feed(e, &ev);
	nq_engine_finish(e);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->unresolved_vcpu, 0);
	/* An accept from a non-vCPU thread of that process cannot be placed. */
	ev = mk(NQ_EV_IRQ_ACCEPT, VM, 0);
	ev.h.tid = VM + 99;
	ev.accept.vector = 0x31;
	feed(e, &ev);
	CHECK_EQ(nq_engine_stats(e)->accepts_unattributed, 1);
	nq_engine_free(e);
}

/* A VM that exits takes its history along: a new VM reusing the pid starts afresh. */
static void test_vm_gone_forgets_history(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event gone = mk(NQ_EV_VM_GONE, VM, NQ_VCPU_UNKNOWN);

	accept(e, VM, 0, 0x41);
	gone.vm_gone.tgid = VM;
	feed(e, &gone);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	CHECK_EQ(nq_engine_stats(e)->vms_gone, 1);
	CHECK_EQ(nq_engine_stats(e)->acks_unknown_irr, 1);
	CHECK_EQ(nq_engine_stats(e)->acks_not_pending, 0);
	nq_engine_free(e);
}

/* ---- the exit reported to L1 ---- */

/* ExtINT only when kvm_cpu_get_extint said so; an unexplained exit is just counted. */
static void test_extint_classified_positively(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event ev;

	enter(e, VM, 0);
	ev = mk(NQ_EV_EXTINT, VM, 0);
	ev.extint.vector = 0x08;
	feed(e, &ev);
	switch_to(e, VM, 0, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x08);
	leave(e, VM, 0, 0);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x30); /* no open check: attached mid-flight */
	CHECK_EQ(seen, 0);
	/* A LAPIC peek in the same check does not make the PIC's exit a mismatch. */
	enter(e, VM, 0);
	peek(e, VM, 0, 0x41, NQ_PEEK_F_DECIDES);
	ev = mk(NQ_EV_EXTINT, VM, 0);
	ev.extint.vector = 0x08;
	feed(e, &ev);
	switch_to(e, VM, 0, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x08);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->extint_exits, 2);
	CHECK_EQ(nq_engine_stats(e)->exits_unpaired, 1);
	nq_engine_free(e);
}

/* Bit 27 of the exit reason (exit from an SGX enclave) must not hide the basic reason. */
static void test_sgx_enclave_bit_keeps_ext_intr(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event ev;

	accept(e, VM, 0, 0x31);
	enter(e, VM, 0);
	switch_to(e, VM, 0, NQ_VMCS_01);
	ev = mk(NQ_EV_VMEXIT_INJECT, VM, NQ_VCPU_UNKNOWN);
	ev.inject.exit_code = (1u << 27) | NQ_VMX_EXIT_EXTERNAL_INTERRUPT;
	ev.inject.exit_int_info = NQ_INTR_INFO_VALID | 0x32;
	feed(e, &ev);
	ack(e, VM, 0, 0x31, NQ_VMCS_01);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_VECTOR_MISMATCH);
	CHECK_EQ(nq_engine_stats(e)->inject_exit_reasons[1], 1);
	nq_engine_free(e);
}

static void test_invalid_vector_without_check_probe(void)
{
	struct nq_engine *e = fresh(0);

	/* Tracepoints only (no kprobes): the reported exit is judged alone. */
	inject(e, VM, 0, 0xffffffffu);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_INVALID_VECTOR);
	inject(e, VM, 0, 0);			     /* no ack-on-exit, controls unknown: fine */
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x08); /* may be ExtINT: fine */
	CHECK_EQ(seen, 1);
	nq_engine_free(e);
}

static void test_nested_pi_nv_exit(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event pi = mk(NQ_EV_NESTED_PI, VM, 0);

	/* Controls unknown at check entry: the nested_pi record decides. */
	enter_ctls = 0;
	pi.pi.posted_intr_nv = 0xf2;
	pi.pi.pi_enabled = 1;
	feed(e, &pi);
	accept(e, VM, 0, 0xf2);
	exit_612(e, VM, 0, 0xf2, 0xf2);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_NESTED_PI_NV);
	/* Known at check entry. */
	enter_ctls = NQ_CTL_KNOWN | NQ_CTL_EXIT_ON_INTR | NQ_CTL_ACK_ON_EXIT | NQ_CTL_POSTED_INTR;
	enter_nv = 0xf2;
	accept(e, VM, 0, 0xf2);
	exit_612(e, VM, 0, 0xf2, 0xf2);
	CHECK_EQ(seen, 2);
	/* PI disabled by L1: the same vector is an ordinary IRQ. */
	enter_ctls = NQ_CTL_KNOWN | NQ_CTL_EXIT_ON_INTR | NQ_CTL_ACK_ON_EXIT;
	enter_nv = 0xffff;
	accept(e, VM, 0, 0xf2);
	exit_612(e, VM, 0, 0xf2, 0xf2);
	CHECK_EQ(seen, 2);
	nq_engine_free(e);
}

static void test_svm_intr_exit_no_ack_expected(void)
{
	struct nq_engine *e = fresh(0);
	struct nq_event ev;

	accept(e, VM, 0, 0x31);
	enter(e, VM, 0);
	peek(e, VM, 0, 0x31, 0);
	ev = mk(NQ_EV_VMEXIT_INJECT, VM, 0);
	ev.h.isa = NQ_ISA_SVM;
	ev.inject.exit_code = NQ_SVM_EXIT_INTR;
	feed(e, &ev);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->svm_intr_exits, 1);
	nq_engine_free(e);
}

/* Memory stays bounded: 10000 vCPUs through a table of 16. */
static void test_vcpu_table_bounded(void)
{
	struct nq_engine *e = fresh(16);

	for (uint32_t v = 0; v < 10000; v++) {
		accept(e, VM, v, 0x31);
		exit_612(e, VM, v, 0x31, 0x31);
	}
	nq_engine_finish(e);
	CHECK_EQ(nq_engine_stats(e)->pairs, 10000);
	CHECK_EQ(nq_engine_stats(e)->violations, 0);
	CHECK(nq_engine_stats(e)->vcpu_evictions >= 10000 - 16);
	nq_engine_free(e);
}

/* A vCPU evicted mid-check is closed, not forgotten silently or crashed on. */
static void test_eviction_mid_check(void)
{
	struct nq_engine *e = fresh(2);

	accept(e, VM, 0, 0x31);
	enter(e, VM, 0);
	peek(e, VM, 0, 0x31, 0);
	switch_to(e, VM, 0, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x31);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	accept(e, VM, 1, 0x31);
	accept(e, VM, 2, 0x31); /* evicts vCPU 0 */
	CHECK_EQ(nq_engine_stats(e)->vcpu_evictions, 1);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_VECTOR_MISMATCH);
	nq_engine_free(e);
}

static void test_garbage_is_counted_not_fatal(void)
{
	struct nq_engine *e = fresh(4);
	struct nq_event ev;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 200000; i++) {
		for (unsigned int b = 0; b < sizeof(ev); b += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy((char *)&ev + b, &x, 8);
		}
		ev.h.tgid &= 3;
		ev.h.vcpu_id &= 3;
		ev.vm_id &= 3; /* the VM is part of the key now: keep collisions likely */
		if (i % 3)
			ev.h.kind %= NQ_EV__MAX + 2;
		feed(e, &ev);
	}
	nq_engine_finish(e);
	CHECK_EQ(nq_engine_stats(e)->events, 200000);
	CHECK(nq_engine_stats(e)->unknown_kind > 0);
	CHECK(nq_engine_stats(e)->out_of_order > 0);
	nq_engine_free(e);
}

static void test_unterminated_check(void)
{
	struct nq_engine *e = fresh(0);

	enter(e, VM, 0);
	enter(e, VM, 0);
	leave(e, VM, 0, 0);
	CHECK_EQ(nq_engine_stats(e)->unterminated_checks, 1);
	CHECK_EQ(nq_engine_stats(e)->checks, 2);
	nq_engine_free(e);
}

static void test_names_round_trip(void)
{
	for (int k = 0; k < NQ_V__MAX; k++)
		CHECK_EQ(nq_violation_from_name(nq_violation_name(k)), k);
	for (int k = 1; k < NQ_EV__MAX; k++)
		CHECK_EQ(nq_kind_from_name(nq_kind_name(k)), k);
	for (int k = 0; k < NQ_INFO__MAX; k++)
		CHECK_EQ(nq_info_from_name(nq_info_name(k)), k);
	CHECK_EQ(nq_violation_from_name("nope"), -1);
}

static void test_hist_quantiles(void)
{
	struct nq_hist h;

	memset(&h, 0, sizeof(h));
	CHECK_EQ(nq_hist_quantile(&h, 0.5), 0);
	for (int i = 0; i < 99; i++)
		nq_hist_add(&h, 1000);
	nq_hist_add(&h, 1000000);
	CHECK(nq_hist_quantile(&h, 0.5) >= 1000 && nq_hist_quantile(&h, 0.5) < 2048);
	CHECK_EQ(nq_hist_quantile(&h, 1.0), 1000000);
	CHECK_EQ(h.max_ns, 1000000);
}

int main(void)
{
	RUN(test_clean_612_pairs);
	RUN(test_mismatch_612_ack_differs);
	RUN(test_race_window_611_is_info);
	RUN(test_toctou_612_decided_then_acked_other);
	RUN(test_612_decision_differs_from_report);
	RUN(test_racing_accept_stamped_before_peek);
	RUN(test_report_differs_from_ack);
	RUN(test_ack_in_vmcs02_from_switch_state);
	RUN(test_ack_outside_check_not_flagged);
	RUN(test_busy_peek_not_flagged);
	RUN(test_multiple_acks);
	RUN(test_ack_without_accept_is_counted);
	RUN(test_double_ack_one_finding);
	RUN(test_non_fixed_delivery_marks_nothing);
	RUN(test_lost_events_reset_history);
	RUN(test_svi_written_in_vmcs02);
	RUN(test_svi_7x_guard_is_vmcs01);
	RUN(test_svi_7x_without_guard_caught);
	RUN(test_svi_abi1_guard_seen_by_next_record);
	RUN(test_svi_deferral_applied);
	RUN(test_svi_deferral_lost_caught);
	RUN(test_loss_withholds_held_findings);
	RUN(test_held_findings_overflow_in_order);
	RUN(test_loss_drops_only_its_cpu);
	RUN(test_two_vms_in_one_process);
	RUN(test_vm_gone_forgets_history);
	RUN(test_extint_classified_positively);
	RUN(test_sgx_enclave_bit_keeps_ext_intr);
	RUN(test_invalid_vector_without_check_probe);
	RUN(test_nested_pi_nv_exit);
	RUN(test_svm_intr_exit_no_ack_expected);
	RUN(test_vcpu_table_bounded);
	RUN(test_eviction_mid_check);
	RUN(test_garbage_is_counted_not_fatal);
	RUN(test_unterminated_check);
	RUN(test_names_round_trip);
	RUN(test_hist_quantiles);
	RUN(test_abi3_ack_irr_from_kernel);
	RUN(test_abi3_evidence_from_accept_ts);
	RUN(test_count_records);
	TEST_EXIT();
}
