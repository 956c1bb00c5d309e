/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The plan's JSON parser, for the JSON-lines header (trace_plan.c). */
#ifndef NQ_TRACE_PLAN_H
#define NQ_TRACE_PLAN_H

#include "nestirq/plan.h"
#include "trace_json.h"

/*
 * The plan of a header line: an array of point objects, or of text-form
 * strings (traces written before the object form).  null is no plan.
 * 0, or -1 with a message in e.
 */
int nq_plan_from_json(struct nqj_err *e, const struct nqj_val *arr, struct nq_plan_data *pd);

#endif /* NQ_TRACE_PLAN_H */
