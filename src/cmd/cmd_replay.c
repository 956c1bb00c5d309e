// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nestirq replay: run the engine over a recorded trace and print the live report. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nestirq/engine.h"
#include "nestirq/report.h"
#include "nestirq/trace.h"

struct replay_opts {
	bool json;
	bool quiet;
	unsigned int max_vcpus;
};

static void print_violation(const struct nq_violation *v, void *ctx)
{
	const struct replay_opts *o = ctx;

	if (!o->quiet)
		nq_report_violation(stdout, v, o->json);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: nestirq replay [--json] [--quiet] [--max-vcpus N] FILE\n"
		     "\n"
		     "Analyse a trace written by `nestirq record` (binary) or a JSON-lines trace.\n"
		     "FILE may be - for standard input.\n"
		     "\n"
		     "  --json          one JSON object per line: trace header, findings, summary\n"
		     "  --quiet         print only the summary\n"
		     "  --max-vcpus N   bound on tracked vCPUs (default 1024, LRU beyond)\n"
		     "\n"
		     "exit: 0 no violation, 1 violations, 2 usage or unreadable file,\n"
		     "      3 trace damaged (events before the damage were analysed)\n");
}

int cmd_replay(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"max-vcpus", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct replay_opts o = {0};
	struct nq_engine_config cfg = {0};
	struct nq_trace_reader *r;
	struct nq_engine *e;
	struct nq_event ev;
	enum nq_read_status st;
	char err[NQ_TRACE_ERR_LEN];
	char *end;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jqh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'm':
			o.max_vcpus = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !o.max_vcpus || o.max_vcpus > 1u << 20) {
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

	r = nq_trace_reader_open(argv[optind], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "nestirq replay: %s: %s\n", argv[optind], err);
		return NQ_EXIT_USAGE;
	}
	cfg.max_vcpus = o.max_vcpus;
	cfg.on_violation = print_violation;
	cfg.on_info = print_violation;
	cfg.ctx = &o;
	e = nq_engine_new(&cfg);
	if (!e) {
		fprintf(stderr, "nestirq replay: out of memory\n");
		nq_trace_reader_close(r);
		return NQ_EXIT_USAGE;
	}
	if (!o.quiet)
		nq_report_meta(stdout, nq_trace_reader_meta(r), o.json);

	while ((st = nq_trace_read(r, &ev)) == NQ_READ_EVENT)
		nq_engine_feed(e, &ev);
	nq_engine_finish(e);
	if (st == NQ_READ_ERROR) {
		fflush(stdout);
		fprintf(stderr, "nestirq replay: %s: %s\n", argv[optind], nq_trace_reader_error(r));
	}
	nq_report_summary_damaged(stdout, nq_engine_stats(e), o.json,
				  st == NQ_READ_ERROR ? nq_trace_reader_error(r) : NULL);

	if (nq_engine_stats(e)->violations)
		rc = NQ_EXIT_VIOLATION;
	else
		rc = st == NQ_READ_ERROR ? NQ_EXIT_DAMAGED : NQ_EXIT_OK;
	nq_engine_free(e);
	nq_trace_reader_close(r);
	return rc;
}
