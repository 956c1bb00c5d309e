// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nestirq replay: run the engine over a recorded trace and print the live report. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nestirq/engine.h"
#include "nestirq/ratelimit.h"
#include "nestirq/report.h"
#include "nestirq/trace.h"

struct replay_opts {
	bool json;
	bool quiet;
	bool all;
	unsigned int max_vcpus;
	struct nq_ratelimit *rl;
};

static void print_suppressed(const struct nq_rl_report *r, void *ctx)
{
	const struct replay_opts *o = ctx;

	nq_ratelimit_print(stdout, r, o->json);
}

/* Trace time drives the limiter, so the output does not depend on the host's speed. */
static void print_violation(const struct nq_violation *v, void *ctx)
{
	const struct replay_opts *o = ctx;

	if (!o->quiet && nq_ratelimit_allow(o->rl, nq_rl_kind(v), v->tgid, v->ts_ns))
		nq_report_violation(stdout, v, o->json);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nestirq replay [--json] [--quiet] [--all-violations] [--max-vcpus N] FILE\n"
		"\n"
		"Analyse a trace written by `nestirq record` (binary) or a JSON-lines trace.\n"
		"FILE may be - for standard input.\n"
		"\n"
		"  --json          one JSON object per line: trace header, findings, summary\n"
		"  --quiet         print only the summary\n"
		"  --all-violations  print every finding (default: the first 5 of each\n"
		"                  (kind, VM) in full, then one line per 10 s of trace time\n"
		"                  saying how many more were suppressed; counts stay exact)\n"
		"  --max-vcpus N   bound on tracked vCPUs (default 1024, LRU beyond)\n"
		"\n"
		"exit: 0 no violation, 1 violations, 2 usage or unreadable file,\n"
		"      3 trace damaged (events before the damage were analysed)\n");
}

/* Flags into *o; -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct replay_opts *o)
{
	static const struct option long_opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"max-vcpus", required_argument, NULL, 'm'},
		{"all-violations", no_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jqh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'A':
			o->all = true;
			break;
		case 'm':
			o->max_vcpus = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !o->max_vcpus || o->max_vcpus > 1u << 20) {
				fprintf(stderr,
					"nestirq replay: --max-vcpus wants 1..1048576, got '%s'\n",
					optarg);
				return NQ_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return NQ_EXIT_OK;
		default:
			fprintf(stderr, "nestirq replay: bad option (try --help)\n");
			return NQ_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "nestirq replay: expected exactly one trace file (try --help)\n");
		return NQ_EXIT_USAGE;
	}
	return -1;
}

/* The engine over every record of r; the exit code. */
static int analyse(struct replay_opts *o, struct nq_trace_reader *r, const char *path)
{
	struct nq_engine_config cfg = {0};
	struct nq_engine *e;
	struct nq_event ev;
	enum nq_read_status st;
	int rc;

	nq_ratelimit_init(o->rl, o->all ? 0 : NQ_RL_BURST, NQ_RL_INTERVAL_NS, print_suppressed, o);
	cfg.max_vcpus = o->max_vcpus;
	cfg.on_violation = print_violation;
	cfg.on_info = print_violation;
	cfg.ctx = o;
	e = nq_engine_new(&cfg);
	if (!e) {
		fprintf(stderr, "nestirq replay: out of memory\n");
		return NQ_EXIT_USAGE;
	}
	if (!o->quiet)
		nq_report_meta(stdout, nq_trace_reader_meta(r), o->json);

	while ((st = nq_trace_read(r, &ev)) == NQ_READ_EVENT)
		nq_engine_feed(e, &ev);
	nq_engine_finish(e);
	if (!o->quiet)
		nq_ratelimit_flush(o->rl, 0, true);
	if (st == NQ_READ_ERROR) {
		fflush(stdout);
		fprintf(stderr, "nestirq replay: %s: %s\n", path, nq_trace_reader_error(r));
	}
	nq_report_summary_damaged(stdout, nq_engine_stats(e), o->json,
				  st == NQ_READ_ERROR ? nq_trace_reader_error(r) : NULL);

	if (nq_engine_stats(e)->violations)
		rc = NQ_EXIT_VIOLATION;
	else
		rc = st == NQ_READ_ERROR ? NQ_EXIT_DAMAGED : NQ_EXIT_OK;
	nq_engine_free(e);
	return rc;
}

int cmd_replay(int argc, char **argv)
{
	struct replay_opts o = {0};
	struct nq_trace_reader *r;
	char err[NQ_TRACE_ERR_LEN];
	int rc = parse(argc, argv, &o);

	if (rc >= 0)
		return rc;
	r = nq_trace_reader_open(argv[optind], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "nestirq replay: %s: %s\n", argv[optind], err);
		return NQ_EXIT_USAGE;
	}
	o.rl = malloc(sizeof(*o.rl));
	if (!o.rl) {
		fprintf(stderr, "nestirq replay: out of memory\n");
		nq_trace_reader_close(r);
		return NQ_EXIT_USAGE;
	}
	rc = analyse(&o, r, argv[optind]);
	nq_trace_reader_close(r);
	free(o.rl);
	return rc;
}
