/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Human and JSON renderings of violations and engine statistics. */
#ifndef NESTIRQ_REPORT_H
#define NESTIRQ_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "nestirq/engine.h"
#include "nestirq/trace.h"

/* One event on one line, for evidence lists: "ts=... vm=... vcpu=... ack vector=49 vmcs=02". */
int nq_format_event(const struct nq_event *ev, char *buf, size_t len);

/*
 * A finding's fields in a JSON object, as every JSON output writes them:
 * head = severity, kind, invariant, vm, vm_id; tail = vcpu, ts, message,
 * evidence.  Split so that a record may add its own keys in between.
 */
struct nq_json;
void nq_report_finding_head(struct nq_json *w, const struct nq_violation *v);
void nq_report_finding_tail(struct nq_json *w, const struct nq_violation *v);
/* The evidence alone: an array of events in the JSON-lines schema. */
void nq_report_evidence_json(struct nq_json *w, const struct nq_violation *v);

/* A finding (violation or info): a headline plus its evidence, or one JSON object (one line). */
void nq_report_violation(FILE *out, const struct nq_violation *v, bool json);

/* The end-of-run summary: counts, pairs, latencies, violations by kind, verdict. */
void nq_report_summary(FILE *out, const struct nq_stats *s, bool json);
/*
 * The same for a trace damaged at `damage` ("offset N: why"): the verdict
 * says so, and how many records before the damage were analysed.
 */
void nq_report_summary_damaged(FILE *out, const struct nq_stats *s, bool json, const char *damage);

/* The trace header (replay): kernel, host, flow and probe plan. */
void nq_report_meta(FILE *out, const struct nq_trace_meta *m, bool json);

#endif /* NESTIRQ_REPORT_H */
