// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nestirq serve: a long-running exporter.  The main thread runs the live
 * loop (cmd_live.c), which feeds the engine; its pass hook publishes a
 * snapshot under a short lock at most every SNAP_EVERY_MS.  libmicrohttpd
 * answers /metrics and /healthz from that snapshot in its own thread.
 * SIGHUP reopens the log file, SIGINT/SIGTERM stop the HTTP server, detach
 * every probe and exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_live.h"
#include "live/live.h"
#include "nestirq/engine.h"
#include "nestirq/netaddr.h"
#include "nestirq/trace.h"
#include "nestirq/version.h"
#include "serve/serve.h"
#include "serve/webconfig.h"

/*
 * 9747: in the 9100-9999 exporter range of Prometheus' "default port
 * allocations" wiki page, not listed there as far as we know (see
 * docs/production.md); --listen overrides it.
 */
#define DEFAULT_LISTEN "127.0.0.1:9747"

#define SNAP_EVERY_MS 100  /* publish at most this often under load */
#define SLOW_EVERY_MS 1000 /* BPF program stats (the loop re-plans at this pace too) */

struct serve {
	struct nq_serve_shared *sh;
	struct nq_engine *engine;
	struct nq_live *live;
	struct nq_vm_table vms;
	int stats_fd;
	struct nq_vsink *vsink;	      /* journald, --log and /violations (src/serve/vsink.c) */
	uint64_t last_snap;	      /* CLOCK_MONOTONIC ms of the last publish */
	struct nq_metrics_snap *next; /* built here, copied under the lock */
};

static volatile sig_atomic_t reopen_log;

static void on_hup(int sig)
{
	(void)sig;
	reopen_log = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nestirq serve [--listen ADDR:PORT] [--allow-remote] [--web.config.file "
		"FILE]\n"
		"                     [--log FILE]\n"
		"                     [--enable-bpf-stats] [-p PID] [--replay FILE]\n"
		"\n"
		"Trace the live hypervisor as a daemon and export Prometheus metrics.\n"
		"\n"
		"  -l, --listen ADDR:PORT  where to serve /metrics, /healthz and /violations\n"
		"                          (default %s; [::1]:PORT for IPv6)\n"
		"      --allow-remote      permit a non-loopback listen address\n"
		"      --web.config.file FILE  TLS and basic auth, in the Prometheus\n"
		"                          exporter-toolkit format (tls_server_config:\n"
		"                          cert_file, key_file; basic_auth_users: bcrypt)\n"
		"      --log FILE          log JSON lines to FILE (reopened on SIGHUP) instead of\n"
		"                          stderr; violations carry their evidence\n"
		"      --enable-bpf-stats  count BPF run time while running (restored on exit)\n"
		"  -p, --pid PID           only this hypervisor process\n"
		"      --replay FILE       serve what a recorded trace shows instead of the live\n"
		"                          host (test log and alert pipelines; no BPF needed)\n"
		"\n"
		"exit: 0 stopped by SIGINT/SIGTERM, 2 usage or setup error,\n"
		"      4 this host cannot load the BPF programs\n",
		DEFAULT_LISTEN);
}

static uint64_t now_ms(void)
{
	return nq_cli_now_ms();
}

static void on_violation(const struct nq_violation *v, void *ctx)
{
	struct serve *s = ctx;
	struct nq_vm_slot *slot = nq_vm_table_count(&s->vms, v->tgid, v->kind);
	const char *label = NULL;

	if (slot)
		nq_vm_label(v->tgid, slot->label, sizeof(slot->label));
	for (unsigned int i = 0; i < s->vms.n; i++)
		if (s->vms.vm[i].tgid == v->tgid)
			label = s->vms.vm[i].label;
	/* Counted always (metrics); logged through the storm limiter. */
	nq_vsink_violation(s->vsink, v, label);
}

/* Informational findings: logged as records too, but no violation counter. */
static void on_info(const struct nq_violation *v, void *ctx)
{
	struct serve *s = ctx;

	nq_vsink_violation(s->vsink, v, NULL);
}

static void on_event(const struct nq_event *ev, void *ctx)
{
	struct serve *s = ctx;

	nq_engine_feed(s->engine, ev);
}

static void static_info(struct serve *s, struct nq_metrics_snap *m,
			const struct nq_trace_meta *replayed)
{
	const struct nq_sysinfo *si = s->live ? nq_live_sysinfo(s->live) : NULL;
	struct timespec ts;

	snprintf(m->version, sizeof(m->version), "%s", NESTIRQ_VERSION);
	snprintf(m->kernel, sizeof(m->kernel), "%s", si ? si->release : replayed->kernel);
	snprintf(m->flow, sizeof(m->flow), "%s", si ? si->flow : replayed->flow);
	snprintf(m->isa, sizeof(m->isa), "%s", si ? si->isa : replayed->isa);
	clock_gettime(CLOCK_REALTIME, &ts);
	m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	m->live = s->live != NULL;
}

/* The plan can change (module load); refresh the probe and program tables. */
static void slow_info(struct serve *s, struct nq_metrics_snap *m)
{
	const struct nq_plan *p;

	if (!s->live) /* --replay: no probes */
		return;
	p = nq_live_plan(s->live);
	m->nprobes = 0;
	for (int i = 0; i < NQ_PT__MAX && i < NQ_METRICS_MAX_PROBES; i++) {
		snprintf(m->probe[i].name, sizeof(m->probe[i].name), "%s", nq_point_names[i]);
		m->probe[i].attached = p->pt[i].status == NQ_PS_ATTACHED;
		m->nprobes++;
	}
	m->bpf_stats_enabled = s->stats_fd >= 0 ? 1 : nq_bpf_stats_sysctl();
	nq_live_prog_stats(s->live, m);
}

static void publish(struct serve *s)
{
	struct nq_metrics_snap *m = s->next;
	int ncpus = s->live ? nq_live_ncpus(s->live) : 0;

	memcpy(&m->stats, nq_engine_stats(s->engine), sizeof(m->stats));
	memcpy(&m->vms, &s->vms, sizeof(m->vms));
	m->drops_total = s->live ? nq_live_drops(s->live) : 0;
	m->ncpus = ncpus > 0 ? (unsigned int)ncpus : 0;
	m->drops_cpu_other = 0;
	for (int c = 0; c < ncpus; c++) {
		if (c < NQ_METRICS_MAX_CPUS)
			m->drops_cpu[c] = nq_live_drops_cpu(s->live, c);
		else
			m->drops_cpu_other += nq_live_drops_cpu(s->live, c);
	}
	pthread_mutex_lock(&s->sh->lock);
	memcpy(&s->sh->snap, m, sizeof(*m));
	s->sh->heartbeat_ms = now_ms();
	pthread_mutex_unlock(&s->sh->lock);
}

static void log_plan(struct nq_live *l)
{
	const struct nq_plan *p = nq_live_plan(l);
	char on[256] = "", off[512] = "";
	size_t a = 0, b = 0;

	for (int i = 0; i < NQ_PT__MAX; i++) {
		if (p->pt[i].status == NQ_PS_ATTACHED)
			a += (size_t)snprintf(on + a, a < sizeof(on) ? sizeof(on) - a : 0, "%s%s",
					      a ? ", " : "", nq_point_names[i]);
		else
			b += (size_t)snprintf(off + b, b < sizeof(off) ? sizeof(off) - b : 0,
					      "%s%s", b ? ", " : "", nq_point_names[i]);
	}
	nq_log(LOG_INFO, "attached: %s", a ? on : "nothing");
	if (b)
		nq_log(LOG_INFO, "unavailable: %s (see nestirq doctor)", off);
}

static void loop_log(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	nq_log(prio, "%s", msg);
}

static void replanned(void *ctx)
{
	struct serve *s = ctx;

	log_plan(s->live);
}

/* Once a second, after the module check: the plan may have changed. */
static void slow_tick(void *ctx, uint64_t elapsed_ms)
{
	struct serve *s = ctx;

	(void)elapsed_ms;
	slow_info(s, s->next);
}

/*
 * Every pass: suppressed-violation reports whose interval ran out, SIGHUP's
 * log reopen, and the snapshot (with the /healthz heartbeat).
 */
static void each_pass(void *ctx, uint64_t now)
{
	struct serve *s = ctx;

	nq_vsink_tick(s->vsink, false);
	if (reopen_log) {
		reopen_log = 0;
		if (nq_log_reopen())
			nq_log(LOG_ERR, "SIGHUP: cannot reopen the log file: %s", strerror(errno));
		else
			nq_log(LOG_INFO, "SIGHUP: log file reopened");
	}
	if (now - s->last_snap >= SNAP_EVERY_MS) {
		publish(s);
		s->last_snap = now;
	}
}

/* The event loop; returns an exit code. */
static int run(struct serve *s)
{
	struct nq_cli_loop lp = {
		.cmd = "serve",
		.live = s->live,
		.interval_ms = SLOW_EVERY_MS,
		.ctx = s,
		.tick = slow_tick,
		.pass = each_pass,
		.log = loop_log,
		.replanned = replanned,
	};

	return nq_cli_live_loop(&lp) ? NQ_EXIT_USAGE : NQ_EXIT_OK;
}

struct serve_opts {
	const char *listen, *log, *replay, *web_config;
	bool allow_remote, enable_stats;
	uint32_t tgid;
};

static int parse(int argc, char **argv, struct serve_opts *o)
{
	static const struct option long_opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"allow-remote", no_argument, NULL, 'R'},
		{"log", required_argument, NULL, 'L'},
		{"enable-bpf-stats", no_argument, NULL, 'S'},
		{"pid", required_argument, NULL, 'p'},
		{"replay", required_argument, NULL, 'r'},
		{"web.config.file", required_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->listen = DEFAULT_LISTEN;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:p:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case 'R':
			o->allow_remote = true;
			break;
		case 'L':
			o->log = optarg;
			break;
		case 'S':
			o->enable_stats = true;
			break;
		case 'p':
			if (nq_cli_parse_pid("serve", optarg, &o->tgid))
				return NQ_EXIT_USAGE;
			break;
		case 'r':
			o->replay = optarg;
			break;
		case 'W':
			o->web_config = optarg;
			break;
		case 'h':
			usage(stdout);
			return NQ_EXIT_OK;
		default:
			nq_cli_bad_option("serve", argv, c, optopt);
			return NQ_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "nestirq serve: unexpected argument '%s' (try --help)\n",
			argv[optind]);
		return NQ_EXIT_USAGE;
	}
	if (o->replay && (o->tgid || o->enable_stats)) {
		fprintf(stderr, "nestirq serve: --replay takes no -p or --enable-bpf-stats\n");
		return NQ_EXIT_USAGE;
	}
	return -1;
}

/* --listen parsed and allowed: loopback unless --allow-remote.  0 or an error printed. */
static int listen_addr(const struct serve_opts *o, struct sockaddr_storage *ss, socklen_t *sslen,
		       char *addr, size_t addrlen)
{
	char err[256];

	if (nq_parse_listen(o->listen, ss, sslen, err, sizeof(err))) {
		fprintf(stderr, "nestirq serve: --listen %s\n", err);
		return -1;
	}
	nq_addr_format((struct sockaddr *)ss, addr, addrlen);
	if (!nq_addr_is_loopback((struct sockaddr *)ss) && !o->allow_remote) {
		fprintf(stderr,
			"nestirq serve: --listen %s is not a loopback address; add --allow-remote "
			"to expose the metrics beyond this host\n",
			addr);
		return -1;
	}
	return 0;
}

/*
 * --web.config.file loaded (into wc) and the log opened; warns about a remote
 * listener without TLS and basic auth.  0 or an error printed.
 */
static int open_config(const struct serve_opts *o, struct nq_webconfig *wc,
		       const struct sockaddr_storage *ss, const char *addr)
{
	char err[256];

	if (o->web_config && nq_webconfig_load(o->web_config, wc, err, sizeof(err))) {
		fprintf(stderr, "nestirq serve: --web.config.file %s: %s\n", o->web_config, err);
		return -1;
	}
	if (nq_log_open(o->log, err, sizeof(err))) {
		fprintf(stderr, "nestirq serve: --log %s\n", err);
		if (o->web_config)
			nq_webconfig_free(wc);
		return -1;
	}
	if (o->allow_remote && !nq_addr_is_loopback((const struct sockaddr *)ss) &&
	    (!o->web_config || !wc->tls || !wc->nusers))
		nq_log(LOG_WARNING,
		       "--listen %s without TLS and basic auth: anyone who can reach "
		       "it reads the metrics (see --web.config.file)",
		       addr);
	return 0;
}

/* The shared snapshot, the engine, the record sink and, on request, BPF run-time statistics. */
static int serve_init(struct serve *s, const struct serve_opts *o)
{
	struct nq_engine_config cfg = {0};
	char err[256];

	memset(s, 0, sizeof(*s));
	s->stats_fd = -1;
	s->sh = calloc(1, sizeof(*s->sh));
	s->next = calloc(1, sizeof(*s->next));
	if (s->sh)
		pthread_mutex_init(&s->sh->lock, NULL);
	cfg.on_violation = on_violation;
	cfg.on_info = on_info;
	cfg.ctx = s;
	s->vsink = nq_vsink_new();
	s->engine = s->sh && s->next && s->vsink ? nq_engine_new(&cfg) : NULL;
	if (!s->engine) {
		nq_log(LOG_ERR, "out of memory");
		return NQ_EXIT_USAGE;
	}
	s->sh->violations = nq_vsink_ring(s->vsink);
	if (o->enable_stats) {
		s->stats_fd = nq_bpf_stats_enable(err, sizeof(err));
		if (s->stats_fd < 0) {
			nq_log(LOG_ERR, "--enable-bpf-stats: %s", err);
			return NQ_EXIT_USAGE;
		}
	}
	return -1;
}

/* --replay: the whole trace through the engine now, then serve what it showed. */
static int open_replay(struct serve *s, const struct serve_opts *o)
{
	struct nq_trace_meta replayed;
	char err[256];

	if (nq_serve_replay(o->replay, s->engine, &replayed, err, sizeof(err))) {
		nq_log(LOG_ERR, "--replay %s: %s", o->replay, err);
		return NQ_EXIT_USAGE;
	}
	static_info(s, s->next, &replayed);
	publish(s);
	return -1;
}

/* Attach, publish the first snapshot and log the plan; -1 to go on, else the exit code. */
static int open_live(struct serve *s, const struct serve_opts *o)
{
	struct nq_live_opts lo = {0};
	char err[256];

	lo.tgid = o->tgid;
	lo.cb = on_event;
	lo.ctx = s;
	lo.quiet = true;
	lo.count_accepts = true; /* accepts with nothing to pair them: counted in the kernel */
	s->live = nq_live_open(&lo, err, sizeof(err));
	if (!s->live) {
		nq_log(LOG_ERR, "%s", err);
		return NQ_EXIT_UNSUPPORTED;
	}
	static_info(s, s->next, NULL);
	slow_info(s, s->next);
	publish(s);
	log_plan(s->live);
	if (s->next->bpf_stats_enabled != 1)
		nq_log(LOG_INFO, "kernel.bpf_stats_enabled is off: BPF run time stays 0 "
				 "(--enable-bpf-stats turns it on while serving)");
	return -1;
}

/* The HTTP thread (TLS and basic auth per wc, may be NULL), signals left to the event loop. */
static struct nq_http *start_http(struct serve *s, const struct sockaddr_storage *ss,
				  const char *addr, struct nq_webconfig *wc, bool replay)
{
	struct nq_http *http;
	struct sigaction sa;
	sigset_t block, old;
	char err[256];

	/* MHD's thread inherits this mask: signals go to the event loop only. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	http = nq_http_start((const struct sockaddr *)ss, s->sh, wc, err, sizeof(err));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	nq_live_install_signals();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!http)
		nq_log(LOG_ERR, "--listen %s: %s", addr, err);
	else
		nq_log(LOG_INFO, "serving %s://%s/metrics, /healthz and /violations%s%s",
		       wc && wc->tls ? "https" : "http", addr,
		       wc && wc->nusers ? " (basic auth)" : "", replay ? " (replayed trace)" : "");
	return http;
}

static void log_stop(struct serve *s)
{
	const struct nq_stats *st = nq_engine_stats(s->engine);

	nq_log(LOG_INFO,
	       "stopping: %" PRIu64 " events, %" PRIu64 " pairs, %" PRIu64 " violations, %" PRIu64
	       " ring-buffer drops; probes detached",
	       st->events, st->pairs, st->violations, s->live ? nq_live_drops(s->live) : 0);
}

static void serve_free(struct serve *s)
{
	nq_live_close(s->live); /* detaches every probe */
	if (s->stats_fd >= 0)
		close(s->stats_fd); /* the kernel restores bpf_stats_enabled */
	nq_engine_free(s->engine);
	nq_vsink_free(s->vsink);
	if (s->sh)
		pthread_mutex_destroy(&s->sh->lock);
	free(s->sh);
	free(s->next);
}

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o;
	struct serve s;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct nq_webconfig wc;
	struct nq_http *http;
	char addr[80];
	int rc;

	rc = parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (listen_addr(&o, &ss, &sslen, addr, sizeof(addr)))
		return NQ_EXIT_USAGE;
	if (open_config(&o, &wc, &ss, addr))
		return NQ_EXIT_USAGE;
	rc = serve_init(&s, &o);
	if (rc >= 0)
		goto out;
	rc = o.replay ? open_replay(&s, &o) : open_live(&s, &o);
	if (rc >= 0)
		goto out;
	http = start_http(&s, &ss, addr, o.web_config ? &wc : NULL, o.replay);
	if (!http) {
		rc = NQ_EXIT_USAGE;
		goto out;
	}
	rc = run(&s);
	nq_http_stop(http);
	if (s.live) /* --replay finished the engine at the end of the trace */
		nq_engine_finish(s.engine);
	nq_vsink_tick(s.vsink, true);
	log_stop(&s);
out:
	serve_free(&s);
	if (o.web_config)
		nq_webconfig_free(&wc);
	nq_log_close();
	return rc;
}
