// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * serve --replay FILE: a recorded trace instead of the live hypervisor.
 * The whole file goes through the same engine and violation outputs as
 * live events, then the daemon keeps serving what it found.  It lets a
 * fleet test its log and alert pipeline (journald, --log, /violations,
 * alert rules) with a trace of a real bug, on any host, without BPF.
 */
#include <stdio.h>

#include "nestirq/engine.h"
#include "nestirq/trace.h"
#include "serve/serve.h"

int nq_serve_replay(const char *path, struct nq_engine *e, struct nq_trace_meta *meta, char *err,
		    size_t errlen)
{
	struct nq_trace_reader *r = nq_trace_reader_open(path, err, errlen);
	enum nq_read_status st;
	struct nq_event ev;

	if (!r)
		return -1;
	*meta = *nq_trace_reader_meta(r);
	while ((st = nq_trace_read(r, &ev)) == NQ_READ_EVENT)
		nq_engine_feed(e, &ev);
	nq_engine_finish(e);
	/* Events before the damage count, as in `nestirq replay`; say where it stopped. */
	if (st == NQ_READ_ERROR)
		nq_log(LOG_WARNING, "--replay %s: %s (events before it were analysed)", path,
		       nq_trace_reader_error(r));
	nq_trace_reader_close(r);
	return 0;
}
