/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The libbpf skeleton behind a struct nq_live: private to the live side and
 * its tests, so that nothing else depends on libbpf's object layout.
 */
#ifndef NESTIRQ_LIVE_SKEL_H
#define NESTIRQ_LIVE_SKEL_H

#include "nestirq/probes.h" /* types of the programs' globals */
#include "live.h"
#include "nestirq.skel.h"

struct nestirq_bpf *nq_live_skel(struct nq_live *l);

#endif /* NESTIRQ_LIVE_SKEL_H */
