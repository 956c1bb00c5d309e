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

static struct nq_engine *fresh(unsigned int max_vcpus)
{
	struct nq_engine_config cfg = {.max_vcpus = max_vcpus, .on_violation = collect};

	now = 1000;
	seen = 0;
	enter_ctls = NQ_CTL_KNOWN | NQ_CTL_EXIT_ON_INTR | NQ_CTL_ACK_ON_EXIT;
	enter_nv = 0xffff;
	memset(&last, 0, sizeof(last));
	return nq_engine_new(&cfg);
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
	nq_engine_feed(e, &ev);
}

static void enter(struct nq_engine *e, uint32_t vm, uint32_t vcpu)
{
	struct nq_event ev = mk(NQ_EV_CHECK_ENTER, vm, vcpu);

	ev.check_enter.vmcs = NQ_VMCS_02;
	ev.check_enter.ctls = enter_ctls;
	ev.check_enter.posted_intr_nv = enter_nv;
	nq_engine_feed(e, &ev);
}

static void leave(struct nq_engine *e, uint32_t vm, uint32_t vcpu, int ret)
{
	struct nq_event ev = mk(NQ_EV_CHECK_EXIT, vm, vcpu);

	ev.check_exit.ret = ret;
	nq_engine_feed(e, &ev);
}

static void peek(struct nq_engine *e, uint32_t vm, uint32_t vcpu, int vec, uint8_t flags)
{
	struct nq_event ev = mk(NQ_EV_PEEK, vm, vcpu);

	ev.peek.vector = vec;
	ev.peek.flags = flags;
	nq_engine_feed(e, &ev);
}

static void ack(struct nq_engine *e, uint32_t vm, uint32_t vcpu, int vec, uint8_t vmcs)
{
	struct nq_event ev = mk(NQ_EV_ACK, vm, vcpu);

	ev.ack.vector = vec;
	ev.ack.vmcs = vmcs;
	nq_engine_feed(e, &ev);
}

static void switch_to(struct nq_engine *e, uint32_t vm, uint32_t vcpu, uint8_t vmcs)
{
	struct nq_event ev = mk(NQ_EV_VMCS_SWITCH, vm, vcpu);

	ev.vmcs_switch.to = vmcs;
	nq_engine_feed(e, &ev);
}

/* The inject tracepoint has no vCPU: the engine must find it from the thread. */
static void inject(struct nq_engine *e, uint32_t vm, uint32_t vcpu, uint32_t info)
{
	struct nq_event ev = mk(NQ_EV_VMEXIT_INJECT, vm, vcpu);

	ev.h.vcpu_id = NQ_VCPU_UNKNOWN;
	ev.inject.exit_code = NQ_VMX_EXIT_EXTERNAL_INTERRUPT;
	ev.inject.exit_int_info = info;
	nq_engine_feed(e, &ev);
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

/* <= 6.11: the peek inside the ack does not replace the check's decision. */
static void test_mismatch_611_in_ack_peek(void)
{
	struct nq_engine *e = fresh(0);

	accept(e, VM, 0, 0x31);
	enter(e, VM, 0);
	peek(e, VM, 0, 0x31, 0);
	accept(e, VM, 0, 0x41);
	switch_to(e, VM, 0, NQ_VMCS_01);
	peek(e, VM, 0, 0x41, 0); /* no IN_ACK flag: position alone must tell */
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	inject(e, VM, 0, NQ_INTR_INFO_VALID | 0x41);
	leave(e, VM, 0, 0);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_VECTOR_MISMATCH);
	/* The racing accept is part of the evidence. */
	int found = 0;
	for (unsigned int i = 0; i < last.n_evidence; i++)
		if (last.evidence[i].h.kind == NQ_EV_IRQ_ACCEPT &&
		    last.evidence[i].accept.vector == 0x41)
			found = 1;
	CHECK(found);
	/* Evidence is in time order. */
	for (unsigned int i = 1; i < last.n_evidence; i++)
		CHECK(last.evidence[i - 1].h.ts_ns <= last.evidence[i].h.ts_ns);
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

static void test_ack_not_accepted_needs_history(void)
{
	struct nq_engine *e = fresh(0);

	/* Never seen accepted: no verdict (tracing may have started late). */
	ack(e, VM, 0, 0x40, NQ_VMCS_01);
	CHECK_EQ(seen, 0);
	CHECK_EQ(nq_engine_stats(e)->acks_unknown_irr, 1);
	accept(e, VM, 0, 0x41);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	CHECK_EQ(seen, 0);
	ack(e, VM, 0, 0x41, NQ_VMCS_01);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_ACK_NOT_ACCEPTED);
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
	nq_engine_feed(e, &lost);
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
	nq_engine_feed(e, &svi);
	CHECK_EQ(seen, 1);
	CHECK_EQ(last.kind, NQ_V_SVI_IN_VMCS02);
	svi.svi.outcome = NQ_SVI_DEFERRED;
	nq_engine_feed(e, &svi);
	svi.svi.outcome = NQ_SVI_WRITTEN;
	svi.svi.origin = NQ_SVI_ORIGIN_L2_STATE;
	nq_engine_feed(e, &svi);
	svi.svi.origin = NQ_SVI_ORIGIN_L1_ISR;
	svi.svi.vmcs = NQ_VMCS_01;
	nq_engine_feed(e, &svi);
	CHECK_EQ(seen, 1);
	CHECK_EQ(nq_engine_stats(e)->svi_deferred, 1);
	CHECK_EQ(nq_engine_stats(e)->svi_l2_state, 1);
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
	nq_engine_feed(e, &pi);
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
	nq_engine_feed(e, &ev);
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
		if (i % 3)
			ev.h.kind %= NQ_EV__MAX + 2;
		nq_engine_feed(e, &ev);
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
	RUN(test_mismatch_611_in_ack_peek);
	RUN(test_report_differs_from_ack);
	RUN(test_ack_in_vmcs02_from_switch_state);
	RUN(test_ack_outside_check_not_flagged);
	RUN(test_busy_peek_not_flagged);
	RUN(test_multiple_acks);
	RUN(test_ack_not_accepted_needs_history);
	RUN(test_lost_events_reset_history);
	RUN(test_svi_written_in_vmcs02);
	RUN(test_invalid_vector_without_check_probe);
	RUN(test_nested_pi_nv_exit);
	RUN(test_svm_intr_exit_no_ack_expected);
	RUN(test_vcpu_table_bounded);
	RUN(test_eviction_mid_check);
	RUN(test_garbage_is_counted_not_fatal);
	RUN(test_unterminated_check);
	RUN(test_names_round_trip);
	RUN(test_hist_quantiles);
	TEST_EXIT();
}
