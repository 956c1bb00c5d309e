// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Keeps the exporter answering while a local user floods it with idle or
 * half-sent connections (slowloris).  libmicrohttpd's own timeout is an
 * idle timeout: one byte every few seconds resets it, and its connection
 * limit then locks the scraper out.  Here every connection that is waiting
 * for a request header -- just accepted, or idle between keep-alive
 * requests -- is on a list in the order it started waiting:
 *
 *  - one that has not sent a complete header within NQ_GUARD_DEADLINE_MS
 *    is shut down (a reaper thread walks the list from its oldest end);
 *  - when more than max_pending are waiting, the oldest is shut down to
 *    make room, so a new connection (the scraper's) always gets in.  A
 *    flood only ever evicts itself: a scraper sends its header at once
 *    and leaves the list within a round trip.
 *
 * shutdown(2) from here makes MHD's own thread see the end of the stream
 * and close the connection in order.  The fd cannot be reused under us:
 * MHD tells us a connection is closed (and we unlink it, under the lock)
 * before it closes the socket.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "serve/http_guard.h"

struct slot {
	int fd;
	bool pending;
	uint64_t since_ms;
	struct slot *prev, *next;
};

struct nq_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t reaper;
	bool stop, started;
	unsigned int max_pending, npending;
	struct slot *head, *tail; /* pending, oldest first */
	uint64_t timed_out, evicted;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void unlink_slot(struct nq_guard *g, struct slot *s)
{
	if (!s->pending)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		g->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		g->tail = s->prev;
	s->prev = s->next = NULL;
	s->pending = false;
	g->npending--;
}

static void append(struct nq_guard *g, struct slot *s)
{
	s->pending = true;
	s->since_ms = now_ms();
	s->prev = g->tail;
	s->next = NULL;
	if (g->tail)
		g->tail->next = s;
	else
		g->head = s;
	g->tail = s;
	g->npending++;
}

/* Under the lock.  The slot stays allocated until MHD reports the close. */
static void cut(struct nq_guard *g, struct slot *s)
{
	unlink_slot(g, s);
	shutdown(s->fd, SHUT_RDWR);
}

static void *reaper(void *arg)
{
	struct nq_guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec until;
		uint64_t now = now_ms();

		while (g->head && now - g->head->since_ms >= NQ_GUARD_DEADLINE_MS) {
			cut(g, g->head);
			g->timed_out++;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += NQ_GUARD_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct nq_guard *nq_guard_new(unsigned int max_pending)
{
	struct nq_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->max_pending = max_pending ? max_pending : 1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	if (pthread_create(&g->reaper, NULL, reaper, g)) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return NULL;
	}
	g->started = true;
	return g;
}

void nq_guard_free(struct nq_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	if (g->started)
		pthread_join(g->reaper, NULL);
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void nq_guard_counts(struct nq_guard *g, uint64_t *timed_out, uint64_t *evicted)
{
	pthread_mutex_lock(&g->lock);
	*timed_out = g->timed_out;
	*evicted = g->evicted;
	pthread_mutex_unlock(&g->lock);
}

void nq_guard_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			    enum MHD_ConnectionNotificationCode toe)
{
	struct nq_guard *g = cls;
	struct slot *s = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		s = ci ? calloc(1, sizeof(*s)) : NULL;
		*socket_context = s;
		if (!s)
			return; /* untracked: MHD's idle timeout still applies */
		s->fd = ci->connect_fd;
		pthread_mutex_lock(&g->lock);
		if (g->npending >= g->max_pending && g->head) {
			cut(g, g->head);
			g->evicted++;
		}
		append(g, s);
		pthread_mutex_unlock(&g->lock);
		return;
	}
	if (!s)
		return;
	pthread_mutex_lock(&g->lock);
	unlink_slot(g, s);
	pthread_mutex_unlock(&g->lock);
	free(s);
	*socket_context = NULL;
}

static struct slot *slot_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void nq_guard_request_started(struct nq_guard *g, struct MHD_Connection *c)
{
	struct slot *s = slot_of(c);

	if (!s)
		return;
	pthread_mutex_lock(&g->lock);
	unlink_slot(g, s);
	pthread_mutex_unlock(&g->lock);
}

void nq_guard_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct nq_guard *g = cls;
	struct slot *s = slot_of(c);

	(void)con_cls;
	/* Keep-alive: the next header is due within the deadline too. */
	if (!s || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		return;
	pthread_mutex_lock(&g->lock);
	if (!s->pending)
		append(g, s);
	pthread_mutex_unlock(&g->lock);
}
