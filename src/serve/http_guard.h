/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The HTTP server's defence against idle and half-sent connections (http_guard.c). */
#ifndef NESTIRQ_SERVE_HTTP_GUARD_H
#define NESTIRQ_SERVE_HTTP_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

/* A connection must send a complete request header within this long of
 * opening (or of its previous response, with keep-alive). */
#define NQ_GUARD_DEADLINE_MS 5000
#define NQ_GUARD_TICK_MS     250

struct nq_guard;
/* At most max_pending connections wait for a header; beyond, the oldest goes. */
struct nq_guard *nq_guard_new(unsigned int max_pending);
void nq_guard_free(struct nq_guard *g);
void nq_guard_counts(struct nq_guard *g, uint64_t *timed_out, uint64_t *evicted);

/* MHD_OPTION_NOTIFY_CONNECTION and MHD_OPTION_NOTIFY_COMPLETED callbacks, cls = the guard. */
void nq_guard_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			    enum MHD_ConnectionNotificationCode toe);
void nq_guard_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			   enum MHD_RequestTerminationCode toe);
/* From the access handler's first call: the header is complete. */
void nq_guard_request_started(struct nq_guard *g, struct MHD_Connection *c);

#endif /* NESTIRQ_SERVE_HTTP_GUARD_H */
