// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Helpers shared by the live commands (doctor, watch, record, check, serve). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_live.h"
#include "live/live.h"

extern int optind;

void nq_cli_bad_option(const char *cmd, char **argv, int c, int opt)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		fprintf(stderr, "nestirq %s: option '%s' needs a value (try --help)\n", cmd, arg);
	else if (opt && strncmp(arg, "--", 2))
		fprintf(stderr, "nestirq %s: unknown option '-%c' (try --help)\n", cmd, opt);
	else
		fprintf(stderr, "nestirq %s: unknown option '%s' (try --help)\n", cmd, arg);
}

int nq_cli_parse_pid(const char *cmd, const char *s, uint32_t *pid)
{
	char *end, path[64];
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || s[0] == '-' || v == 0 || v > 0x3fffffff) {
		fprintf(stderr, "nestirq %s: -p wants a process id, got '%s'\n", cmd, s);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%lu", v);
	if (access(path, F_OK)) {
		fprintf(stderr, "nestirq %s: -p %lu: no such process\n", cmd, v);
		return -1;
	}
	*pid = (uint32_t)v;
	return 0;
}

int nq_cli_parse_duration(const char *cmd, const char *flag, const char *s, long long *ms)
{
	long long v = nq_parse_duration_ms(s);

	if (v <= 0) {
		fprintf(stderr,
			"nestirq %s: %s wants a duration such as 10, 10s, 500ms or 2m, got '%s'\n",
			cmd, flag, s);
		return -1;
	}
	*ms = v;
	return 0;
}

uint64_t nq_cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void nq_cli_print_attached(const char *cmd, struct nq_live *l)
{
	const struct nq_plan *p = nq_live_plan(l);
	char on[256] = "";
	size_t n = 0;
	int off = 0;

	for (int i = 0; i < NQ_PT__MAX; i++) {
		if (p->pt[i].status == NQ_PS_ATTACHED) {
			int w = snprintf(on + n, sizeof(on) - n, "%s%s", n ? ", " : "",
					 nq_point_names[i]);

			if (w > 0 && (size_t)w < sizeof(on) - n)
				n += (size_t)w;
		} else {
			off++;
		}
	}
	fprintf(stderr, "nestirq %s: tracing: %s attached; %d point%s unavailable%s\n", cmd,
		n ? on : "nothing", off, off == 1 ? "" : "s", off ? " (see nestirq doctor)" : "");
}

static void loop_log(const struct nq_cli_loop *lp, int prio, const char *msg)
{
	if (lp->log)
		lp->log(lp->ctx, prio, msg);
	else
		fprintf(stderr, "nestirq %s: %s\n", lp->cmd, msg);
}

static void loop_check_modules(const struct nq_cli_loop *lp)
{
	char msg[256];
	int m = nq_live_check_modules(lp->live, msg, sizeof(msg));

	if (!m)
		return;
	loop_log(lp, m < 0 ? LOG_ERR : LOG_INFO, msg);
	if (lp->replanned)
		lp->replanned(lp->ctx);
	else
		nq_cli_print_attached(lp->cmd, lp->live);
}

int nq_cli_live_loop(const struct nq_cli_loop *lp)
{
	uint64_t start = nq_cli_now_ms(), next_mod = start + 1000;
	uint64_t next_tick = lp->interval_ms > 0 ? start + (uint64_t)lp->interval_ms : 0;
	int rc = 0;

	while (!nq_live_stop) {
		int r = nq_live_poll(lp->live, 100);
		uint64_t now;

		if (r < 0) {
			char msg[128];

			snprintf(msg, sizeof(msg), "reading the ring buffer: %s", strerror(-r));
			loop_log(lp, LOG_ERR, msg);
			rc = -1;
			break;
		}
		if (!nq_live_attached(lp->live))
			usleep(100000);
		now = nq_cli_now_ms();
		if (now >= next_mod) {
			next_mod = now + 1000;
			loop_check_modules(lp);
		}
		if (next_tick && now >= next_tick) {
			/* Skip ticks missed while re-planning: one line per interval. */
			next_tick = now + (uint64_t)lp->interval_ms;
			if (lp->tick)
				lp->tick(lp->ctx, now - start);
		}
		if (lp->pass)
			lp->pass(lp->ctx, now);
		if (lp->should_stop && lp->should_stop(lp->ctx))
			break;
		if (lp->duration_ms > 0 && now - start >= (uint64_t)lp->duration_ms)
			break;
	}
	/* Drain what is left; every loss reported before the engine finishes. */
	nq_live_poll(lp->live, 0);
	nq_live_sync(lp->live);
	return rc;
}
