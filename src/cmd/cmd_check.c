// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nestirq check: a CI gate.  Checks the live hypervisor for --duration, or
 * for as long as a workload runs (`-- CMD ARGS`), or a recorded trace
 * (--replay), and reports one TAP 13 test point per violation kind (SKIP
 * when the attached probes cannot prove it) plus points about the run.
 * JUnit XML on request.  stdout carries only TAP: the workload's stdout is
 * sent to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_live.h"
#include "live/live.h"
#include "nestirq/engine.h"
#include "nestirq/gate.h"
#include "nestirq/trace.h"

#define WORKLOAD_GRACE_MS 5000 /* SIGTERM, then SIGKILL after this */

struct check {
	const char *replay, *junit;
	long long duration_ms;
	uint32_t tgid;
	bool required[NQ_V__MAX];
	char **cmd; /* workload argv, or NULL */
	struct nq_engine *engine;
	struct nq_gate gate;
	pid_t child;
	int child_status; /* wait status, valid when child_done */
	bool child_done;
};

/* The violation kinds by name, from the engine's table, wrapped at width (0: never). */
static void list_invariants(FILE *out, const char *lead, const char *sep, size_t width)
{
	size_t col = strlen(lead), indent = col + strlen(sep);

	fputs(lead, out);
	for (int k = 0; k < NQ_V__MAX; k++) {
		const char *name = nq_violation_name(k);

		if (k && width && col + strlen(sep) + strlen(name) > width) {
			fprintf(out, "\n%*s", (int)indent, "");
			col = indent;
		} else {
			fputs(k ? sep : " ", out);
			col += k ? strlen(sep) : 1;
		}
		fputs(name, out);
		col += strlen(name);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nestirq check [--duration T] [-p PID] [--require INV[,INV...]]\n"
		"                     [--junit FILE] [-- CMD [ARGS...]]\n"
		"       nestirq check --replay FILE [--require INV[,INV...]] [--junit FILE]\n"
		"\n"
		"A CI gate: check the invariants on the live hypervisor for a duration, for\n"
		"as long as CMD runs, or over a recorded trace, and print TAP version 13:\n"
		"one test point per violation kind (# SKIP when the probes that could be\n"
		"attached cannot prove it), plus no_lost_events and, with CMD, workload.\n"
		"CMD's stdout goes to stderr so that stdout stays valid TAP.\n"
		"\n"
		"  -d, --duration T     check for T (10, 10s, 500ms, 2m); with CMD, a time limit\n"
		"  -p, --pid PID        only this hypervisor process\n"
		"      --replay FILE    check a recorded trace instead of the live host\n"
		"  -r, --require INV    fail with exit 4 if INV cannot be checked here\n"
		"                       (violation kind names, comma list or repeated)\n"
		"      --junit FILE     also write JUnit XML to FILE\n"
		"\n");
	list_invariants(out, "invariants:", " ", 76);
	fprintf(out, "\n\n"
		     "exit: 0 every checked invariant held, 1 a test point failed (violation,\n"
		     "      lost events, or CMD failed), 2 usage or setup error, 3 replayed trace\n"
		     "      damaged, 4 environment unsupported (no BPF, not root, or a --require\n"
		     "      invariant cannot be checked)\n");
}

static int parse_require(struct check *c, const char *list)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k = nq_violation_from_name(t);

		if (k < 0) {
			fprintf(stderr, "nestirq check: --require: unknown invariant '%s' (one of",
				t);
			list_invariants(stderr, "", ", ", 0);
			fprintf(stderr, ")\n");
			return -1;
		}
		c->required[k] = true;
	}
	return 0;
}

static void on_violation(const struct nq_violation *v, void *ctx)
{
	struct check *c = ctx;

	nq_gate_violation(&c->gate, v);
}

static void on_event(const struct nq_event *ev, void *ctx)
{
	struct check *c = ctx;

	nq_engine_feed(c->engine, ev);
}

/* Rebuilds the probe plan a trace was recorded with from its header. */
static void plan_from_meta(const struct nq_trace_meta *m, struct nq_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->ack_sym =
		strcmp(m->flow, "<=6.11") ? "kvm_apic_ack_interrupt" : "kvm_get_apic_interrupt";
	if (!m->plan.n) {
		/* No plan recorded (hand-written scenarios): judge everything. */
		for (int i = 0; i < NQ_PT__MAX; i++)
			p->pt[i].status = NQ_PS_ATTACHED;
		return;
	}
	for (int i = 0; i < NQ_PT__MAX; i++) {
		const struct nq_plan_entry *e = nq_plan_find(&m->plan, nq_point_names[i]);

		if (e && e->status == NQ_PS_ATTACHED)
			p->pt[i].status = NQ_PS_ATTACHED;
		else if (e)
			snprintf(p->pt[i].reason, sizeof(p->pt[i].reason), "%s", e->reason);
	}
}

/* "needs probe check_vmx (kprobes disabled)" for a kind the plan cannot check. */
static bool checkable(const struct nq_plan *p, int k, char *why, size_t len)
{
	const char *pt = NULL;

	if (nq_plan_can_check(p, k, &pt))
		return true;
	for (int i = 0; i < NQ_PT__MAX; i++)
		if (pt && !strcmp(pt, nq_point_names[i]) && p->pt[i].reason[0]) {
			snprintf(why, len, "needs probe %s: %s", pt, p->pt[i].reason);
			return false;
		}
	snprintf(why, len, "needs probe %s", pt ? pt : "?");
	return false;
}

/*
 * One point per violation kind, SKIP where the plan cannot prove it.
 * Returns the first --require'd kind that cannot be checked, or -1.
 */
static int plan_points(struct check *c, const struct nq_plan *p, char *why, size_t len)
{
	int missing = -1;

	for (int k = 0; k < NQ_V__MAX; k++) {
		struct nq_gate_point *pt =
			nq_gate_add(&c->gate, nq_violation_name(k), nq_violation_invariant(k), k);
		char w[200];

		if (!checkable(p, k, w, sizeof(w))) {
			nq_gate_skip(pt, "%s", w);
			if (c->required[k] && missing < 0) {
				missing = k;
				snprintf(why, len, "%s", w);
			}
		}
	}
	return missing;
}

/* Every probe the plan selected did attach (FAILED means a load or attach error). */
static void attach_point(struct check *c, const struct nq_plan *p)
{
	struct nq_gate_point *pt = nq_gate_add(&c->gate, "probes_attached", NULL, -1);
	int failed = 0, attached = 0;

	for (int i = 0; i < NQ_PT__MAX && pt; i++) {
		attached += p->pt[i].status == NQ_PS_ATTACHED;
		if (p->pt[i].status != NQ_PS_FAILED)
			continue;
		if (!failed++)
			nq_gate_fail(pt, "a selected probe failed to attach: %s: %s",
				     nq_point_names[i], p->pt[i].reason);
		nq_gate_diag(pt, nq_point_names[i], "%s", p->pt[i].reason);
	}
	if (pt && !failed && !attached)
		nq_gate_fail(pt, "no probe point attached: nothing can be observed");
}

static int setup_failed(struct check *c, int code, const char *reason)
{
	fprintf(stderr, "nestirq check: %s\n", reason);
	nq_gate_tap_skip_all(stdout, reason);
	if (c->junit) {
		FILE *f = fopen(c->junit, "we");
		struct nq_gate_point *p;

		nq_gate_init(&c->gate, "nestirq check");
		p = nq_gate_add(&c->gate, "environment", NULL, -1);
		nq_gate_skip(p, "%s", reason);
		if (f) {
			nq_gate_junit(f, &c->gate);
			fclose(f);
		}
	}
	return code;
}

/* fork + exec with a CLOEXEC pipe, so that a failed exec is a setup error. */
static int start_workload(struct check *c, char *err, size_t errlen)
{
	int p[2], e = 0;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	c->child = fork();
	if (c->child < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (c->child == 0) {
		close(p[0]);
		dup2(2, 1); /* keep our stdout pure TAP */
		execvp(c->cmd[0], c->cmd);
		e = errno;
		if (write(p[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(p[1]);
	do
		n = read(p[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		waitpid(c->child, NULL, 0);
		c->child = 0;
		snprintf(err, errlen, "cannot run '%s': %s", c->cmd[0], strerror(e));
		return -1;
	}
	return 0;
}

static void reap(struct check *c, int flags)
{
	int st;

	if (c->child > 0 && !c->child_done && waitpid(c->child, &st, flags) == c->child) {
		c->child_status = st;
		c->child_done = true;
	}
}

static void stop_workload(struct check *c)
{
	uint64_t until;

	reap(c, WNOHANG);
	if (c->child <= 0 || c->child_done)
		return;
	kill(c->child, SIGTERM);
	until = nq_cli_now_ms() + WORKLOAD_GRACE_MS;
	while (!c->child_done && nq_cli_now_ms() < until) {
		usleep(20000);
		reap(c, WNOHANG);
	}
	if (!c->child_done) {
		kill(c->child, SIGKILL);
		reap(c, 0);
	}
}

/* With a workload, the run lasts as long as it does. */
static bool workload_done(void *ctx)
{
	struct check *c = ctx;

	if (!c->cmd)
		return false;
	reap(c, WNOHANG);
	return c->child_done;
}

/* Opens the live side and adds the plan's points; NULL if the run cannot go on. */
static struct nq_live *open_live(struct check *c, int *rc)
{
	struct nq_live_opts o = {0};
	struct nq_live *l;
	const struct nq_sysinfo *si;
	char err[256], why[256];
	int missing;

	if (geteuid() != 0)
		nq_gate_prop(&c->gate, "note",
			     "not root: loading BPF needs CAP_BPF and CAP_PERFMON");
	o.tgid = c->tgid;
	o.cb = on_event;
	o.ctx = c;
	o.quiet = true;
	nq_live_install_signals();
	l = nq_live_open(&o, err, sizeof(err));
	if (!l) {
		*rc = setup_failed(c, NQ_EXIT_UNSUPPORTED, err);
		return NULL;
	}
	si = nq_live_sysinfo(l);
	nq_gate_prop(&c->gate, "source", "live");
	nq_gate_prop(&c->gate, "kernel", si->release);
	nq_gate_prop(&c->gate, "flow", si->flow);
	nq_gate_prop(&c->gate, "isa", si->isa);
	missing = plan_points(c, nq_live_plan(l), why, sizeof(why));
	if (missing >= 0) {
		char msg[400];

		nq_live_close(l);
		snprintf(msg, sizeof(msg), "--require %s: cannot be checked on this host: %s",
			 nq_violation_name(missing), why);
		*rc = setup_failed(c, NQ_EXIT_UNSUPPORTED, msg);
		return NULL;
	}
	attach_point(c, nq_live_plan(l));
	return l;
}

static int run_live(struct check *c)
{
	struct nq_cli_loop lp = {
		.cmd = "check",
		.duration_ms = c->duration_ms,
		.ctx = c,
		.should_stop = workload_done,
	};
	char err[256];
	uint64_t start;
	int rc = -1;

	lp.live = open_live(c, &rc);
	if (!lp.live)
		return rc;
	if (c->cmd && start_workload(c, err, sizeof(err))) {
		nq_live_close(lp.live);
		return setup_failed(c, NQ_EXIT_USAGE, err);
	}
	start = nq_cli_now_ms();
	/* A ring-buffer error is on stderr; the points report what was seen until then. */
	nq_cli_live_loop(&lp);
	if (c->cmd)
		stop_workload(c);
	nq_live_poll(lp.live, 0); /* what the workload did while stopping */
	c->gate.duration_s = (double)(nq_cli_now_ms() - start) / 1000.0;
	nq_live_close(lp.live); /* detaches every probe */
	return -1;
}

static int run_replay(struct check *c, bool *damaged)
{
	char err[NQ_TRACE_ERR_LEN], why[256];
	struct nq_trace_reader *r = nq_trace_reader_open(c->replay, err, sizeof(err));
	const struct nq_trace_meta *m;
	struct nq_plan plan;
	enum nq_read_status st;
	struct nq_event ev;
	uint64_t start = nq_cli_now_ms();
	int missing;

	if (!r) {
		char msg[NQ_TRACE_ERR_LEN + 300];

		snprintf(msg, sizeof(msg), "%s: %s", c->replay, err);
		return setup_failed(c, NQ_EXIT_USAGE, msg);
	}
	m = nq_trace_reader_meta(r);
	nq_gate_prop(&c->gate, "source", c->replay);
	nq_gate_prop(&c->gate, "kernel", m->kernel);
	nq_gate_prop(&c->gate, "flow", m->flow);
	nq_gate_prop(&c->gate, "isa", m->isa);
	plan_from_meta(m, &plan);
	missing = plan_points(c, &plan, why, sizeof(why));
	if (missing >= 0) {
		char msg[400];

		nq_trace_reader_close(r);
		snprintf(msg, sizeof(msg), "--require %s: cannot be checked with this trace: %s",
			 nq_violation_name(missing), why);
		return setup_failed(c, NQ_EXIT_UNSUPPORTED, msg);
	}
	while ((st = nq_trace_read(r, &ev)) == NQ_READ_EVENT)
		nq_engine_feed(c->engine, &ev);
	if (st == NQ_READ_ERROR) {
		*damaged = true;
		fprintf(stderr, "nestirq check: %s: %s\n", c->replay, nq_trace_reader_error(r));
		nq_gate_prop(&c->gate, "damaged", nq_trace_reader_error(r));
	}
	c->gate.duration_s = (double)(nq_cli_now_ms() - start) / 1000.0;
	nq_trace_reader_close(r);
	return -1;
}

/* The points about the run itself, after the engine has finished. */
static void run_points(struct check *c)
{
	const struct nq_stats *s = nq_engine_stats(c->engine);
	struct nq_gate_point *p = nq_gate_add(&c->gate, "no_lost_events", NULL, -1);

	if (p && s->lost) {
		nq_gate_fail(p,
			     "%" PRIu64 " events lost (ring buffer full): checks open at the "
			     "time were dropped, so a violation may have been missed",
			     s->lost);
		nq_gate_diag(p, "lost", "%" PRIu64, s->lost);
	}
	if (!c->cmd)
		return;
	p = nq_gate_add(&c->gate, "workload", NULL, -1);
	if (!p)
		return;
	nq_gate_diag(p, "command", "%s", c->cmd[0]);
	if (!c->child_done)
		nq_gate_fail(p, "the workload's status is unknown");
	else if (WIFEXITED(c->child_status) && WEXITSTATUS(c->child_status) == 0)
		return;
	else if (WIFEXITED(c->child_status)) {
		nq_gate_fail(p, "%s exited with status %d", c->cmd[0],
			     WEXITSTATUS(c->child_status));
		nq_gate_diag(p, "exit_status", "%d", WEXITSTATUS(c->child_status));
	} else {
		nq_gate_fail(p, "%s was killed by signal %d (%s)", c->cmd[0],
			     WTERMSIG(c->child_status), strsignal(WTERMSIG(c->child_status)));
		nq_gate_diag(p, "signal", "%d", WTERMSIG(c->child_status));
	}
}

/* The workload after "--", and one way to say how long: -1 to go on, else the exit code. */
static int check_mode(int argc, char **argv, struct check *c)
{
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--")) {
			fprintf(stderr,
				"nestirq check: unexpected argument '%s' (a workload goes after "
				"--; try --help)\n",
				argv[optind]);
			return NQ_EXIT_USAGE;
		}
		c->cmd = argv + optind;
	}
	if (c->replay && (c->cmd || c->duration_ms || c->tgid)) {
		fprintf(stderr, "nestirq check: --replay takes no --duration, -p or workload\n");
		return NQ_EXIT_USAGE;
	}
	if (!c->replay && !c->cmd && !c->duration_ms) {
		fprintf(stderr, "nestirq check: say how long: --duration T, -- CMD [ARGS], or "
				"--replay FILE (try --help)\n");
		return NQ_EXIT_USAGE;
	}
	return -1;
}

static int parse(int argc, char **argv, struct check *c)
{
	static const struct option long_opts[] = {
		{"duration", required_argument, NULL, 'd'},
		{"pid", required_argument, NULL, 'p'},
		{"replay", required_argument, NULL, 'R'},
		{"require", required_argument, NULL, 'r'},
		{"junit", required_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int ch;

	optind = 1;
	opterr = 0;
	/* '+': stop at the first non-option, so CMD's own flags stay CMD's. */
	while ((ch = getopt_long(argc, argv, "+:d:p:r:h", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (nq_cli_parse_duration("check", "--duration", optarg, &c->duration_ms))
				return NQ_EXIT_USAGE;
			break;
		case 'p':
			if (nq_cli_parse_pid("check", optarg, &c->tgid))
				return NQ_EXIT_USAGE;
			break;
		case 'R':
			c->replay = optarg;
			break;
		case 'r':
			if (parse_require(c, optarg))
				return NQ_EXIT_USAGE;
			break;
		case 'J':
			c->junit = optarg;
			break;
		case 'h':
			usage(stdout);
			return NQ_EXIT_OK;
		default:
			nq_cli_bad_option("check", argv, ch, optopt);
			return NQ_EXIT_USAGE;
		}
	}
	return check_mode(argc, argv, c);
}

/* Fail before the run, not after it, if the report cannot be written. */
static int junit_writable(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f) {
		fprintf(stderr, "nestirq check: --junit %s: %s\n", path, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/* TAP on stdout and JUnit on request, after the run; returns the exit code. */
static int report(struct check *c, bool damaged)
{
	nq_engine_finish(c->engine);
	run_points(c);
	if (c->cmd && c->child_done) {
		char st[64];

		if (WIFEXITED(c->child_status))
			snprintf(st, sizeof(st), "exit status %d", WEXITSTATUS(c->child_status));
		else
			snprintf(st, sizeof(st), "signal %d", WTERMSIG(c->child_status));
		nq_gate_prop(&c->gate, "workload", st);
	}
	nq_gate_tap(stdout, &c->gate);
	fflush(stdout);
	if (c->junit) {
		FILE *f = fopen(c->junit, "we");

		if (!f || (nq_gate_junit(f, &c->gate), fclose(f))) {
			fprintf(stderr, "nestirq check: --junit %s: %s\n", c->junit,
				strerror(errno));
			return NQ_EXIT_USAGE;
		}
	}
	if (nq_gate_count(&c->gate, NQ_GATE_FAIL))
		return NQ_EXIT_VIOLATION;
	return damaged ? NQ_EXIT_DAMAGED : NQ_EXIT_OK;
}

int cmd_check(int argc, char **argv)
{
	struct nq_engine_config cfg = {0};
	struct check *c = calloc(1, sizeof(*c));
	bool damaged = false;
	int rc;

	if (!c) {
		fprintf(stderr, "nestirq check: out of memory\n");
		return NQ_EXIT_USAGE;
	}
	rc = parse(argc, argv, c);
	if (rc >= 0)
		goto out;
	if (c->junit && junit_writable(c->junit)) {
		rc = NQ_EXIT_USAGE;
		goto out;
	}
	nq_gate_init(&c->gate, c->replay ? "nestirq check --replay" : "nestirq check");
	cfg.on_violation = on_violation;
	cfg.ctx = c;
	c->engine = nq_engine_new(&cfg);
	if (!c->engine) {
		fprintf(stderr, "nestirq check: out of memory\n");
		rc = NQ_EXIT_USAGE;
		goto out;
	}
	rc = c->replay ? run_replay(c, &damaged) : run_live(c);
	if (rc < 0)
		rc = report(c, damaged);
out:
	nq_engine_free(c->engine);
	free(c);
	return rc;
}
