// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Processes that hosted a VM and are gone.  The loader notes the tgid of
 * every record; about once a second each noted process is looked up in
 * /proc, and one that is gone (or whose pid now belongs to a process that
 * started later) yields an NQ_EV_VM_GONE record, so that a new VM that
 * reuses the pid starts without the old one's history.  No libbpf.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live.h"

#define VMGONE_MAX 4096 /* processes watched at once; more are not followed */

/* Field 22 of /proc/PID/stat (start time in clock ticks), 0 if the process is gone. */
uint64_t nq_proc_start_time(uint32_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: fields restart after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* ") S ppid pgrp ... starttime": starttime is the 20th field after ')' */
	for (int f = 0; f < 20 && p; f++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	/* A process that started at tick 0 still exists: never report it as gone. */
	return start ? start : 1;
}

void nq_vmgone_init(struct nq_vmgone *g, uint64_t (*start_of)(uint32_t pid))
{
	memset(g, 0, sizeof(*g));
	g->start_of = start_of ? start_of : nq_proc_start_time;
}

void nq_vmgone_free(struct nq_vmgone *g)
{
	free(g->pids);
	free(g->starts);
	memset(g, 0, sizeof(*g));
}

void nq_vmgone_seen(struct nq_vmgone *g, uint32_t tgid)
{
	uint64_t start;

	/* The hot path: most records come from the process seen last. */
	if (!tgid || tgid == g->last)
		return;
	g->last = tgid;
	for (int i = 0; i < g->n; i++)
		if (g->pids[i] == tgid)
			return;
	if (g->n == g->cap) {
		int cap = g->cap ? 2 * g->cap : 16;
		uint32_t *p;
		uint64_t *s;

		if (cap > VMGONE_MAX)
			return;
		p = realloc(g->pids, (size_t)cap * sizeof(*p));
		if (p)
			g->pids = p;
		s = realloc(g->starts, (size_t)cap * sizeof(*s));
		if (s)
			g->starts = s;
		if (!p || !s)
			return;
		g->cap = cap;
	}
	start = g->start_of(tgid);
	g->pids[g->n] = tgid;
	g->starts[g->n] = start;
	g->n++;
}

int nq_vmgone_check(struct nq_vmgone *g, uint64_t ts_ns, nq_live_event_cb cb, void *ctx)
{
	int gone = 0;

	for (int i = 0; i < g->n;) {
		uint64_t now = g->start_of(g->pids[i]);
		struct nq_event ev;

		/* Seen, but gone before its start time could be read: gone now too. */
		if (now && now == g->starts[i]) {
			i++;
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		ev.h.ts_ns = ts_ns;
		ev.h.tgid = g->pids[i];
		ev.h.vcpu_id = NQ_VCPU_UNKNOWN;
		ev.h.cpu = NQ_CPU_ALL;
		ev.h.kind = NQ_EV_VM_GONE;
		ev.vm_gone.tgid = g->pids[i];
		if (cb)
			cb(&ev, ctx);
		gone++;
		if (g->last == g->pids[i])
			g->last = 0;
		g->n--;
		g->pids[i] = g->pids[g->n];
		g->starts[i] = g->starts[g->n];
	}
	return gone;
}
