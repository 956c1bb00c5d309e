// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The /violations ring (see vring.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_writer.h"
#include "serve/vring.h"

void nq_vring_init(struct nq_vring *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

void nq_vring_destroy(struct nq_vring *r)
{
	for (unsigned int i = 0; i < NQ_VRING_CAP; i++)
		free(r->obj[i]);
	pthread_mutex_destroy(&r->lock);
}

void nq_vring_push(struct nq_vring *r, char *obj)
{
	char *old;

	pthread_mutex_lock(&r->lock);
	old = r->obj[r->total % NQ_VRING_CAP];
	r->obj[r->total % NQ_VRING_CAP] = obj;
	r->total++;
	pthread_mutex_unlock(&r->lock);
	free(old); /* outside the lock */
}

/* Copies the live entries, oldest first, under the lock; the strings are duplicated. */
static unsigned int snapshot(struct nq_vring *r, char **out, uint64_t *total)
{
	unsigned int n = 0;
	uint64_t first;

	pthread_mutex_lock(&r->lock);
	*total = r->total;
	first = r->total > NQ_VRING_CAP ? r->total - NQ_VRING_CAP : 0;
	for (uint64_t s = first; s < r->total; s++) {
		const char *o = r->obj[s % NQ_VRING_CAP];

		if (o && (out[n] = strdup(o)))
			n++;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

char *nq_vring_render(struct nq_vring *r, size_t *len)
{
	char **objs = calloc(NQ_VRING_CAP, sizeof(*objs));
	char *buf = NULL;
	uint64_t total;
	unsigned int n;
	FILE *f;

	*len = 0;
	if (!objs)
		return NULL;
	n = snapshot(r, objs, &total);
	f = open_memstream(&buf, len);
	if (f) {
		struct nq_json w;

		nq_json_init(&w, f);
		nq_json_begin_object(&w);
		nq_json_ku64(&w, "capacity", NQ_VRING_CAP);
		nq_json_ku64(&w, "total", total);
		nq_json_ku64(&w, "returned", n);
		/* The records are finished JSON objects (vrecord.c): spliced, one a line. */
		fprintf(f, ",\"violations\":[");
		for (unsigned int i = 0; i < n; i++)
			fprintf(f, "%s\n%s", i ? "," : "", objs[i]);
		fprintf(f, "\n]}\n");
		if (fclose(f)) {
			free(buf);
			buf = NULL;
		}
	}
	for (unsigned int i = 0; i < n; i++)
		free(objs[i]);
	free(objs);
	return buf;
}
