// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nestirq record: trace the live hypervisor into a binary trace file, with
 * the host, flow and probe plan in its header and NQ_EV_LOST markers where
 * the kernel dropped records.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_live.h"
#include "live/live.h"
#include "nestirq/trace.h"

struct record {
	struct nq_trace_writer *w;
	uint64_t events, lost;
	int write_err;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nestirq record -o FILE [-p PID] [--duration T]\n"
		"\n"
		"Trace the live hypervisor into a binary trace for `nestirq replay`.\n"
		"The header carries the kernel, host, detected flow, nVMX/nSVM and the probe\n"
		"plan; records the kernel had to drop appear as 'lost' markers.\n"
		"\n"
		"  -o, --output FILE  the trace file (- for standard output)\n"
		"  -p, --pid PID      only this hypervisor process\n"
		"  -d, --duration T   stop after T (10, 10s, 500ms, 2m); default: until Ctrl-C\n"
		"\n"
		"A one-line summary (events, drops) goes to standard error.\n"
		"exit: 0 recorded, 2 usage, setup or write error,\n"
		"      4 this host cannot load the BPF programs\n");
}

static void on_event(const struct nq_event *ev, void *ctx)
{
	struct record *r = ctx;

	if (ev->h.kind == NQ_EV_LOST)
		r->lost += ev->lost.count;
	else
		r->events++;
	if (!r->write_err && nq_trace_write(r->w, ev))
		r->write_err = 1;
}

/* A write error ends the recording: nothing after it would reach the file. */
static bool write_failed(void *ctx)
{
	struct record *r = ctx;

	return r->write_err;
}

struct record_opts {
	const char *path;
	long long duration_ms;
	uint32_t tgid;
};

/* Flags into *o; -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct record_opts *o)
{
	static const struct option long_opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"pid", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:p:d:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->path = optarg;
			break;
		case 'p':
			if (nq_cli_parse_pid("record", optarg, &o->tgid))
				return NQ_EXIT_USAGE;
			break;
		case 'd':
			if (nq_cli_parse_duration("record", "--duration", optarg, &o->duration_ms))
				return NQ_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return NQ_EXIT_OK;
		default:
			nq_cli_bad_option("record", argv, c, optopt);
			return NQ_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "nestirq record: unexpected argument '%s' (try --help)\n",
			argv[optind]);
		return NQ_EXIT_USAGE;
	}
	if (!o->path || !*o->path) {
		fprintf(stderr, "nestirq record: -o FILE is required (try --help)\n");
		return NQ_EXIT_USAGE;
	}
	return -1;
}

/* The trace file, its header carrying the plan as attached. */
static struct nq_trace_writer *open_writer(struct nq_live *l, const char *path)
{
	struct nq_trace_meta meta;
	struct nq_trace_writer *w;
	char err[NQ_TRACE_ERR_LEN];

	nq_plan_meta(nq_live_plan(l), nq_live_sysinfo(l), &meta);
	if (!strcmp(path, "-"))
		w = nq_trace_writer_fdopen(stdout, &meta, err, sizeof(err));
	else
		w = nq_trace_writer_open(path, &meta, err, sizeof(err));
	if (!w)
		fprintf(stderr, "nestirq record: %s: %s\n", path, err);
	return w;
}

/* "N events, M dropped (cpu0 A, cpu1 B) -> FILE" on stderr. */
static void print_summary(const struct record *r, struct nq_live *l, const char *path)
{
	fprintf(stderr, "nestirq record: %" PRIu64 " events, %" PRIu64 " dropped", r->events,
		r->lost);
	if (r->lost) {
		fprintf(stderr, " (");
		for (int cpu = 0, first = 1; cpu < nq_live_ncpus(l); cpu++) {
			if (!nq_live_drops_cpu(l, cpu))
				continue;
			fprintf(stderr, "%scpu%d %" PRIu64, first ? "" : ", ", cpu,
				nq_live_drops_cpu(l, cpu));
			first = 0;
		}
		fprintf(stderr, ")");
	}
	fprintf(stderr, " -> %s\n", path);
}

int cmd_record(int argc, char **argv)
{
	struct record_opts ro = {0};
	struct record r = {0};
	struct nq_live_opts o = {0};
	struct nq_cli_loop lp = {.cmd = "record", .ctx = &r, .should_stop = write_failed};
	struct nq_live *l;
	char err[NQ_TRACE_ERR_LEN];
	int rc = parse(argc, argv, &ro);

	if (rc >= 0)
		return rc;
	rc = NQ_EXIT_OK;
	nq_live_install_signals();
	o.tgid = ro.tgid;
	o.cb = on_event;
	o.ctx = &r;
	o.quiet = true;
	l = nq_live_open(&o, err, sizeof(err));
	if (!l) {
		fprintf(stderr, "nestirq record: %s\n", err);
		return NQ_EXIT_UNSUPPORTED;
	}
	r.w = open_writer(l, ro.path);
	if (!r.w) {
		nq_live_close(l);
		return NQ_EXIT_USAGE;
	}
	nq_cli_print_attached("record", l);

	lp.live = l;
	lp.duration_ms = ro.duration_ms;
	if (nq_cli_live_loop(&lp))
		rc = NQ_EXIT_USAGE;
	if (r.write_err) {
		fprintf(stderr, "nestirq record: %s: write failed\n", ro.path);
		rc = NQ_EXIT_USAGE;
	}
	if (nq_trace_writer_close(r.w, err, sizeof(err))) {
		fprintf(stderr, "nestirq record: %s: %s\n", ro.path, err);
		rc = NQ_EXIT_USAGE;
	}
	print_summary(&r, l, ro.path);
	nq_live_close(l);
	return rc;
}
