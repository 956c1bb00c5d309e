/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Human output for terminals (`nestirq watch`): whether to use colour
 * (NO_COLOR, TERM=dumb, --color), a one-line status that rewrites itself
 * in place, and the end-of-run summary table.  Plain C, no libbpf; the
 * decisions are pure functions so the tests need no terminal.
 */
#ifndef NESTIRQ_TTY_H
#define NESTIRQ_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nestirq/engine.h"

enum nq_color_mode { NQ_COLOR_AUTO = 0, NQ_COLOR_ALWAYS, NQ_COLOR_NEVER };

/* "auto", "always", "never"; -1 for anything else. */
int nq_color_mode_parse(const char *s);
/*
 * The rule (https://no-color.org): ALWAYS wins; NEVER loses; AUTO means
 * colour only on a terminal, not when NO_COLOR is set to anything
 * non-empty, and not on TERM=dumb.
 */
bool nq_color_decide(enum nq_color_mode mode, bool isatty, const char *no_color, const char *term);
/* The same for a real fd, reading the environment. */
bool nq_color_for_fd(int fd, enum nq_color_mode mode);
/* Terminal width of fd (TIOCGWINSZ), else $COLUMNS, else 80. */
unsigned int nq_tty_width(int fd);

struct nq_tty_status {
	uint64_t elapsed_ms;
	uint64_t events;
	double events_per_s;
	uint64_t pairs;
	uint64_t violations;
	uint64_t drops;
	unsigned int probes_attached, probes_total;
};

/*
 * Renders the status line into buf without a newline, cut to `width`
 * visible columns (escape sequences do not count).  Violations are red
 * and drops yellow when non-zero and `color` is set.  Returns strlen(buf).
 */
size_t nq_tty_status_line(char *buf, size_t len, const struct nq_tty_status *st, unsigned int width,
			  bool color);
/* Visible columns of a rendered line (ANSI CSI sequences skipped). */
size_t nq_tty_visible_len(const char *s);
/* Rewrites the current terminal line with `line`; clear erases it. */
void nq_tty_status_update(FILE *out, const char *line);
void nq_tty_status_clear(FILE *out);

/* The end-of-run table: counts, latencies and violations by kind. */
void nq_tty_summary(FILE *out, const struct nq_stats *s, uint64_t drops, bool color);

#endif /* NESTIRQ_TTY_H */
