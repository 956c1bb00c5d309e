/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the live commands (doctor, watch, record, check, serve). */
#ifndef NESTIRQ_CMD_LIVE_H
#define NESTIRQ_CMD_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * One-line error for a bad flag, from getopt state: opterr = 0 and an
 * optstring starting with ':'; c is what getopt returned (':' or '?').
 */
void nq_cli_bad_option(const char *cmd, char **argv, int c, int opt);
/* Parse a positive pid that exists; 0 on success, else prints an error. */
int nq_cli_parse_pid(const char *cmd, const char *s, uint32_t *pid);
/* Parse a positive duration; 0 on success, else prints an error. */
int nq_cli_parse_duration(const char *cmd, const char *flag, const char *s, long long *ms);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t nq_cli_now_ms(void);

struct nq_live;

/*
 * The one live loop of watch, record, check and serve.  Each pass:
 *   1. polls the ring buffer (at most 100 ms); an error ends the loop;
 *   2. sleeps 100 ms if nothing is attached (after a re-plan that attached
 *      nothing, poll returns at once and the loop would spin);
 *   3. once a second, re-plans if kvm_intel/kvm_amd came or went, logs why
 *      and calls replanned;
 *   4. calls tick every interval_ms, then pass, then should_stop;
 *   5. stops on SIGINT/SIGTERM (nq_live_stop) or after duration_ms.
 * It drains the ring buffer (nq_live_poll(live, 0)) and reports every loss
 * with a final sync record (nq_live_sync) before returning.
 * Every hook is optional and gets ctx.
 */
struct nq_cli_loop {
	const char *cmd; /* names the command in messages: "nestirq CMD: ..." */
	struct nq_live *live;
	long long duration_ms; /* 0: no limit */
	long long interval_ms; /* period of tick; 0: never */
	void *ctx;
	/* Every interval_ms from the start; ticks missed while re-planning are skipped. */
	void (*tick)(void *ctx, uint64_t elapsed_ms);
	/* Every pass, after tick (serve: reopen the log, publish the snapshot). */
	void (*pass)(void *ctx, uint64_t now_ms);
	/* Every pass, last: true ends the loop (check: the workload exited). */
	bool (*should_stop)(void *ctx);
	/*
	 * The loop's own messages (re-plan, ring-buffer error) with a syslog
	 * priority (LOG_ERR, LOG_INFO).  NULL: "nestirq CMD: msg" on stderr.
	 */
	void (*log)(void *ctx, int prio, const char *msg);
	/* After a re-plan, whether it attached or not.  NULL: nq_cli_print_attached. */
	void (*replanned)(void *ctx);
};

/* Runs the loop; 0, or -1 after a ring-buffer error (already logged). */
int nq_cli_live_loop(const struct nq_cli_loop *lp);
/* "tracing: ... attached; N points unavailable" on stderr. */
void nq_cli_print_attached(const char *cmd, struct nq_live *l);

#endif /* NESTIRQ_CMD_LIVE_H */
