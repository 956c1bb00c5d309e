// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * BPF program run time and run count (bpf_prog_info.run_time_ns/run_cnt).
 * The kernel only counts while kernel.bpf_stats_enabled is on; we never flip
 * the sysctl behind the admin's back: --enable-bpf-stats holds a
 * BPF_ENABLE_STATS fd instead, which the kernel releases on exit or crash.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "live.h"
#include "live_skel.h"
#include "nestirq/metrics.h"

int nq_bpf_stats_sysctl(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v < 0 ? -1 : v != 0;
}

int nq_bpf_stats_enable(char *err, size_t errlen)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "BPF_ENABLE_STATS: %s%s", strerror(e),
			 e == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		return -1;
	}
	return fd;
}

void nq_live_prog_stats(struct nq_live *l, struct nq_metrics_snap *s)
{
	struct nestirq_bpf *skel = nq_live_skel(l);
	struct bpf_program *prog;

	s->nprogs = 0;
	if (!skel)
		return;
	bpf_object__for_each_program(prog, skel->obj)
	{
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		struct nq_prog_stat *ps;
		int fd = bpf_program__fd(prog);

		if (fd < 0 || s->nprogs >= NQ_METRICS_MAX_PROGS)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		ps = &s->prog[s->nprogs++];
		snprintf(ps->name, sizeof(ps->name), "%s", bpf_program__name(prog));
		ps->run_time_ns = info.run_time_ns;
		ps->run_cnt = info.run_cnt;
	}
}
