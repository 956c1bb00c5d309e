// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /metrics and /healthz over libmicrohttpd.  MHD parses HTTP and runs in its
 * own polling thread with hard bounds (connections, per-IP connections,
 * idle timeout, per-connection memory, which also caps header size); a
 * request copies the snapshot under the shared lock and renders outside it.
 * Only GET and HEAD are served; nothing reads a request body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "serve.h"
#include "vring.h"

#define CONN_LIMIT	  64
#define PER_IP_LIMIT	  16
#define CONN_TIMEOUT_S	  10
#define CONN_MEMORY_LIMIT (32 * 1024)

struct nq_http {
	struct MHD_Daemon *d;
	struct nq_serve_shared *sh;
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	static int seen;
	struct nq_http *h = cls;

	(void)version;
	(void)upload;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!*con_cls) {
		/* Headers are in; answer on the next call, once any body is known. */
		*con_cls = &seen;
		return MHD_YES;
	}
	if (*upload_size)
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

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	nq_vlog(LOG_WARNING, fmt, ap);
}

struct nq_http *nq_http_start(const struct sockaddr *sa, struct nq_serve_shared *sh, char *err,
			      size_t errlen)
{
	struct nq_http *h = calloc(1, sizeof(*h));
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->sh = sh;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The logger goes first, or MHD logs the options before it to stderr. */
	h->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)PER_IP_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_LIMIT, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "cannot listen (address in use, or not permitted)");
		free(h);
		return NULL;
	}
	return h;
}

void nq_http_stop(struct nq_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
