// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The reader's error state, below both format back ends and the front end
 * that dispatches to them, so that no file of the reader calls back into
 * the one that calls it.
 */
#include <stdarg.h>

#include "trace_internal.h"

void nq_reader_fail(struct nq_trace_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	/* Messages quote input (JSON keys, names): keep them one printable line. */
	for (char *c = r->err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	r->state = NQ_RS_ERROR;
}
