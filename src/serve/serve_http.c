// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /metrics, /healthz and /violations over libmicrohttpd.  MHD parses HTTP
 * in its own epoll thread, which holds thousands of idle connections, with
 * hard bounds (connections, idle timeout, per-connection memory, which also
 * caps header size); http_guard.c closes connections that do not send a
 * request header in time and makes room for new ones, so a local flood
 * cannot lock the scraper out.  A request copies the snapshot under the
 * shared lock and renders outside it.  Only GET and HEAD are served;
 * nothing reads a request body.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/resource.h>

#include <microhttpd.h>

#include "http_guard.h"
#include "serve.h"
#include "webconfig.h"
#include "vring.h"

/*
 * No per-IP limit: on loopback every local client, the scraper included,
 * is 127.0.0.1, so such a limit is what let 16 idle connections lock
 * Prometheus out.  The guard's eviction bounds a flood instead.
 */
#define CONN_LIMIT	  4096
#define CONN_RESERVE	  256 /* fds and connections kept for requests in progress */
#define CONN_TIMEOUT_S	  10  /* idle, while a response is being sent */
#define CONN_MEMORY_LIMIT (32 * 1024)
#define LISTEN_BACKLOG	  1024

struct nq_http {
	struct MHD_Daemon *d;
	struct nq_serve_shared *sh;
	struct nq_guard *guard;
	struct nq_webconfig *wc; /* NULL: plain HTTP, no auth */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned int status, const char *s)
{
	return reply(c, status, "text/plain; charset=utf-8", (void *)s, strlen(s),
		     MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result metrics(struct nq_http *h, struct MHD_Connection *c)
{
	struct nq_metrics_snap *snap = malloc(sizeof(*snap));
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (!snap)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	pthread_mutex_lock(&h->sh->lock);
	memcpy(snap, &h->sh->snap, sizeof(*snap));
	pthread_mutex_unlock(&h->sh->lock);
	f = open_memstream(&buf, &len);
	if (!f) {
		free(snap);
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	rc = nq_metrics_render(f, snap);
	free(snap);
	if (fclose(f) || rc) {
		free(buf);
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "rendering failed\n");
	}
	return reply(c, MHD_HTTP_OK, NQ_METRICS_CONTENT_TYPE, buf, len, MHD_RESPMEM_MUST_FREE);
}

/* The last NQ_VRING_CAP violations with their evidence (docs/production.md). */
static enum MHD_Result violations(struct nq_http *h, struct MHD_Connection *c)
{
	size_t len;
	char *buf = h->sh->violations ? nq_vring_render(h->sh->violations, &len) : NULL;

	if (!buf)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(c, MHD_HTTP_OK, "application/json", buf, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result health(struct nq_http *h, struct MHD_Connection *c)
{
	uint64_t beat;

	pthread_mutex_lock(&h->sh->lock);
	beat = h->sh->heartbeat_ms;
	pthread_mutex_unlock(&h->sh->lock);
	if (now_ms() - beat > NQ_HEALTH_STALE_MS)
		return text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "stalled: the event loop is not polling\n");
	return text(c, MHD_HTTP_OK, "ok\n");
}

/* basic_auth_users of --web.config.file; false with the response to send in *r. */
static bool authorized(struct nq_http *h, struct MHD_Connection *c, enum MHD_Result *r)
{
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(c, &pass);
	int ok = user ? nq_webconfig_auth(h->wc, user, pass ? pass : "") : 0;
	struct MHD_Response *resp;
	static const char denied[] = "unauthorized\n";

	if (pass)
		explicit_bzero(pass, strlen(pass));
	MHD_free(user);
	MHD_free(pass);
	if (ok == 1)
		return true;
	if (ok < 0) {
		*r = text(c, MHD_HTTP_TOO_MANY_REQUESTS, "too many password checks; retry\n");
		return false;
	}
	resp = MHD_create_response_from_buffer(sizeof(denied) - 1, (void *)denied,
					       MHD_RESPMEM_PERSISTENT);
	*r = resp ? MHD_queue_basic_auth_fail_response(c, "nestirq", resp) : MHD_NO;
	if (resp)
		MHD_destroy_response(resp);
	return false;
}

static bool has_body(struct MHD_Connection *c)
{
	const char *cl =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return (cl && strcmp(cl, "0")) ||
	       MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	static int seen;
	struct nq_http *h = cls;

	(void)version;
	(void)upload;
	(void)upload_size;
	if (*con_cls)
		return MHD_YES; /* answered on the first call: a body is never read */
	/* The header is complete: the connection is no longer waiting for one. */
	*con_cls = &seen;
	nq_guard_request_started(h->guard, c);
	if (h->wc && h->wc->nusers) {
		enum MHD_Result r;

		if (!authorized(h, c, &r))
			return r;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	/* Answer now, without waiting for a body a slow client could trickle. */
	if (has_body(c))
		return text(c, MHD_HTTP_CONTENT_TOO_LARGE, "no request body expected\n");
	if (!strcmp(url, "/metrics"))
		return metrics(h, c);
	if (!strcmp(url, "/healthz"))
		return health(h, c);
	if (!strcmp(url, "/violations"))
		return violations(h, c);
	if (!strcmp(url, "/"))
		return text(c, MHD_HTTP_OK,
			    "nestirq serve: /metrics (Prometheus text format 0.0.4), /healthz, "
			    "/violations (JSON)\n");
	return text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz or /violations\n");
}

/*
 * MHD logs one line per broken connection: a flood would flood the log too.
 * At most MHD_LOG_BURST lines per MHD_LOG_WINDOW_MS, then one line saying
 * how many were left out.  Called from MHD's one thread.
 */
#define MHD_LOG_BURST	  10
#define MHD_LOG_WINDOW_MS 60000

static struct {
	uint64_t window_start;
	unsigned int logged;
	uint64_t suppressed;
} mhd_rl;

static void mhd_log_flush(void)
{
	if (mhd_rl.suppressed)
		nq_log(LOG_WARNING, "http: %" PRIu64 " more HTTP server messages not logged",
		       mhd_rl.suppressed);
	mhd_rl.suppressed = 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	uint64_t now = now_ms();

	(void)cls;
	if (now - mhd_rl.window_start >= MHD_LOG_WINDOW_MS) {
		mhd_log_flush();
		mhd_rl.window_start = now;
		mhd_rl.logged = 0;
	}
	if (mhd_rl.logged >= MHD_LOG_BURST) {
		mhd_rl.suppressed++;
		return;
	}
	mhd_rl.logged++;
	nq_vlog(LOG_WARNING, fmt, ap);
}

/*
 * Thousands of connections need as many fds: raise the soft limit towards
 * the hard one (systemd's default hard limit is 524288), and serve fewer
 * connections if the hard limit is low.
 */
static unsigned int conn_limit(void)
{
	struct rlimit rl;
	rlim_t want = CONN_LIMIT + CONN_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 64;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur >= want)
		return CONN_LIMIT;
	return rl.rlim_cur > CONN_RESERVE + 64 ? (unsigned int)(rl.rlim_cur - CONN_RESERVE) : 64;
}

struct nq_http *nq_http_start(const struct sockaddr *sa, struct nq_serve_shared *sh,
			      struct nq_webconfig *wc, char *err, size_t errlen)
{
	struct nq_http *h = calloc(1, sizeof(*h));
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	unsigned int limit = conn_limit();
	struct MHD_OptionItem tls[] = {
		{MHD_OPTION_HTTPS_MEM_KEY, 0, wc ? wc->key_pem : NULL},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, wc ? wc->cert_pem : NULL},
		{MHD_OPTION_HTTPS_PRIORITIES, 0, wc ? (void *)wc->priorities : NULL},
		{MHD_OPTION_END, 0, NULL},
	};

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->sh = sh;
	h->wc = wc;
	if (wc && wc->tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "this libmicrohttpd has no TLS support");
			free(h);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	/* Room for requests in progress beyond the connections waiting for a header. */
	h->guard = nq_guard_new(limit > 2 * 32 ? limit - 32 : limit / 2);
	if (!h->guard) {
		snprintf(err, errlen, "out of memory");
		free(h);
		return NULL;
	}
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The logger goes first, or MHD logs the options before it to stderr. */
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
				mhd_log, NULL, MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)CONN_MEMORY_LIMIT, MHD_OPTION_LISTEN_BACKLOG_SIZE,
				(unsigned int)LISTEN_BACKLOG, MHD_OPTION_NOTIFY_CONNECTION,
				nq_guard_on_connection, h->guard, MHD_OPTION_NOTIFY_COMPLETED,
				nq_guard_on_completed, h->guard, MHD_OPTION_ARRAY,
				wc && wc->tls ? tls : tls + 3, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "cannot listen (address in use, or not permitted)");
		nq_guard_free(h->guard);
		free(h);
		return NULL;
	}
	return h;
}

void nq_http_stop(struct nq_http *h)
{
	uint64_t timed_out, evicted;

	if (!h)
		return;
	MHD_stop_daemon(h->d);
	mhd_log_flush(); /* MHD's thread has ended */
	nq_guard_counts(h->guard, &timed_out, &evicted);
	if (timed_out || evicted)
		nq_log(LOG_INFO,
		       "http: closed %" PRIu64 " connections that sent no request header within "
		       "%d s, %" PRIu64 " more to make room",
		       timed_out, NQ_GUARD_DEADLINE_MS / 1000, evicted);
	nq_guard_free(h->guard);
	free(h);
}
