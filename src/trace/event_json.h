/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The JSON schema of struct nq_event (event_json.c).  The formatter is
 * public (nq_jsonl_write_event in nestirq/trace.h); the parser works on a
 * line trace_json.c has parsed, for the JSON-lines reader.
 */
#ifndef NQ_EVENT_JSON_H
#define NQ_EVENT_JSON_H

#include "nestirq/trace.h"
#include "trace_json.h"

/*
 * The event of a parsed line.  The line must not be a header.  0, or -1
 * with a one-line message in e.
 */
int nq_event_from_json(struct nqj_err *e, const struct nqj_doc *d, struct nq_event *ev);

#endif /* NQ_EVENT_JSON_H */
