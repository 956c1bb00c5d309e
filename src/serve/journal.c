// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Violations to journald as structured entries (sd_journal_sendv), when the
 * daemon runs under systemd: stderr is the journal (JOURNAL_STREAM names its
 * device and inode), or systemd started us (INVOCATION_ID) and the journal
 * socket exists.  The fields come from vrecord.c.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "serve/serve.h"
#include "serve/vrecord.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

bool nq_journal_detect(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(2, &st) &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		return true;
	return getenv("INVOCATION_ID") && !access(JOURNAL_SOCKET, W_OK);
}

int nq_journal_send(const struct nq_jfields *jf)
{
	struct iovec iov[NQ_JF_MAX];

	for (unsigned int i = 0; i < jf->n; i++) {
		iov[i].iov_base = jf->f[i];
		iov[i].iov_len = strlen(jf->f[i]);
	}
	return sd_journal_sendv(iov, (int)jf->n);
}
