// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* log2 latency histograms: constant memory, cheap to update on the hot path. */
#include "nestirq/engine.h"

void nq_hist_add(struct nq_hist *h, uint64_t ns)
{
	unsigned int b = ns ? 63 - (unsigned int)__builtin_clzll(ns) : 0;

	if (b >= NQ_HIST_BUCKETS)
		b = NQ_HIST_BUCKETS - 1;
	h->bucket[b]++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

uint64_t nq_hist_quantile(const struct nq_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return 0;
	if (q <= 0)
		q = 0;
	if (q > 1)
		q = 1;
	want = (uint64_t)(q * (double)h->count);
	if (want == 0)
		want = 1;
	for (unsigned int b = 0; b < NQ_HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= want) {
			/* The bucket's upper bound, clamped to what was really seen. */
			uint64_t upper = b >= 63 ? UINT64_MAX : (2ull << b) - 1;

			return upper < h->max_ns ? upper : h->max_ns;
		}
	}
	return h->max_ns;
}
