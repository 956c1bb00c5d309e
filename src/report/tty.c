// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Terminal output helpers.  The status line is built from segments so it
 * can be cut at a segment boundary to the terminal width: a wrapped status
 * line would defeat the "\r" rewrite and scroll the terminal.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/text.h"
#include "nestirq/tty.h"

#define RED    "\033[31m"
#define GREEN  "\033[32m"
#define YELLOW "\033[33m"
#define BOLD   "\033[1m"
#define RESET  "\033[0m"

int nq_color_mode_parse(const char *s)
{
	if (!strcmp(s, "auto"))
		return NQ_COLOR_AUTO;
	if (!strcmp(s, "always"))
		return NQ_COLOR_ALWAYS;
	if (!strcmp(s, "never"))
		return NQ_COLOR_NEVER;
	return -1;
}

bool nq_color_decide(enum nq_color_mode mode, bool isatty, const char *no_color, const char *term)
{
	if (mode == NQ_COLOR_ALWAYS)
		return true;
	if (mode == NQ_COLOR_NEVER)
		return false;
	if (no_color && no_color[0])
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty;
}

bool nq_color_for_fd(int fd, enum nq_color_mode mode)
{
	return nq_color_decide(mode, isatty(fd) == 1, getenv("NO_COLOR"), getenv("TERM"));
}

unsigned int nq_tty_width(int fd)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	if (!ioctl(fd, TIOCGWINSZ, &ws) && ws.ws_col > 0)
		return ws.ws_col;
	if (cols && atoi(cols) > 0)
		return (unsigned int)atoi(cols);
	return 80;
}

size_t nq_tty_visible_len(const char *s)
{
	size_t n = 0;

	while (*s) {
		if (s[0] == '\033' && s[1] == '[') {
			s += 2;
			while (*s && !(*s >= '@' && *s <= '~'))
				s++;
			if (*s)
				s++;
			continue;
		}
		/* count UTF-8 lead bytes only */
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
		s++;
	}
	return n;
}

struct line {
	char *buf;
	size_t len, used, cols, width;
	bool full;
};

/*
 * Appends a separator and one segment if both fit the width whole; else
 * ends the line there.  Only the segment is coloured.
 */
static void seg(struct line *l, const char *sep, const char *color, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void seg(struct line *l, const char *sep, const char *color, const char *fmt, ...)
{
	char text[128];
	va_list ap;
	size_t vis;
	int w;

	if (l->full)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	vis = nq_tty_visible_len(text) + strlen(sep);
	if (l->cols + vis > l->width) {
		l->full = true;
		return;
	}
	w = snprintf(l->buf + l->used, l->len - l->used, "%s%s%s%s", sep, color ? color : "", text,
		     color ? RESET : "");
	if (w < 0 || (size_t)w >= l->len - l->used) {
		l->buf[l->used] = 0;
		l->full = true;
		return;
	}
	l->used += (size_t)w;
	l->cols += vis;
}

size_t nq_tty_status_line(char *buf, size_t len, const struct nq_tty_status *st, unsigned int width,
			  bool color)
{
	struct line l = {.buf = buf, .len = len, .width = width};

	if (!len)
		return 0;
	buf[0] = 0;
	seg(&l, "", NULL, "[%" PRIu64 ".%" PRIu64 "s]", st->elapsed_ms / 1000,
	    st->elapsed_ms % 1000 / 100);
	seg(&l, " ", NULL, "%" PRIu64 " events (%.0f/s)", st->events, st->events_per_s);
	seg(&l, " | ", NULL, "pairs %" PRIu64, st->pairs);
	seg(&l, " | ", color && st->violations ? BOLD RED : NULL, "violations %" PRIu64,
	    st->violations);
	seg(&l, " | ", color && st->drops ? YELLOW : NULL, "drops %" PRIu64, st->drops);
	if (st->probes_total)
		seg(&l, " | ", NULL, "probes %u/%u", st->probes_attached, st->probes_total);
	return l.used;
}

void nq_tty_status_update(FILE *out, const char *line)
{
	fprintf(out, "\r%s\033[K", line);
	fflush(out);
}

void nq_tty_status_clear(FILE *out)
{
	fputs("\r\033[K", out);
	fflush(out);
}

static void row(FILE *out, const char *name, uint64_t v, const char *color)
{
	if (color)
		fprintf(out, "  %-22s %s%12" PRIu64 "%s\n", name, color, v, RESET);
	else
		fprintf(out, "  %-22s %12" PRIu64 "\n", name, v);
}

static void latency(FILE *out, const char *name, const struct nq_hist *h)
{
	char p50[32], p99[32], max[32];

	if (!h->count) {
		fprintf(out, "  %-22s %12s\n", name, "-");
		return;
	}
	nq_format_ns(p50, sizeof(p50), nq_hist_quantile(h, 0.5));
	nq_format_ns(p99, sizeof(p99), nq_hist_quantile(h, 0.99));
	nq_format_ns(max, sizeof(max), h->max_ns);
	fprintf(out, "  %-22s %12s  p99 %s  max %s  (n=%" PRIu64 ")\n", name, p50, p99, max,
		h->count);
}

void nq_tty_summary(FILE *out, const struct nq_stats *s, uint64_t drops, bool color)
{
	fprintf(out, "%ssummary%s\n", color ? BOLD : "", color ? RESET : "");
	row(out, "events", s->events, NULL);
	for (unsigned int k = 1; k < NQ_EV__MAX; k++)
		if (s->by_kind[k]) {
			char name[40];

			snprintf(name, sizeof(name), "  %s", nq_kind_name(k));
			row(out, name, s->by_kind[k], NULL);
		}
	row(out, "checks", s->checks, NULL);
	row(out, "pairs", s->pairs, NULL);
	latency(out, "accept->ack p50", &s->accept_to_ack);
	latency(out, "peek->ack p50", &s->peek_to_ack);
	row(out, "ring-buffer drops", drops, color && drops ? YELLOW : NULL);
	row(out, "violations", s->violations, color ? (s->violations ? BOLD RED : GREEN) : NULL);
	for (int k = 0; k < NQ_V__MAX; k++)
		if (s->by_violation[k]) {
			char name[40];

			snprintf(name, sizeof(name), "  %s (%s)", nq_violation_name(k),
				 nq_violation_invariant(k));
			row(out, name, s->by_violation[k], color ? RED : NULL);
		}
	fprintf(out, "%sverdict: %s%s\n", color ? (s->violations ? BOLD RED : BOLD GREEN) : "",
		s->violations ? "FAIL" : "PASS", color ? RESET : "");
}
