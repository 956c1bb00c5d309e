/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the live commands (doctor, watch, record). */
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
 * The live loop of watch and record: polls the ring buffer with a short
 * timeout, re-plans when kvm_intel/kvm_amd come or go (checked every
 * second), calls after_poll after each batch (the engine's sync point: the
 * batch's loss markers are delivered by then), tick every interval_ms (0: never) and stops on
 * SIGINT/SIGTERM or after duration_ms (0: no limit).  Returns 0, or -1 if
 * the ring buffer failed.
 */
int nq_cli_live_loop(const char *cmd, struct nq_live *l, long long duration_ms,
		     long long interval_ms, void (*tick)(void *ctx, uint64_t elapsed_ms),
		     void (*after_poll)(void *ctx), void *ctx);
/* "tracing: ... attached; N points unavailable" on stderr. */
void nq_cli_print_attached(const char *cmd, struct nq_live *l);

#endif /* NESTIRQ_CMD_LIVE_H */
