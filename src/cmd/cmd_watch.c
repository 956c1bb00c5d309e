// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nestirq watch: trace the live hypervisor, feed the invariant engine and
 * stream violations as they are proven.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_live.h"
#include "common/json_writer.h"
#include "live/live.h"
#include "nestirq/engine.h"
#include "nestirq/ratelimit.h"
#include "nestirq/report.h"
#include "nestirq/tty.h"

#define MAX_VMS 256

struct watch {
	bool json;
	bool tty;   /* stdout is a terminal: a status line rewritten in place */
	bool color; /* colour only on a terminal (or --color always) */
	enum nq_color_mode color_mode;
	bool interval_set;
	uint32_t tgid;
	long long vcpu; /* -1: every vCPU */
	long long duration_ms, interval_ms;
	struct nq_engine *engine;
	uint64_t violations; /* reported (after the vCPU filter) */
	uint64_t last_by_kind[NQ_EV__MAX];
	uint64_t last_events, last_ms;
	uint32_t vms[MAX_VMS];
	char labels[MAX_VMS][96];
	int nvms;
	struct nq_live *live;
	struct nq_ratelimit *rl;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nestirq watch [-p PID] [--vcpu N] [--duration T] [--interval T] [--json]\n"
		"                     [--color auto|always|never]\n"
		"\n"
		"Trace the live hypervisor and report invariant violations as they happen.\n"
		"VMs are labelled by process id and QEMU -name.  The first 5 violations of\n"
		"each (kind, VM) are shown in full, then one line per 10 s says how many more\n"
		"were suppressed (the counts stay exact).\n"
		"\n"
		"  -p, --pid PID     only this hypervisor process\n"
		"      --vcpu N      only this vCPU\n"
		"  -d, --duration T  stop after T (10, 10s, 500ms, 2m); default: until Ctrl-C\n"
		"  -i, --interval T  one summary line every T (default 5s; 0 disables); on a\n"
		"                    terminal, the status line refreshes every T (default 1s)\n"
		"      --json        JSON lines: vm, violation, interval and summary objects\n"
		"      --color WHEN  auto (default: only on a terminal, not with NO_COLOR),\n"
		"                    always or never\n"
		"\n"
		"exit: 0 no violation, 1 violations, 2 usage or setup error,\n"
		"      4 this host cannot load the BPF programs\n");
}

static const char *label_of(struct watch *w, uint32_t tgid)
{
	for (int i = 0; i < w->nvms; i++)
		if (w->vms[i] == tgid)
			return w->labels[i];
	return NULL;
}

static void learn_vm(struct watch *w, uint32_t tgid)
{
	char *lab;

	if (!tgid || label_of(w, tgid) || w->nvms >= MAX_VMS)
		return;
	w->vms[w->nvms] = tgid;
	lab = w->labels[w->nvms++];
	nq_vm_label(tgid, lab, sizeof(w->labels[0]));
	if (w->json) {
		struct nq_json j;

		nq_json_init(&j, stdout);
		nq_json_begin_object(&j);
		nq_json_kstr(&j, "type", "vm");
		nq_json_ku64(&j, "pid", tgid);
		nq_json_kstr(&j, "label", lab);
		nq_json_end_object(&j);
		putchar('\n');
	} else {
		if (w->tty)
			nq_tty_status_clear(stdout);
		printf("vm: %s\n", lab);
	}
	fflush(stdout);
}

static void on_violation(const struct nq_violation *v, void *ctx)
{
	struct watch *w = ctx;
	const char *lab;

	if (w->vcpu >= 0 && v->vcpu_id != (uint32_t)w->vcpu)
		return;
	if (v->severity == NQ_SEV_VIOLATION)
		w->violations++;
	if (!nq_ratelimit_allow(w->rl, nq_rl_kind(v), v->tgid, nq_cli_now_ms() * 1000000u))
		return;
	lab = label_of(w, v->tgid);
	if (w->tty && !w->json)
		nq_tty_status_clear(stdout);
	if (!w->json)
		printf("%s[%s] ", w->color ? "\033[1;31m" : "", lab ? lab : "vm ?");
	nq_report_violation(stdout, v, w->json);
	if (w->color && !w->json)
		printf("\033[0m");
	fflush(stdout);
}

static void on_suppressed(const struct nq_rl_report *r, void *ctx)
{
	struct watch *w = ctx;

	if (w->tty && !w->json)
		nq_tty_status_clear(stdout);
	nq_ratelimit_print(stdout, r, w->json);
	fflush(stdout);
}

static void on_event(const struct nq_event *ev, void *ctx)
{
	struct watch *w = ctx;

	if (w->vcpu >= 0 && ev->h.kind != NQ_EV_LOST && ev->h.vcpu_id != NQ_VCPU_UNKNOWN &&
	    ev->h.vcpu_id != (uint32_t)w->vcpu)
		return;
	if (ev->h.kind != NQ_EV_LOST && ev->h.kind != NQ_EV_COUNT)
		learn_vm(w, ev->h.tgid);
	nq_engine_feed(w->engine, ev);
}

static void interval_json(const struct watch *w, const struct nq_stats *s, uint64_t elapsed_ms,
			  double dt)
{
	struct nq_json j;

	nq_json_init(&j, stdout);
	nq_json_begin_object(&j);
	nq_json_kstr(&j, "type", "interval");
	nq_json_ku64(&j, "t_ms", elapsed_ms);
	nq_json_ku64(&j, "events", s->events);
	nq_json_key(&j, "events_per_s");
	nq_json_double(&j, (double)(s->events - w->last_events) / dt, 1);
	nq_json_key(&j, "by_kind_per_s");
	nq_json_begin_object(&j);
	for (int k = 1; k < NQ_EV__MAX; k++) {
		uint64_t d = s->by_kind[k] - w->last_by_kind[k];

		if (!d)
			continue;
		nq_json_key(&j, nq_kind_name(k));
		nq_json_double(&j, (double)d / dt, 1);
	}
	nq_json_end_object(&j);
	nq_json_ku64(&j, "pairs", s->pairs);
	nq_json_ku64(&j, "violations", w->violations);
	nq_json_ku64(&j, "drops", nq_live_drops(w->live));
	nq_json_end_object(&j);
	putchar('\n');
}

static void tick(void *ctx, uint64_t elapsed_ms)
{
	struct watch *w = ctx;
	const struct nq_stats *s = nq_engine_stats(w->engine);
	double dt = (double)(elapsed_ms - w->last_ms) / 1000.0;
	bool first = true;

	nq_ratelimit_flush(w->rl, nq_cli_now_ms() * 1000000u, false);
	if (dt <= 0)
		dt = 1;
	if (w->tty && !w->json) {
		struct nq_tty_status st = {
			.elapsed_ms = elapsed_ms,
			.events = s->events,
			.events_per_s = (double)(s->events - w->last_events) / dt,
			.pairs = s->pairs,
			.violations = w->violations,
			.drops = nq_live_drops(w->live),
			.probes_total = NQ_PT__MAX,
		};
		const struct nq_plan *plan = nq_live_plan(w->live);
		char line[512];

		for (int i = 0; i < NQ_PT__MAX; i++)
			st.probes_attached += plan->pt[i].status == NQ_PS_ATTACHED;
		nq_tty_status_line(line, sizeof(line), &st, nq_tty_width(1), w->color);
		nq_tty_status_update(stdout, line);
	} else if (w->json) {
		interval_json(w, s, elapsed_ms, dt);
	} else {
		printf("[%7.1fs] %.1f events/s (", (double)elapsed_ms / 1000.0,
		       (double)(s->events - w->last_events) / dt);
		for (int k = 1; k < NQ_EV__MAX; k++) {
			uint64_t d = s->by_kind[k] - w->last_by_kind[k];

			if (!d)
				continue;
			printf("%s%s %.1f", first ? "" : ", ", nq_kind_name(k), (double)d / dt);
			first = false;
		}
		printf("%s), pairs %" PRIu64 ", violations %" PRIu64 ", drops %" PRIu64 "\n",
		       first ? "none" : "", s->pairs, w->violations, nq_live_drops(w->live));
	}
	fflush(stdout);
	memcpy(w->last_by_kind, s->by_kind, sizeof(w->last_by_kind));
	w->last_events = s->events;
	w->last_ms = elapsed_ms;
}

static void print_drops(const char *cmd, struct nq_live *l)
{
	if (!nq_live_drops(l))
		return;
	fprintf(stderr, "nestirq %s: %" PRIu64 " records dropped (ring buffer full):", cmd,
		nq_live_drops(l));
	for (int c = 0; c < nq_live_ncpus(l); c++)
		if (nq_live_drops_cpu(l, c))
			fprintf(stderr, " cpu%d %" PRIu64, c, nq_live_drops_cpu(l, c));
	fprintf(stderr, "\n");
}

/* Flags into *w; -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct watch *w)
{
	static const struct option long_opts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"vcpu", required_argument, NULL, 'v'},
		{"duration", required_argument, NULL, 'd'},
		{"interval", required_argument, NULL, 'i'},
		{"json", no_argument, NULL, 'j'},
		{"color", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char *end;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:d:i:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (nq_cli_parse_pid("watch", optarg, &w->tgid))
				return NQ_EXIT_USAGE;
			break;
		case 'v':
			w->vcpu = strtoll(optarg, &end, 10);
			if (!*optarg || *end || w->vcpu < 0 || w->vcpu >= 0xffffffffll) {
				fprintf(stderr, "nestirq watch: --vcpu wants a vCPU id, got '%s'\n",
					optarg);
				return NQ_EXIT_USAGE;
			}
			break;
		case 'd':
			if (nq_cli_parse_duration("watch", "--duration", optarg, &w->duration_ms))
				return NQ_EXIT_USAGE;
			break;
		case 'i':
			if (!strcmp(optarg, "0")) {
				w->interval_ms = 0;
				break;
			}
			if (nq_cli_parse_duration("watch", "--interval", optarg, &w->interval_ms))
				return NQ_EXIT_USAGE;
			w->interval_set = true;
			break;
		case 'c':
			if (nq_color_mode_parse(optarg) < 0) {
				fprintf(stderr,
					"nestirq watch: --color wants auto, always or never, got "
					"'%s'\n",
					optarg);
				return NQ_EXIT_USAGE;
			}
			w->color_mode = (enum nq_color_mode)nq_color_mode_parse(optarg);
			break;
		case 'j':
			w->json = true;
			break;
		case 'h':
			usage(stdout);
			return NQ_EXIT_OK;
		default:
			nq_cli_bad_option("watch", argv, c, optopt);
			return NQ_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "nestirq watch: unexpected argument '%s' (try --help)\n",
			argv[optind]);
		return NQ_EXIT_USAGE;
	}
	return -1;
}

/* Opens and attaches; -1 to go on, else the exit code. */
static int open_live(struct watch *w)
{
	struct nq_live_opts o = {0};
	char err[256];

	nq_live_install_signals();
	o.tgid = w->tgid;
	o.cb = on_event;
	o.ctx = w;
	o.quiet = true;
	/* Accepts with nothing to pair them: counted in the kernel (not per vCPU). */
	o.count_accepts = w->vcpu < 0;
	w->live = nq_live_open(&o, err, sizeof(err));
	if (!w->live) {
		fprintf(stderr, "nestirq watch: %s\n", err);
		return NQ_EXIT_UNSUPPORTED;
	}
	nq_cli_print_attached("watch", w->live);
	if (w->tgid)
		learn_vm(w, w->tgid);
	return -1;
}

static void print_summary(struct watch *w)
{
	nq_engine_finish(w->engine);
	nq_ratelimit_flush(w->rl, 0, true);
	if (w->tty) {
		nq_tty_status_clear(stdout);
		nq_tty_summary(stdout, nq_engine_stats(w->engine), nq_live_drops(w->live),
			       w->color);
	} else {
		nq_report_summary(stdout, nq_engine_stats(w->engine), w->json);
	}
	fflush(stdout);
	print_drops("watch", w->live);
}

int cmd_watch(int argc, char **argv)
{
	struct watch w;
	struct nq_engine_config cfg = {0};
	struct nq_cli_loop lp = {.cmd = "watch", .ctx = &w, .tick = tick};
	int rc;

	memset(&w, 0, sizeof(w));
	w.vcpu = -1;
	w.interval_ms = 5000;
	rc = parse(argc, argv, &w);
	if (rc >= 0)
		return rc;
	w.tty = isatty(STDOUT_FILENO) && !w.json;
	w.color = !w.json && nq_color_for_fd(STDOUT_FILENO, w.color_mode);
	if (w.tty && !w.interval_set)
		w.interval_ms = 1000; /* a live status line wants a faster refresh */

	cfg.on_violation = on_violation;
	cfg.on_info = on_violation; /* printed as INFO, never counted as a violation */
	cfg.ctx = &w;
	w.rl = malloc(sizeof(*w.rl));
	w.engine = w.rl ? nq_engine_new(&cfg) : NULL;
	if (!w.engine) {
		fprintf(stderr, "nestirq watch: out of memory\n");
		free(w.rl);
		return NQ_EXIT_USAGE;
	}
	nq_ratelimit_init(w.rl, NQ_RL_BURST, NQ_RL_INTERVAL_NS, on_suppressed, &w);
	rc = open_live(&w);
	if (rc >= 0) {
		nq_engine_free(w.engine);
		free(w.rl);
		return rc;
	}
	lp.live = w.live;
	lp.duration_ms = w.duration_ms;
	lp.interval_ms = w.interval_ms;
	rc = nq_cli_live_loop(&lp);
	print_summary(&w);
	nq_live_close(w.live);
	nq_engine_free(w.engine);
	free(w.rl);
	if (rc)
		return NQ_EXIT_USAGE;
	return w.violations ? NQ_EXIT_VIOLATION : NQ_EXIT_OK;
}
