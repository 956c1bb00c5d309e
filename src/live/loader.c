// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The BPF loader: opens the skeleton, loads the programs the plan needs (or
 * all of them), attaches what exists, reads the ring buffer and turns kernel
 * drops and probe misses into NQ_EV_LOST records placed where they belong.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nestirq/probes.h"
#include "live_internal.h"

volatile int nq_live_stop;

static void on_signal(int sig)
{
	(void)sig;
	nq_live_stop = 1;
}

void nq_live_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static bool libbpf_quiet;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || libbpf_quiet)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Is this process in the initial pid namespace, where BPF's tgids are /proc's? */
static bool init_pid_ns(void)
{
	char link[64];
	ssize_t n = readlink("/proc/self/ns/pid", link, sizeof(link) - 1);

	if (n <= 0)
		return false;
	link[n] = 0;
	/* PROC_PID_INIT_INO: the initial pid namespace's fixed inode number. */
	return !strcmp(link, "pid:[4026531836]");
}

/* ---- program selection ---- */

static struct bpf_program *tp_prog(struct nestirq_bpf *s, enum nq_tp tp, enum nq_tp_mode m)
{
	struct bpf_program *tab[NQ_TP__MAX][3] = {
		{s->progs.tp_accept, s->progs.tpf_accept, s->progs.raw_accept},
		{s->progs.tp_hw_vmexit, s->progs.tpf_hw_vmexit, NULL},
		{s->progs.tp_inject, s->progs.tpf_inject, s->progs.raw_inject},
		{s->progs.tp_svm_intr, s->progs.tpf_svm_intr, s->progs.raw_svm_intr},
	};

	if (m < NQ_TPM_CORE || m > NQ_TPM_RAW)
		return NULL;
	return tab[tp][m - NQ_TPM_CORE];
}

static const enum nq_point_id tp_point[NQ_TP__MAX] = {NQ_PT_ACCEPT, NQ_PT_HW_VMEXIT, NQ_PT_INJECT,
						      NQ_PT_SVM_INTR};

struct kp {
	enum nq_point_id pt;
	struct bpf_program *prog;
	const char *sym;
	bool ret;
};

static int kprobe_list(struct nq_live *l, struct kp *k)
{
	struct nestirq_bpf *s = l->skel;
	struct nq_plan *p = &l->plan;
	int n = 0;

	k[n++] = (struct kp){NQ_PT_CHECK_VMX, s->progs.kp_vmx_check, "vmx_check_nested_events", 0};
	k[n++] = (struct kp){NQ_PT_CHECK_VMX, s->progs.krp_vmx_check, "vmx_check_nested_events", 1};
	k[n++] = (struct kp){NQ_PT_CHECK_SVM, s->progs.kp_svm_check, "svm_check_nested_events", 0};
	k[n++] = (struct kp){NQ_PT_CHECK_SVM, s->progs.krp_svm_check, "svm_check_nested_events", 1};
	k[n++] = (struct kp){NQ_PT_PEEK, s->progs.krp_peek, "kvm_apic_has_interrupt", 1};
	if (p->ack_is_ret) {
		k[n++] = (struct kp){NQ_PT_ACK, s->progs.kp_get_apic, "kvm_get_apic_interrupt", 0};
		k[n++] = (struct kp){NQ_PT_ACK, s->progs.krp_get_apic, "kvm_get_apic_interrupt", 1};
	} else {
		k[n++] = (struct kp){NQ_PT_ACK, s->progs.kp_ack, "kvm_apic_ack_interrupt", 0};
	}
	k[n++] = (struct kp){NQ_PT_EXTINT, s->progs.krp_extint, "kvm_cpu_get_extint", 1};
	/*
	 * Before the SVI entry: an SVI record promises a return record only
	 * once the return probe is live, and counts vmcs01 loads only once the
	 * switch probe is (see live_flag()).
	 */
	k[n++] = (struct kp){NQ_PT_VMCS_SWITCH, s->progs.kp_load_vmcs, "vmx_vcpu_load_vmcs", 0};
	k[n++] = (struct kp){NQ_PT_SVI_RETURN, s->progs.krp_svi, p->svi_sym, 1};
	k[n++] = (struct kp){NQ_PT_SVI, p->svi_has_vcpu ? s->progs.kp_svi : s->progs.kp_svi_old,
			     p->svi_sym, 0};
	k[n++] = (struct kp){NQ_PT_VM_DESTROY, s->progs.kp_vm_destroy, "kvm_destroy_vm", 0};
	k[n++] = (struct kp){NQ_PT_ACCEPT_EXACT, s->progs.kp_accept_exact, "__apic_accept_irq", 0};
	return n;
}

static void fail_point(struct nq_live *l, enum nq_point_id id, int err, const char *what)
{
	struct nq_point *pt = &l->plan.pt[id];

	pt->status = NQ_PS_FAILED;
	if (err == EPERM && strcmp(l->si.lockdown, "none") && strcmp(l->si.lockdown, "unknown"))
		snprintf(pt->reason, sizeof(pt->reason), "%s: lockdown (%s)", what, l->si.lockdown);
	else if (err == EPERM || err == EACCES)
		snprintf(pt->reason, sizeof(pt->reason), "%s: no privilege (%s)", what,
			 strerror(err));
	else
		snprintf(pt->reason, sizeof(pt->reason), "%s failed: %s", what, strerror(err));
}

static void add_link(struct nq_live *l, struct bpf_link *link)
{
	if (l->nlinks < MAX_LINKS)
		l->links[l->nlinks++] = link;
	else
		bpf_link__destroy(link);
}

static void teardown(struct nq_live *l)
{
	for (int i = 0; i < l->nlinks; i++)
		bpf_link__destroy(l->links[i]);
	l->nlinks = 0;
	ring_buffer__free(l->rb);
	l->rb = NULL;
	nestirq_bpf__destroy(l->skel);
	l->skel = NULL;
	l->drops_before += l->drops.total;
	nq_droptrack_free(&l->drops);
	memset(&l->drops, 0, sizeof(l->drops));
	free(l->drop_snap);
	l->drop_snap = NULL;
	l->misses_seen = 0;
	free(l->counted_seen);
	l->counted_seen = NULL;
	l->counting = false;
}

/* Debug/benchmark override: NESTIRQ_TP_MODE=core|format|raw. */
static void apply_tp_mode_env(struct nq_live *l)
{
	const char *m = getenv("NESTIRQ_TP_MODE");

	if (l->o.tp_mode != NQ_TPM_AUTO || !m)
		return;
	if (!strcmp(m, "core"))
		l->o.tp_mode = NQ_TPM_CORE;
	else if (!strcmp(m, "format"))
		l->o.tp_mode = NQ_TPM_FORMAT;
	else if (!strcmp(m, "raw"))
		l->o.tp_mode = NQ_TPM_RAW;
}

/* Benchmark override (to provoke drops): NESTIRQ_RINGBUF_BYTES, a power of two. */
static void size_ringbuf(struct nq_live *l)
{
	const char *rb = getenv("NESTIRQ_RINGBUF_BYTES");
	unsigned long v = rb ? strtoul(rb, NULL, 0) : 0;

	l->ringbuf_bytes = NQ_RINGBUF_BYTES;
	if (v >= 4096 && v <= (1ul << 30) && !(v & (v - 1)) &&
	    !bpf_map__set_max_entries(l->skel->maps.events, (__u32)v))
		l->ringbuf_bytes = (uint32_t)v;
}

/* Wake user space every so many records: a power of two, at most an eighth of the ring's. */
static void set_wakeup(struct nq_live *l)
{
	uint64_t w = l->o.wakeup_events ? l->o.wakeup_events : NQ_WAKEUP_EVENTS, p2 = 1;

	while (p2 < w && p2 < l->ringbuf_bytes / 72 / 8)
		p2 <<= 1;
	l->skel->rodata->wakeup_every = p2;
}

static bool env_is_1(const char *name)
{
	const char *v = getenv(name);

	return v && !strcmp(v, "1");
}

/*
 * How the accept programs treat an accept (probes.h NQ_ACCEPTS_*).  With
 * pairing probes and the exact accept probe, the history lives in the
 * kernel and only accepts inside a check are streamed; with pairing probes
 * but only the accept tracepoint (no VM in it), every accept is streamed so
 * that the engine keeps the history.  NESTIRQ_STREAM_ACCEPTS=1 takes the
 * context path on any host, for the benchmarks; NESTIRQ_STREAM_ACCEPTS=all
 * streams every accept.
 */
static int accept_mode(const struct nq_live *l)
{
	const struct nq_plan *p = &l->plan;
	bool pairs = p->pt[NQ_PT_CHECK_VMX].status == NQ_PS_READY ||
		     p->pt[NQ_PT_CHECK_SVM].status == NQ_PS_READY ||
		     p->pt[NQ_PT_PEEK].status == NQ_PS_READY ||
		     p->pt[NQ_PT_ACK].status == NQ_PS_READY;

	const char *force = getenv("NESTIRQ_STREAM_ACCEPTS");

	if (force && !strcmp(force, "1"))
		return NQ_ACCEPTS_CONTEXT;
	if (force && !strcmp(force, "all")) /* the ring buffer's capacity benchmark */
		return NQ_ACCEPTS_STREAM;
	if (pairs)
		return p->pt[NQ_PT_ACCEPT_EXACT].status == NQ_PS_READY ? NQ_ACCEPTS_CONTEXT
								       : NQ_ACCEPTS_STREAM;
	return l->o.count_accepts ? NQ_ACCEPTS_COUNT : NQ_ACCEPTS_STREAM;
}

static void set_counting(struct nq_live *l)
{
	l->accept_mode = accept_mode(l);
	l->counting = l->accept_mode != NQ_ACCEPTS_STREAM;
	l->skel->rodata->accept_mode = (__u8)l->accept_mode;
	/* Exits of L2 are only counted; NESTIRQ_STREAM_EXITS=1 streams each one. */
	l->exits_counted = !env_is_1("NESTIRQ_STREAM_EXITS");
	l->skel->rodata->stream_exits = !l->exits_counted;
}

/* Field offsets of the tracepoints' formats, for the format-reading programs. */
static void set_formats(struct nq_live *l)
{
	for (int tp = 0; tp < NQ_TP__MAX; tp++) {
		char ferr[256];
		struct nq_fmt f;

		if (nq_tracefs_format(tp, &f, ferr, sizeof(ferr)))
			continue;
		memcpy((void *)l->skel->rodata->fmt_off[tp], f.off, sizeof(f.off));
		memcpy((void *)l->skel->rodata->fmt_size[tp], f.size, sizeof(f.size));
	}
}

/* Open the skeleton and fill its read-only data before loading. */
static int open_skel(struct nq_live *l, char *err, size_t errlen)
{
	l->skel = nestirq_bpf__open();
	if (!l->skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	l->skel->rodata->filter_tgid = l->o.tgid;
	l->skel->rodata->hf_guest_mask = l->si.hf_guest_mask;
	/* 6.12+ decides the exit vector at the peek; <= 6.11 acks the highest at exit. */
	l->skel->rodata->peek_decides = l->si.has_apic_ack && !l->si.has_get_apic_irq;
	size_ringbuf(l);
	set_wakeup(l);
	set_counting(l);
	set_formats(l);
	return 0;
}

/* Autoload: everything (verifier check) or what the plan attaches. */
static void select_autoload(struct nq_live *l)
{
	const struct nq_plan *p = &l->plan;
	struct bpf_program *prog;
	struct kp kps[MAX_KPS];
	int nk;

	if (l->o.load_all)
		return;
	nk = kprobe_list(l, kps);
	bpf_object__for_each_program(prog, l->skel->obj) bpf_program__set_autoload(prog, false);
	for (int tp = 0; tp < NQ_TP__MAX; tp++)
		if (p->pt[tp_point[tp]].status == NQ_PS_READY)
			bpf_program__set_autoload(tp_prog(l->skel, tp, p->tp_mode[tp]), true);
	for (int i = 0; i < nk; i++)
		if (p->pt[kps[i].pt].status == NQ_PS_READY)
			bpf_program__set_autoload(kps[i].prog, true);
}

/* Say why loading failed (e: a positive errno) with the likeliest cause. */
static void load_error(const struct nq_live *l, int e, char *err, size_t errlen)
{
	if (e == EPERM && strcmp(l->si.lockdown, "none") && strcmp(l->si.lockdown, "unknown") &&
	    (l->si.cap_sys_admin || l->si.cap_bpf))
		snprintf(err, errlen, "loading BPF failed: %s (lockdown: %s)", strerror(e),
			 l->si.lockdown);
	else if (e == EPERM)
		snprintf(err, errlen,
			 "loading BPF failed: %s (needs root, or CAP_BPF and CAP_PERFMON)",
			 strerror(e));
	else if (e == EINVAL && access("/proc/net", F_OK))
		/* libbpf probes global-data support with a socket filter. */
		snprintf(err, errlen,
			 "loading BPF failed: %s (this kernel has no CONFIG_NET, which "
			 "libbpf's feature probes need; NESTIRQ_DEBUG=1 shows libbpf's log)",
			 strerror(e));
	else
		snprintf(err, errlen, "loading BPF failed: %s", strerror(e));
}

static int load_programs(struct nq_live *l, char *err, size_t errlen)
{
	struct bpf_program *prog;
	int e;

	select_autoload(l);
	e = nestirq_bpf__load(l->skel);
	if (e) {
		load_error(l, -e, err, errlen);
		return -1;
	}
	l->nloaded = 0;
	bpf_object__for_each_program(prog, l->skel->obj) if (bpf_program__fd(prog) >= 0)
		l->nloaded++;
	return 0;
}

/* Per-CPU counter snapshots and the ring buffer reader. */
static int open_ringbuf(struct nq_live *l, char *err, size_t errlen)
{
	l->ncpus = libbpf_num_possible_cpus();
	if (l->ncpus <= 0)
		l->ncpus = 1;
	l->drop_snap = calloc(NQ_BSS_CPUS, sizeof(uint64_t));
	l->counted_seen = calloc((size_t)l->ncpus, sizeof(uint64_t));
	memset(l->exits_seen, 0, sizeof(l->exits_seen));
	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.events), nq_live_on_sample, l, NULL);
	if (nq_droptrack_init(&l->drops, l->ncpus, l->o.tgid) || !l->drop_snap ||
	    !l->counted_seen || !l->rb || !l->skel->bss) {
		snprintf(err, errlen, "cannot set up the ring buffer: %s", strerror(errno));
		return -1;
	}
	/* Drops before this (re)setup were reported with the old object. */
	return 0;
}

static void attach_tracepoints(struct nq_live *l)
{
	struct nq_plan *p = &l->plan;

	for (int tp = 0; tp < NQ_TP__MAX; tp++) {
		enum nq_point_id id = tp_point[tp];
		struct bpf_program *prog;
		struct bpf_link *link;

		if (p->pt[id].status != NQ_PS_READY)
			continue;
		if (id == NQ_PT_ACCEPT && p->pt[NQ_PT_ACCEPT_EXACT].status == NQ_PS_ATTACHED) {
			/* One record per accept: the exact kprobe replaces the tracepoint. */
			p->pt[id].status = NQ_PS_UNAVAILABLE;
			snprintf(p->pt[id].reason, sizeof(p->pt[id].reason),
				 "not needed: accept_exact is attached");
			continue;
		}
		prog = tp_prog(l->skel, tp, p->tp_mode[tp]);
		if (p->tp_mode[tp] == NQ_TPM_RAW)
			link = bpf_program__attach_raw_tracepoint(prog, nq_tp_names[tp]);
		else
			link = bpf_program__attach_tracepoint(prog, "kvm", nq_tp_names[tp]);
		if (!link) {
			fail_point(l, id, errno, "attach");
			continue;
		}
		add_link(l, link);
		p->pt[id].status = NQ_PS_ATTACHED;
	}
}

/* Tell the programs which companion probes are live (see kprobe_list()). */
static void live_flag(struct nq_live *l, const struct bpf_program *prog)
{
	if (prog == l->skel->progs.krp_svi)
		l->skel->bss->svi_return_live = 1;
	else if (prog == l->skel->progs.kp_load_vmcs)
		l->skel->bss->vmcs_switch_live = 1;
}

static void attach_kprobes(struct nq_live *l)
{
	struct nq_plan *p = &l->plan;
	struct kp kps[MAX_KPS];
	bool planned[MAX_KPS];
	int nk = kprobe_list(l, kps);

	/* Decided up front: attaching (or failing) a point's first probe changes its status. */
	for (int i = 0; i < nk; i++)
		planned[i] = p->pt[kps[i].pt].status == NQ_PS_READY;
	for (int i = 0; i < nk; i++) {
		LIBBPF_OPTS(bpf_kprobe_opts, ko, .retprobe = kps[i].ret);
		struct bpf_link *link;

		if (!planned[i])
			continue;
		link = bpf_program__attach_kprobe_opts(kps[i].prog, kps[i].sym, &ko);
		if (!link) {
			fail_point(l, kps[i].pt, errno, kps[i].ret ? "kretprobe" : "kprobe");
			continue;
		}
		add_link(l, link);
		live_flag(l, kps[i].prog);
		if (p->pt[kps[i].pt].status == NQ_PS_READY)
			p->pt[kps[i].pt].status = NQ_PS_ATTACHED;
	}
}

/* The VMX state point has no program of its own: kprobes that read it carry it. */
static void settle_vmx_state(struct nq_live *l)
{
	struct nq_plan *p = &l->plan;
	bool any;

	if (p->pt[NQ_PT_VMX_STATE].status != NQ_PS_READY)
		return;
	any = p->pt[NQ_PT_CHECK_VMX].status == NQ_PS_ATTACHED ||
	      p->pt[NQ_PT_ACK].status == NQ_PS_ATTACHED ||
	      p->pt[NQ_PT_SVI].status == NQ_PS_ATTACHED;
	p->pt[NQ_PT_VMX_STATE].status = any ? NQ_PS_ATTACHED : NQ_PS_UNAVAILABLE;
	if (!any)
		snprintf(p->pt[NQ_PT_VMX_STATE].reason, sizeof(p->pt[0].reason),
			 "no kprobe attached that can read it");
}

/* Probe the system, plan, load and attach. On failure the caller tears down. */
static int setup(struct nq_live *l, char *err, size_t errlen)
{
	nq_sysinfo_probe(&l->si);
	apply_tp_mode_env(l);
	nq_plan_build(&l->plan, &l->si, l->o.tp_mode);
	if (open_skel(l, err, errlen) || load_programs(l, err, errlen) ||
	    open_ringbuf(l, err, errlen))
		return -1;
	if (l->o.no_attach)
		return 0;
	/* Kprobes first: the exact accept kprobe, when it attaches, replaces the tracepoint. */
	attach_kprobes(l);
	attach_tracepoints(l);
	settle_vmx_state(l);
	return 0;
}

struct nq_live *nq_live_open(const struct nq_live_opts *o, char *err, size_t errlen)
{
	struct nq_live *l = calloc(1, sizeof(*l));

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->o = *o;
	nq_vmgone_init(&l->gone, NULL);
	l->watch_gone = init_pid_ns();
	/* NESTIRQ_DEBUG=1 shows libbpf's warnings (verifier logs) even when quiet. */
	libbpf_quiet = o->quiet && !getenv("NESTIRQ_DEBUG");
	libbpf_set_print(print_fn);
	if (setup(l, err, errlen)) {
		teardown(l);
		nq_vmgone_free(&l->gone);
		free(l);
		return NULL;
	}
	return l;
}

/* The programs' per-CPU drop counts, read before a batch is consumed. */
int nq_live_check_modules(struct nq_live *l, char *msg, size_t msglen)
{
	bool intel = access("/sys/module/kvm_intel", F_OK) == 0;
	bool amd = access("/sys/module/kvm_amd", F_OK) == 0;
	char err[256];

	if (intel == l->si.mod_kvm_intel && amd == l->si.mod_kvm_amd)
		return 0;
	snprintf(msg, msglen, "%s%s%s; re-planning probes",
		 intel != l->si.mod_kvm_intel ? (intel ? "kvm_intel loaded" : "kvm_intel unloaded")
					      : "",
		 intel != l->si.mod_kvm_intel && amd != l->si.mod_kvm_amd ? ", " : "",
		 amd != l->si.mod_kvm_amd ? (amd ? "kvm_amd loaded" : "kvm_amd unloaded") : "");
	if (l->rb) {
		nq_live_drain_now(l);
	}
	teardown(l);
	if (setup(l, err, sizeof(err))) {
		size_t n = strlen(msg);

		snprintf(msg + n, msglen - n, " (failed: %s)", err);
		teardown(l);
		return -1;
	}
	return 1;
}

void nq_live_close(struct nq_live *l)
{
	if (!l)
		return;
	/* Callers drain with nq_live_poll(l, 0) first: no callbacks from here. */
	teardown(l);
	nq_vmgone_free(&l->gone);
	free(l);
}
