// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Terminal output: the colour rule, the status line's width, the summary table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/text.h"
#include "nestirq/report.h"
#include "nestirq/tty.h"

static void test_color_rule(void)
{
	CHECK(nq_color_decide(NQ_COLOR_AUTO, true, NULL, "xterm"));
	CHECK(!nq_color_decide(NQ_COLOR_AUTO, false, NULL, "xterm"));
	CHECK(!nq_color_decide(NQ_COLOR_AUTO, true, "1", "xterm"));
	CHECK(nq_color_decide(NQ_COLOR_AUTO, true, "", "xterm")); /* empty NO_COLOR: ignored */
	CHECK(!nq_color_decide(NQ_COLOR_AUTO, true, NULL, "dumb"));
	CHECK(nq_color_decide(NQ_COLOR_ALWAYS, false, "1", "dumb"));
	CHECK(!nq_color_decide(NQ_COLOR_NEVER, true, NULL, "xterm"));
	CHECK_EQ(nq_color_mode_parse("auto"), NQ_COLOR_AUTO);
	CHECK_EQ(nq_color_mode_parse("always"), NQ_COLOR_ALWAYS);
	CHECK_EQ(nq_color_mode_parse("never"), NQ_COLOR_NEVER);
	CHECK_EQ(nq_color_mode_parse("yes"), -1);
}

static void test_status_line(void)
{
	struct nq_tty_status st = {.elapsed_ms = 12345,
				   .events = 1000,
				   .events_per_s = 81.0,
				   .pairs = 7,
				   .violations = 2,
				   .drops = 0,
				   .probes_attached = 4,
				   .probes_total = 11};
	char buf[512];
	size_t n;

	n = nq_tty_status_line(buf, sizeof(buf), &st, 200, false);
	CHECK_EQ(n, strlen(buf));
	CHECK(!strcmp(
		buf,
		"[12.3s] 1000 events (81/s) | pairs 7 | violations 2 | drops 0 | probes 4/11"));
	CHECK(!strchr(buf, '\n') && !strchr(buf, '\033'));
	nq_tty_status_line(buf, sizeof(buf), &st, 200, true);
	CHECK_STR_CONTAINS(buf, "\033[1m\033[31mviolations 2\033[0m");
	CHECK(!strstr(buf, "\033[33mdrops")); /* zero drops: no colour */
	CHECK_EQ(nq_tty_visible_len(buf), 75);
	/* cut to the width at a segment boundary, escapes not counted */
	for (unsigned int w = 0; w < 90; w++) {
		nq_tty_status_line(buf, sizeof(buf), &st, w, true);
		CHECK(nq_tty_visible_len(buf) <= w);
	}
	nq_tty_status_line(buf, sizeof(buf), &st, 40, false);
	CHECK(!strcmp(buf, "[12.3s] 1000 events (81/s) | pairs 7"));
	/* a tiny buffer stays terminated */
	nq_tty_status_line(buf, 10, &st, 200, true);
	CHECK(strlen(buf) < 10);
}

static void test_summary(void)
{
	struct nq_stats s;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	memset(&s, 0, sizeof(s));
	s.events = 10;
	s.by_kind[NQ_EV_IRQ_ACCEPT] = 10;
	s.violations = 1;
	s.by_violation[NQ_V_SVI_IN_VMCS02] = 1;
	nq_hist_add(&s.accept_to_ack, 1500);
	f = open_memstream(&text, &len);
	CHECK(f);
	nq_tty_summary(f, &s, 3, false);
	fclose(f);
	CHECK_STR_CONTAINS(text, "  events                           10\n");
	CHECK_STR_CONTAINS(text, "    irq_accept                     10\n");
	CHECK_STR_CONTAINS(text, "    svi_in_vmcs02 (I1)              1\n");
	CHECK_STR_CONTAINS(text, "  ring-buffer drops                 3\n");
	CHECK_STR_CONTAINS(text, "accept->ack p50");
	CHECK_STR_CONTAINS(text, "verdict: FAIL\n");
	CHECK(!strchr(text, '\033'));
	free(text);
	text = NULL;
	f = open_memstream(&text, &len);
	CHECK(f);
	nq_tty_summary(f, &s, 0, true);
	fclose(f);
	CHECK_STR_CONTAINS(text, "\033[31m");
	free(text);
}

static void test_format_ns(void)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} cases[] = {
		{0, "0ns"},
		{999, "999ns"},
		{1000, "1.0us"},
		{2048, "2.0us"},
		{12345, "12.3us"},
		{999949, "999.9us"},
		{999950, "1.0ms"}, /* not "1000.0us" */
		{4500000, "4.5ms"},
		{999949999, "999.9ms"},
		{999950000, "1.00s"},
		{1250000000, "1.25s"},
		{UINT64_MAX, "18446744073.71s"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nq_format_ns(buf, sizeof(buf), cases[i].ns);
		if (strcmp(buf, cases[i].want))
			printf("  %llu: got %s, want %s\n", (unsigned long long)cases[i].ns, buf,
			       cases[i].want);
		CHECK(!strcmp(buf, cases[i].want));
	}
	nq_format_ns(buf, 4, 123456); /* cut, still a C string */
	CHECK(!strcmp(buf, "123"));
}

/* The same latency prints the same in replay's summary and watch's table. */
static void test_latency_same_in_replay_and_watch(void)
{
	struct nq_stats s;
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	FILE *fa = open_memstream(&a, &alen), *fb = open_memstream(&b, &blen);

	CHECK(fa && fb);
	memset(&s, 0, sizeof(s));
	nq_hist_add(&s.accept_to_ack, 5000); /* max 5000 ns: "5.0us" in both */
	nq_report_summary(fa, &s, false);
	nq_tty_summary(fb, &s, 0, false);
	fclose(fa);
	fclose(fb);
	CHECK_STR_CONTAINS(a, "max=5.0us");
	CHECK_STR_CONTAINS(b, "max 5.0us");
	free(a);
	free(b);
}

int main(void)
{
	RUN(test_color_rule);
	RUN(test_status_line);
	RUN(test_summary);
	RUN(test_format_ns);
	RUN(test_latency_same_in_replay_and_watch);
	TEST_EXIT();
}
