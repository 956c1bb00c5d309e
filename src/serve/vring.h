/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The last NQ_VRING_CAP violations as JSON objects, for GET /violations.
 * Written by the event thread, read by the HTTP thread: its own short lock,
 * and rendering copies out under it, so a slow client never blocks a push.
 */
#ifndef NESTIRQ_SERVE_VRING_H
#define NESTIRQ_SERVE_VRING_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define NQ_VRING_CAP 256

struct nq_vring {
	pthread_mutex_t lock;
	uint64_t total; /* pushed since start: the seq of the newest */
	char *obj[NQ_VRING_CAP];
};

void nq_vring_init(struct nq_vring *r);
void nq_vring_destroy(struct nq_vring *r);
/* Takes ownership of obj (a malloc'd JSON object); counts even a NULL obj. */
void nq_vring_push(struct nq_vring *r, char *obj);
/*
 * {"capacity":256,"total":T,"returned":n,"violations":[oldest..newest]}:
 * malloc'd, with its length; NULL when out of memory.
 */
char *nq_vring_render(struct nq_vring *r, size_t *len);

#endif /* NESTIRQ_SERVE_VRING_H */
