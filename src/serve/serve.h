/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `nestirq serve`: the pieces shared by the daemon's files.  The event
 * thread owns the engine and the BPF side; the HTTP thread only ever reads
 * the snapshot, copied under `lock`, so a slow or hostile client can never
 * stall the ring buffer.
 */
#ifndef NESTIRQ_SERVE_H
#define NESTIRQ_SERVE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <syslog.h>

#include "nestirq/metrics.h"

struct nq_serve_shared {
	pthread_mutex_t lock;
	struct nq_metrics_snap snap; /* under lock */
	uint64_t heartbeat_ms;	     /* under lock: last event-loop pass, CLOCK_MONOTONIC */
	struct nq_vring *violations; /* /violations; has its own lock (vring.h) */
};

/* ---- HTTP (serve_http.c), libmicrohttpd in its own thread ---- */
struct nq_http;
struct nq_webconfig;
/* wc: TLS and basic auth from --web.config.file (webconfig.h), or NULL. */
struct nq_http *nq_http_start(const struct sockaddr *sa, struct nq_serve_shared *sh,
			      struct nq_webconfig *wc, char *err, size_t errlen);
void nq_http_stop(struct nq_http *h);
/* A stalled event loop makes /healthz answer 503 after this long. */
#define NQ_HEALTH_STALE_MS 10000

/* ---- log (serve_log.c): stderr (journald-aware) or a file reopened on SIGHUP ---- */
int nq_log_open(const char *path, char *err, size_t errlen);
int nq_log_reopen(void);
void nq_log_close(void);
void nq_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nq_vlog(int prio, const char *fmt, va_list ap);
/* A --log file is open. */
bool nq_log_has_file(void);
/*
 * One JSON object (obj, "{...}") as a --log line, after "level" (and "time"
 * unless obj has its own); false without --log.
 */
bool nq_log_json(int prio, const char *obj, bool has_time);

/* ---- journald (journal.c): structured entries when running under systemd ---- */
struct nq_jfields;
bool nq_journal_detect(void);
int nq_journal_send(const struct nq_jfields *jf);

/* ---- violations (vsink.c): rate-limited to the logs, all of them to the ring ---- */
struct nq_violation;
struct nq_vsink;
struct nq_vring;
struct nq_vsink *nq_vsink_new(void);
void nq_vsink_free(struct nq_vsink *s);
/* A violation serve has counted; label names its VM (may be NULL). */
void nq_vsink_violation(struct nq_vsink *s, const struct nq_violation *v, const char *label);
/* Reports suppressed counts whose interval ran out; force: all (at exit). */
void nq_vsink_tick(struct nq_vsink *s, bool force);
struct nq_vring *nq_vsink_ring(struct nq_vsink *s);

/* ---- serve --replay (replay_src.c): a trace file through the engine, at start ---- */
struct nq_engine;
struct nq_trace_meta;
int nq_serve_replay(const char *path, struct nq_engine *e, struct nq_trace_meta *meta, char *err,
		    size_t errlen);

#endif /* NESTIRQ_SERVE_H */
