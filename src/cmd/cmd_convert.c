// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nestirq convert IN OUT: binary traces to JSON lines and back.  The input
 * format is sniffed; the output format follows OUT's extension or --to.
 * A damaged input still yields a complete, valid output holding every event
 * read before the damage, so a killed recording can be salvaged.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "nestirq/trace.h"

#define META_LINE_MAX (64 << 10) /* a header line with every byte escaped fits */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nestirq convert [--to jsonl|binary] IN OUT\n"
		"\n"
		"Converts a trace between the binary format and JSON lines.\n"
		"IN's format is detected from its first bytes. OUT is JSON lines if it ends in\n"
		".jsonl or .json, binary otherwise, unless --to says. \"-\" is stdin or stdout.\n"
		"\n"
		"  --to FORMAT  jsonl or binary: the output format, whatever OUT's name\n"
		"  -h, --help   this text\n"
		"\n"
		"Exit status: 0 converted; 2 usage error, unreadable input or write error;\n"
		"3 damaged input: OUT holds every event before the damage, and the error\n"
		"says where (\"offset N: reason\" or \"line N: reason\").\n");
}

static const char *shown(const char *path, bool in)
{
	return strcmp(path, "-") ? path : in ? "stdin" : "stdout";
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), m = strlen(suffix);

	return l >= m && !strcmp(s + l - m, suffix);
}

/*
 * Converting a file onto itself would truncate it before it is read.  The
 * same inode, not the same name: a hard link or a bind mount is the same
 * file too.
 */
static bool same_file(const char *in, const char *out)
{
	struct stat a, b;

	if (!strcmp(in, "-") || !strcmp(out, "-"))
		return false;
	return !stat(in, &a) && !stat(out, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The output: the binary writer, or JSON lines through stdio. */
struct sink {
	const char *name;
	struct nq_trace_writer *w;
	FILE *f;
	bool own_f;
	char line[1024];
};

static int sink_open(struct sink *s, const char *path, bool jsonl, const struct nq_trace_meta *m)
{
	char err[NQ_TRACE_ERR_LEN];
	char *meta;
	int n;

	s->name = shown(path, false);
	if (!jsonl) {
		s->w = nq_trace_writer_open(path, m, err, sizeof(err));
		if (!s->w)
			fprintf(stderr, "nestirq convert: %s: %s\n", s->name, err);
		return s->w ? 0 : -1;
	}
	s->own_f = strcmp(path, "-") != 0;
	s->f = s->own_f ? fopen(path, "w") : stdout;
	if (!s->f) {
		fprintf(stderr, "nestirq convert: %s: cannot create: %s\n", s->name,
			strerror(errno));
		return -1;
	}
	meta = malloc(META_LINE_MAX);
	n = meta ? nq_jsonl_format_meta(m, meta, META_LINE_MAX) : -1;
	if (n > 0)
		fprintf(s->f, "%s\n", meta);
	else
		fprintf(stderr, "nestirq convert: %s: cannot format the header line\n", s->name);
	free(meta);
	return n > 0 ? 0 : -1;
}

static int sink_put(struct sink *s, const struct nq_event *ev)
{
	int n;

	if (s->w)
		return nq_trace_write(s->w, ev);
	n = nq_jsonl_format_event(ev, s->line, sizeof(s->line) - 1);
	if (n < 0)
		return -1;
	s->line[n] = '\n';
	return fwrite(s->line, 1, (size_t)n + 1, s->f) == (size_t)n + 1 ? 0 : -1;
}

static int sink_close(struct sink *s)
{
	char err[NQ_TRACE_ERR_LEN];
	int rc = 0;

	if (s->w) {
		if (nq_trace_writer_close(s->w, err, sizeof(err))) {
			fprintf(stderr, "nestirq convert: %s: %s\n", s->name, err);
			return -1;
		}
		return 0;
	}
	if (!s->f)
		return 0;
	if (fflush(s->f) || ferror(s->f))
		rc = -1;
	if (s->own_f && fclose(s->f))
		rc = -1;
	if (rc)
		fprintf(stderr, "nestirq convert: %s: write error: %s\n", s->name, strerror(errno));
	return rc;
}

int cmd_convert(int argc, char **argv)
{
	const char *to = NULL, *pos[2];
	int npos = 0;
	bool jsonl, opts = true, write_failed = false;
	char err[NQ_TRACE_ERR_LEN];
	struct nq_trace_reader *r;
	struct sink out = {0};
	struct nq_event ev;
	enum nq_read_status st;
	int rc = NQ_EXIT_OK;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opts && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			usage(stdout);
			return NQ_EXIT_OK;
		} else if (opts && !strcmp(a, "--to") && i + 1 < argc) {
			to = argv[++i];
		} else if (opts && !strncmp(a, "--to=", 5)) {
			to = a + 5;
		} else if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && a[0] == '-' && a[1]) {
			fprintf(stderr, "nestirq convert: unknown option '%s' (try --help)\n", a);
			return NQ_EXIT_USAGE;
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			fprintf(stderr, "nestirq convert: too many arguments (try --help)\n");
			return NQ_EXIT_USAGE;
		}
	}
	if (npos != 2) {
		usage(stderr);
		return NQ_EXIT_USAGE;
	}
	if (to && strcmp(to, "jsonl") && strcmp(to, "binary")) {
		fprintf(stderr, "nestirq convert: --to takes jsonl or binary, not '%s'\n", to);
		return NQ_EXIT_USAGE;
	}
	jsonl = to ? !strcmp(to, "jsonl")
		   : ends_with(pos[1], ".jsonl") || ends_with(pos[1], ".json");
	if (!jsonl && !strcmp(pos[1], "-") && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "nestirq convert: not writing a binary trace to a terminal "
				"(use --to jsonl)\n");
		return NQ_EXIT_USAGE;
	}
	if (same_file(pos[0], pos[1])) {
		fprintf(stderr, "nestirq convert: %s: input and output are the same file\n",
			pos[0]);
		return NQ_EXIT_USAGE;
	}

	r = nq_trace_reader_open(pos[0], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "nestirq convert: %s: %s\n", shown(pos[0], true), err);
		return NQ_EXIT_USAGE;
	}
	if (sink_open(&out, pos[1], jsonl, nq_trace_reader_meta(r))) {
		sink_close(&out);
		nq_trace_reader_close(r);
		return NQ_EXIT_USAGE;
	}
	while ((st = nq_trace_read(r, &ev)) == NQ_READ_EVENT) {
		if (sink_put(&out, &ev)) {
			write_failed = true; /* the reason comes from sink_close */
			break;
		}
	}
	if (st == NQ_READ_ERROR) {
		fprintf(stderr, "nestirq convert: %s: %s\n", shown(pos[0], true),
			nq_trace_reader_error(r));
		rc = NQ_EXIT_DAMAGED;
	}
	/* A write error wins: the output is then not what was read. */
	if (sink_close(&out)) {
		rc = NQ_EXIT_USAGE;
	} else if (write_failed) {
		fprintf(stderr, "nestirq convert: %s: write error\n", out.name);
		rc = NQ_EXIT_USAGE;
	}
	nq_trace_reader_close(r);
	return rc;
}
