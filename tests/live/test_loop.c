// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one live loop of watch, record, check and serve (nq_cli_live_loop):
 * its hooks run in order, tick at its interval, and each way of stopping
 * (duration, should_stop, SIGINT/SIGTERM's flag) ends it.  Loads BPF: root.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "live/live.h"

/* The commands' helpers are not a library: build them into this test. */
#include "../../src/cmd/cmd_live.c"
#include "../../src/cmd/duration.c"

struct seen {
	int ticks, passes, stops;
	int stop_after;	   /* should_stop says true on this pass (0: never) */
	int sigstop_after; /* pass sets nq_live_stop on this pass (0: never) */
	uint64_t tick_ms[64];
	char order[256]; /* "t" per tick, "p" per pass, "s" per should_stop */
};

static void add(struct seen *s, char c)
{
	size_t n = strlen(s->order);

	if (n + 1 < sizeof(s->order))
		s->order[n] = c;
}

static void on_tick(void *ctx, uint64_t elapsed_ms)
{
	struct seen *s = ctx;

	if (s->ticks < 64)
		s->tick_ms[s->ticks] = elapsed_ms;
	s->ticks++;
	add(s, 't');
}

static void on_pass(void *ctx, uint64_t now_ms)
{
	struct seen *s = ctx;

	(void)now_ms;
	s->passes++;
	add(s, 'p');
	if (s->sigstop_after && s->passes == s->sigstop_after)
		nq_live_stop = 1;
}

static bool on_should_stop(void *ctx)
{
	struct seen *s = ctx;

	s->stops++;
	add(s, 's');
	return s->stop_after && s->stops == s->stop_after;
}

/* Every pass is an optional tick, then pass, then should_stop: ([t]ps)*. */
static bool passes_in_order(const char *o)
{
	while (*o) {
		if (*o == 't')
			o++;
		if (o[0] != 'p' || o[1] != 's')
			return false;
		o += 2;
	}
	return true;
}

static struct nq_live *open_live(char *err, size_t errlen)
{
	struct nq_live_opts o = {.quiet = true};

	return nq_live_open(&o, err, errlen);
}

static const char *need_root(void)
{
	if (geteuid() != 0)
		return "not root";
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "no BTF";
	return NULL;
}

/* --duration: ticks every interval, hooks in order tick, pass, should_stop. */
static void test_duration_and_ticks(void)
{
	struct seen s = {0};
	struct nq_cli_loop lp = {.cmd = "test",
				 .duration_ms = 550,
				 .interval_ms = 100,
				 .ctx = &s,
				 .tick = on_tick,
				 .pass = on_pass,
				 .should_stop = on_should_stop};
	const char *why = need_root();
	char err[256];
	uint64_t t0, dt;
	int rc;

	if (why)
		SKIP("%s", why);
	lp.live = open_live(err, sizeof(err));
	if (!lp.live)
		SKIP("%s", err);
	nq_live_stop = 0;
	t0 = nq_cli_now_ms();
	rc = nq_cli_live_loop(&lp);
	dt = nq_cli_now_ms() - t0;
	nq_live_close(lp.live);
	CHECK_EQ(rc, 0);
	CHECK(dt >= 550 && dt < 2000);
	/* At least 100 ms apart: 5 or 6 ticks in 550-650 ms, fewer on a busy host. */
	CHECK(s.ticks >= 3 && s.ticks <= 6);
	for (int i = 0; i < s.ticks && i < 64; i++)
		CHECK(s.tick_ms[i] >= (i ? s.tick_ms[i - 1] : 0) + 100);
	CHECK(s.passes >= s.ticks);
	CHECK_EQ(s.stops, s.passes);
	CHECK(strstr(s.order, "tps") != NULL);
	CHECK(passes_in_order(s.order));
}

/* should_stop ends the loop on the pass it says so (check's workload). */
static void test_should_stop(void)
{
	struct seen s = {.stop_after = 3};
	struct nq_cli_loop lp = {
		.cmd = "test", .ctx = &s, .pass = on_pass, .should_stop = on_should_stop};
	const char *why = need_root();
	char err[256];

	if (why)
		SKIP("%s", why);
	lp.live = open_live(err, sizeof(err));
	if (!lp.live)
		SKIP("%s", err);
	nq_live_stop = 0;
	CHECK_EQ(nq_cli_live_loop(&lp), 0);
	nq_live_close(lp.live);
	CHECK_EQ(s.stops, 3);
	CHECK_EQ(s.passes, 3);
	CHECK(!strcmp(s.order, "pspsps"));
}

/* SIGINT/SIGTERM's flag ends the loop before the next pass. */
static void test_signal_flag_stops(void)
{
	struct seen s = {.sigstop_after = 2};
	struct nq_cli_loop lp = {
		.cmd = "test", .ctx = &s, .pass = on_pass, .should_stop = on_should_stop};
	const char *why = need_root();
	char err[256];

	if (why)
		SKIP("%s", why);
	lp.live = open_live(err, sizeof(err));
	if (!lp.live)
		SKIP("%s", err);
	nq_live_stop = 0;
	CHECK_EQ(nq_cli_live_loop(&lp), 0);
	nq_live_stop = 0;
	nq_live_close(lp.live);
	CHECK_EQ(s.passes, 2);
	CHECK_EQ(s.ticks, 0); /* interval 0: no tick */
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(test_duration_and_ticks);
	RUN(test_should_stop);
	RUN(test_signal_flag_stops);
	TEST_EXIT();
}
