// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where serve's violations go.  Every one lands in the /violations ring
 * (bounded by its size); the logs get them through the storm limiter
 * (ratelimit.h): as structured journald entries under systemd, as JSON
 * lines in a --log file, and otherwise as text on stderr.  Metrics count
 * them elsewhere, exactly.  Runs on the event thread only.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nestirq/ratelimit.h"
#include "nestirq/report.h"
#include "serve/serve.h"
#include "serve/vrecord.h"
#include "serve/vring.h"

struct nq_vsink {
	struct nq_ratelimit rl;
	struct nq_vring ring;
	bool journal;
	uint64_t seq;
	uint64_t journal_errors;
};

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void send_journal(struct nq_vsink *s, struct nq_jfields *jf)
{
	int rc = nq_journal_send(jf);

	nq_jfields_free(jf);
	/* Say it once; the violations are still counted and in the ring. */
	if (rc < 0 && !s->journal_errors++)
		nq_log(LOG_ERR, "journald: cannot send a violation entry: %s", strerror(-rc));
}

static void on_suppressed(const struct nq_rl_report *r, void *ctx)
{
	struct nq_vsink *s = ctx;
	struct nq_jfields jf;
	char *obj;

	if (s->journal && !nq_jfields_suppressed(&jf, r))
		send_journal(s, &jf);
	obj = nq_vrec_suppressed_json(r);
	if (!nq_log_json(LOG_WARNING, obj, false) && !s->journal) {
		char line[256];

		nq_ratelimit_format(line, sizeof(line), r);
		nq_log(LOG_WARNING, "%s", line);
	}
	free(obj);
}

struct nq_vsink *nq_vsink_new(void)
{
	struct nq_vsink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	nq_ratelimit_init(&s->rl, NQ_RL_BURST, NQ_RL_INTERVAL_NS, on_suppressed, s);
	nq_vring_init(&s->ring);
	s->journal = nq_journal_detect();
	return s;
}

void nq_vsink_free(struct nq_vsink *s)
{
	if (!s)
		return;
	nq_vring_destroy(&s->ring);
	free(s);
}

struct nq_vring *nq_vsink_ring(struct nq_vsink *s)
{
	return &s->ring;
}

/* stderr without the journal: one line, evidence included. */
static void log_text(const struct nq_violation *v, const char *label)
{
	char ev[NQ_EVIDENCE_MAX * 160] = "", line[256], vcpu[16] = "?";
	size_t off = 0;

	for (unsigned int i = 0; i < v->n_evidence && i < NQ_EVIDENCE_MAX; i++) {
		nq_format_event(&v->evidence[i], line, sizeof(line));
		off += (size_t)snprintf(ev + off, off < sizeof(ev) ? sizeof(ev) - off : 0, "%s%s",
					i ? " | " : "", line);
	}
	if (v->vcpu_id != NQ_VCPU_UNKNOWN)
		snprintf(vcpu, sizeof(vcpu), "%" PRIu32, v->vcpu_id);
	nq_log(v->severity == NQ_SEV_INFO ? LOG_NOTICE : LOG_ERR,
	       "%s %s (%s) vm=%" PRIu32 "%s%s%s vcpu=%s: %s; evidence: %s",
	       nq_severity_name(v->severity), nq_finding_name(v),
	       v->severity == NQ_SEV_INFO ? "info" : nq_rl_kind_invariant(nq_rl_kind(v)), v->tgid,
	       label && *label ? " (" : "", label ? label : "", label && *label ? ")" : "", vcpu,
	       v->message, ev);
}

void nq_vsink_violation(struct nq_vsink *s, const struct nq_violation *v, const char *label)
{
	struct nq_vrec_ctx c = {
		.seq = ++s->seq, .wall_ns = clock_ns(CLOCK_REALTIME), .label = label};
	char *obj = nq_vrec_json(v, &c);

	if (nq_ratelimit_allow(&s->rl, nq_rl_kind(v), v->tgid,
			       (uint64_t)clock_ns(CLOCK_MONOTONIC))) {
		struct nq_jfields jf;

		if (s->journal && !nq_jfields_violation(&jf, v, &c))
			send_journal(s, &jf);
		if (!nq_log_json(v->severity == NQ_SEV_INFO ? LOG_NOTICE : LOG_ERR, obj, true) &&
		    !s->journal)
			log_text(v, label);
	}
	nq_vring_push(&s->ring, obj);
}

void nq_vsink_tick(struct nq_vsink *s, bool force)
{
	nq_ratelimit_flush(&s->rl, (uint64_t)clock_ns(CLOCK_MONOTONIC), force);
}
