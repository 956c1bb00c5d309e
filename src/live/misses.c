// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Probe hits that never became records: a kretprobe whose maxactive
 * instances were all in use, a kprobe that fired inside another probe, a
 * program skipped because another BPF program was running on the CPU.  They
 * are losses like ring-buffer drops, with no CPU to name.
 *
 * The counts: bpf_link_info.perf_event.kprobe.missed (kernel 6.7+) and
 * bpf_prog_info.recursion_misses (5.12+).  Older kernels leave them zero.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "live.h"

/*
 * The head of struct bpf_link_info with its perf_event.kprobe member, as in
 * the kernel's uapi since 6.7 (Debian 12's headers predate it).  The kernel
 * fills what it knows and leaves the rest zero; a tail it does not know must
 * be zero on input, which it is.
 */
struct nq_link_info_kprobe {
	__u32 type; /* BPF_LINK_TYPE_PERF_EVENT = 7 */
	__u32 id;
	__u32 prog_id;
	__u32 pad0;
	__u32 pe_type; /* enum bpf_perf_event_type: KPROBE = 3, KRETPROBE = 4 */
	__u32 pad1;
	__u64 func_name;
	__u32 name_len;
	__u32 offset;
	__u64 addr;
	__u64 missed;
	__u64 cookie;
} __attribute__((aligned(8)));

#define NQ_LINK_TYPE_PERF_EVENT 7
#define NQ_PERF_EVENT_KPROBE	3
#define NQ_PERF_EVENT_KRETPROBE 4

_Static_assert(__builtin_offsetof(struct nq_link_info_kprobe, missed) == 48,
	       "bpf_link_info.perf_event.kprobe.missed offset (uapi)");

/* Missed hits of a kprobe or kretprobe link, 0 if unknown. */
static uint64_t link_missed(struct bpf_link *link)
{
	struct nq_link_info_kprobe info;
	__u32 len = sizeof(info);
	int fd = bpf_link__fd(link);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	if (info.type != NQ_LINK_TYPE_PERF_EVENT ||
	    (info.pe_type != NQ_PERF_EVENT_KPROBE && info.pe_type != NQ_PERF_EVENT_KRETPROBE))
		return 0;
	return info.missed;
}

uint64_t nq_probe_misses(struct bpf_object *obj, struct bpf_link *const *links, int nlinks)
{
	struct bpf_program *prog;
	uint64_t n = 0;

	for (int i = 0; i < nlinks; i++)
		n += link_missed(links[i]);
	bpf_object__for_each_program(prog, obj)
	{
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		memset(&info, 0, sizeof(info));
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			n += info.recursion_misses;
	}
	return n;
}
