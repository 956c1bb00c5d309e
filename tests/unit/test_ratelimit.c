// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Violation storm control: burst, one report per interval, episodes, exact totals. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nestirq/ratelimit.h"

#define SEC UINT64_C(1000000000)

struct sink {
	unsigned int n;
	struct nq_rl_report r[64];
};

static void on_report(const struct nq_rl_report *r, void *ctx)
{
	struct sink *s = ctx;

	if (s->n < 64)
		s->r[s->n] = *r;
	s->n++;
}

static struct nq_ratelimit *new_rl(struct sink *s, unsigned int burst)
{
	struct nq_ratelimit *rl = malloc(sizeof(*rl));

	memset(s, 0, sizeof(*s));
	if (rl)
		nq_ratelimit_init(rl, burst, 10 * SEC, on_report, s);
	return rl;
}

/* 1000 violations 1 ms apart: 5 shown, one report per 10 s window, exact sum. */
static void test_burst_then_one_line_per_interval(void)
{
	struct sink s;
	struct nq_ratelimit *rl = new_rl(&s, 5);
	unsigned int shown = 0;
	uint64_t sum = 0;

	CHECK(rl);
	for (unsigned int i = 0; i < 30000; i++)
		shown += nq_ratelimit_allow(rl, NQ_V_SVI_IN_VMCS02, 42, i * (SEC / 1000));
	nq_ratelimit_flush(rl, 30 * SEC, true);
	CHECK_EQ(shown, 5);
	/* 29995 suppressed over 30 s: reports at 10 s, 20 s, and the final flush. */
	CHECK_EQ(s.n, 3);
	for (unsigned int i = 0; i < s.n; i++) {
		CHECK_EQ(s.r[i].kind, NQ_V_SVI_IN_VMCS02);
		CHECK_EQ(s.r[i].vm, 42);
		sum += s.r[i].count;
	}
	CHECK_EQ(sum, 29995);
	CHECK_EQ(s.r[s.n - 1].total, 29995);
	CHECK_EQ(rl->suppressed_total, 29995);
	free(rl);
}

/* Each (kind, VM) has its own burst. */
static void test_keys_are_independent(void)
{
	struct sink s;
	struct nq_ratelimit *rl = new_rl(&s, 2);
	unsigned int a = 0, b = 0, c = 0;

	CHECK(rl);
	for (unsigned int i = 0; i < 10; i++) {
		a += nq_ratelimit_allow(rl, NQ_V_SVI_IN_VMCS02, 1, i);
		b += nq_ratelimit_allow(rl, NQ_V_SVI_IN_VMCS02, 2, i);
		c += nq_ratelimit_allow(rl, NQ_V_ACK_IN_VMCS02, 1, i);
	}
	CHECK_EQ(a, 2);
	CHECK_EQ(b, 2);
	CHECK_EQ(c, 2);
	CHECK_EQ(s.n, 0); /* nothing reported before the interval ends */
	nq_ratelimit_flush(rl, 5 * SEC, false);
	CHECK_EQ(s.n, 0);
	nq_ratelimit_flush(rl, 11 * SEC, false);
	CHECK_EQ(s.n, 3);
	CHECK_EQ(s.r[0].count + s.r[1].count + s.r[2].count, 24);
	free(rl);
}

/* A quiet interval ends the episode: the next violations are shown again. */
static void test_quiet_interval_starts_new_episode(void)
{
	struct sink s;
	struct nq_ratelimit *rl = new_rl(&s, 3);
	unsigned int shown = 0;

	CHECK(rl);
	for (unsigned int i = 0; i < 5; i++)
		shown += nq_ratelimit_allow(rl, NQ_V_VECTOR_MISMATCH, 7, i * SEC / 10);
	CHECK_EQ(shown, 3);
	/* 20 s later: the 2 pending are reported first, then a fresh burst. */
	for (unsigned int i = 0; i < 5; i++)
		shown += nq_ratelimit_allow(rl, NQ_V_VECTOR_MISMATCH, 7, 20 * SEC + i);
	CHECK_EQ(shown, 6);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.r[0].count, 2);
	nq_ratelimit_flush(rl, 21 * SEC, true);
	CHECK_EQ(s.n, 2);
	CHECK_EQ(s.r[1].count, 2);
	CHECK_EQ(s.r[1].total, 4);
	free(rl);
}

/* More VMs than keys: the rest share a slot and are still counted exactly. */
static void test_table_full_counts_other_vms(void)
{
	struct sink s;
	struct nq_ratelimit *rl = new_rl(&s, 1);
	unsigned int shown = 0;

	CHECK(rl);
	for (uint32_t vm = 0; vm < NQ_RL_KEYS + 10; vm++)
		for (unsigned int i = 0; i < 3; i++)
			shown += nq_ratelimit_allow(rl, NQ_V_ACK_IN_VMCS02, vm, i);
	CHECK_EQ(shown, NQ_RL_KEYS + 1);
	nq_ratelimit_flush(rl, 0, true);
	CHECK_EQ(s.n, NQ_RL_KEYS + 1);
	CHECK_EQ(rl->suppressed_total, (NQ_RL_KEYS + 10) * 3 - (NQ_RL_KEYS + 1));
	CHECK_EQ(rl->other[NQ_V_ACK_IN_VMCS02].vm, NQ_RL_OTHER_VMS);
	CHECK_EQ(rl->other[NQ_V_ACK_IN_VMCS02].suppressed_total, 10 * 3 - 1);
	free(rl);
}

static void test_unlimited_and_backwards_clock(void)
{
	struct sink s;
	struct nq_ratelimit *rl = new_rl(&s, 0);
	char line[256];
	struct nq_rl_report r = {.kind = NQ_V_SVI_IN_VMCS02,
				 .vm = 9,
				 .count = 3,
				 .total = 8,
				 .first_ns = SEC,
				 .last_ns = SEC + SEC / 2};

	CHECK(rl);
	for (unsigned int i = 0; i < 100; i++)
		CHECK(nq_ratelimit_allow(rl, NQ_V_SVI_IN_VMCS02, 1, 100 - i));
	nq_ratelimit_init(rl, 1, 10 * SEC, on_report, &s);
	CHECK(nq_ratelimit_allow(rl, NQ_V_SVI_IN_VMCS02, 1, 50 * SEC));
	CHECK(!nq_ratelimit_allow(rl, NQ_V_SVI_IN_VMCS02, 1, 40 * SEC)); /* stepped back */
	CHECK_EQ(s.n, 0);
	nq_ratelimit_format(line, sizeof(line), &r);
	CHECK_STR_CONTAINS(line,
			   "suppressed 3 more svi_in_vmcs02 (I1) violations vm=9 over 0.500s");
	CHECK_STR_CONTAINS(line, "8 suppressed in all");
	free(rl);
}

/* Informational findings are keyed apart from the violation of the same number. */
static void test_info_findings_keyed_apart(void)
{
	struct nq_violation v = {.kind = (enum nq_violation_kind)NQ_INFO_RACE_WINDOW,
				 .severity = NQ_SEV_INFO};
	struct nq_rl_report r = {.kind = nq_rl_kind(&v), .vm = 3, .count = 2, .total = 2};
	struct sink s;
	struct nq_ratelimit *rl = new_rl(&s, 1);
	char line[256];

	CHECK(rl);
	CHECK_EQ(nq_rl_kind(&v), NQ_V__MAX + NQ_INFO_RACE_WINDOW);
	CHECK(nq_ratelimit_allow(rl, nq_rl_kind(&v), 3, 0));
	CHECK(nq_ratelimit_allow(rl, (unsigned int)v.kind, 3, 0)); /* the violation kind 0 */
	CHECK(!nq_ratelimit_allow(rl, nq_rl_kind(&v), 3, 1));
	nq_ratelimit_format(line, sizeof(line), &r);
	CHECK_STR_CONTAINS(line, "suppressed 2 more race_window (info) findings vm=3");
	free(rl);
}

int main(void)
{
	RUN(test_burst_then_one_line_per_interval);
	RUN(test_keys_are_independent);
	RUN(test_quiet_interval_starts_new_episode);
	RUN(test_table_full_counts_other_vms);
	RUN(test_unlimited_and_backwards_clock);
	RUN(test_info_findings_keyed_apart);
	TEST_EXIT();
}
