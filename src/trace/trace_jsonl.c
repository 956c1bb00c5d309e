// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * JSON lines: one event per line, an optional header line first.  One
 * table per kind drives both the formatter and the parser, so the keys one
 * writes are exactly the keys the other accepts, and format -> parse gives
 * back the identical struct nq_event.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include "trace_internal.h"
#include "trace_json.h"

/* How a field is stored and spelled. */
enum fk {
	FK_U8,	 /* integer */
	FK_U16,	 /* integer */
	FK_U32,	 /* integer */
	FK_U64,	 /* integer */
	FK_S32,	 /* integer, may be negative */
	FK_B8,	 /* u8 flag: true/false or an integer, written as an integer */
	FK_X32,	 /* u32 written as a "0x..." string: bit fields read better in hex */
	FK_X64,	 /* u64 likewise */
	FK_ENUM, /* u8 written by name (an integer if the value has none) */
	FK_FLAG, /* one bit (arg) of a u8: a boolean */
	FK_CTLS, /* check_enter ctls: an object of booleans */
};

enum { E_ISA, E_VMCS, E_API, E_OUTCOME, E_ORIGIN, E_LOST };

/*
 * Defaults for keys that are omitted or null.  D_FF marks a tri-state byte
 * (NQ_BOOL_UNKNOWN when absent); D_OMIT0 is left out when zero, as the
 * trailer of event ABI 1 records always is.
 */
enum { D_ZERO, D_FFFF, D_VCPU, D_OMIT, D_OMIT0, D_FF };

struct field {
	const char *key;
	uint8_t fk;
	uint8_t off; /* offset in struct nq_event */
	uint8_t arg; /* FK_ENUM: E_*; FK_FLAG: the bit */
	uint8_t dflt;
};

struct enum_desc {
	const char *what;
	const char *const *names;
	unsigned int n;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const isa_names[] = {"unknown", "vmx", "svm"};
static const char *const vmcs_names[] = {"unknown", "01", "02", "other"};
static const char *const api_names[] = {"unknown", "apic_ack", "get_apic_interrupt"};
static const char *const outcome_names[] = {"written", "deferred"};
static const char *const origin_names[] = {"l1_isr", "l2_state"};
static const char *const lost_names[] = {"ringbuf", "probe_miss"};

static const struct enum_desc enums[] = {
	[E_ISA] = {"isa", isa_names, N(isa_names)},
	[E_VMCS] = {"vmcs", vmcs_names, N(vmcs_names)},
	[E_API] = {"api", api_names, N(api_names)},
	[E_OUTCOME] = {"outcome", outcome_names, N(outcome_names)},
	[E_ORIGIN] = {"origin", origin_names, N(origin_names)},
	[E_LOST] = {"source", lost_names, N(lost_names)},
};

#define OFF(m) ((uint8_t)offsetof(struct nq_event, m))

static const struct field f_common[] = {
	{"ts", FK_U64, OFF(h.ts_ns), 0, D_ZERO},
	{"cpu", FK_U16, OFF(h.cpu), 0, D_ZERO},
	{"vm", FK_U32, OFF(h.tgid), 0, D_ZERO},
	{"tid", FK_U32, OFF(h.tid), 0, D_ZERO},
	{"vcpu", FK_U32, OFF(h.vcpu_id), 0, D_OMIT}, /* omitted: NQ_VCPU_UNKNOWN */
	{"isa", FK_ENUM, OFF(h.isa), E_ISA, D_OMIT}, /* omitted: NQ_ISA_UNKNOWN */
	{"vm_id", FK_U32, OFF(vm_id), 0, D_OMIT0},
	{"drop_seq", FK_U32, OFF(drop_seq), 0, D_OMIT0},
};

static const struct field f_accept[] = {
	{"vector", FK_U8, OFF(accept.vector), 0, D_ZERO},
	{"apicid", FK_U32, OFF(accept.apicid), 0, D_VCPU},
	{"dm", FK_U16, OFF(accept.delivery_mode), 0, D_ZERO},
	{"tm", FK_U16, OFF(accept.trigger_mode), 0, D_ZERO},
	{"exact", FK_FLAG, OFF(accept.flags), NQ_ACCEPT_F_EXACT, D_ZERO},
};

static const struct field f_check_enter[] = {
	{"vmcs", FK_ENUM, OFF(check_enter.vmcs), E_VMCS, D_ZERO},
	{"guest_mode", FK_B8, OFF(check_enter.guest_mode), 0, D_ZERO},
	{"ctls", FK_CTLS, OFF(check_enter.ctls), 0, D_ZERO},
	{"posted_intr_nv", FK_U16, OFF(check_enter.posted_intr_nv), 0, D_FFFF},
	{"pi_pending", FK_B8, OFF(check_enter.pi_pending), 0, D_ZERO},
};

static const struct field f_check_exit[] = {
	{"ret", FK_S32, OFF(check_exit.ret), 0, D_ZERO},
};

static const struct field f_peek[] = {
	{"vector", FK_S32, OFF(peek.vector), 0, D_ZERO},
	{"vmcs", FK_ENUM, OFF(peek.vmcs), E_VMCS, D_ZERO},
	{"in_ack", FK_FLAG, OFF(peek.flags), NQ_PEEK_F_IN_ACK, D_ZERO},
	{"decides", FK_FLAG, OFF(peek.flags), NQ_PEEK_F_DECIDES, D_ZERO},
};

static const struct field f_ack[] = {
	{"vector", FK_S32, OFF(ack.vector), 0, D_ZERO},
	{"vmcs", FK_ENUM, OFF(ack.vmcs), E_VMCS, D_ZERO},
	{"api", FK_ENUM, OFF(ack.api), E_API, D_ZERO},
	{"guest_mode", FK_B8, OFF(ack.guest_mode), 0, D_ZERO},
};

static const struct field f_hw_exit[] = {
	{"reason", FK_U32, OFF(hw_exit.reason), 0, D_ZERO},
	{"intr_info", FK_X32, OFF(hw_exit.intr_info), 0, D_ZERO},
	{"info1", FK_X64, OFF(hw_exit.info1), 0, D_ZERO},
	{"info2", FK_X64, OFF(hw_exit.info2), 0, D_ZERO},
	{"error_code", FK_X32, OFF(hw_exit.error_code), 0, D_ZERO},
};

static const struct field f_inject[] = {
	{"exit_code", FK_U64, OFF(inject.exit_code), 0, D_ZERO},
	{"exit_int_info", FK_X32, OFF(inject.exit_int_info), 0, D_ZERO},
	{"info1", FK_X64, OFF(inject.info1), 0, D_ZERO},
	{"info2", FK_X64, OFF(inject.info2), 0, D_ZERO},
	{"exit_int_info_err", FK_X32, OFF(inject.exit_int_info_err), 0, D_ZERO},
};

static const struct field f_svi[] = {
	{"max_isr", FK_S32, OFF(svi.max_isr), 0, D_ZERO},
	{"vmcs", FK_ENUM, OFF(svi.vmcs), E_VMCS, D_ZERO},
	{"outcome", FK_ENUM, OFF(svi.outcome), E_OUTCOME, D_ZERO},
	{"origin", FK_ENUM, OFF(svi.origin), E_ORIGIN, D_ZERO},
	{"guest_mode", FK_B8, OFF(svi.guest_mode), 0, D_ZERO},
	{"await_return", FK_FLAG, OFF(svi.flags), NQ_SVI_F_AWAIT_RETURN, D_ZERO},
};

static const struct field f_svi_return[] = {
	{"vmcs", FK_ENUM, OFF(svi_ret.vmcs), E_VMCS, D_ZERO},
	{"update_pending", FK_U8, OFF(svi_ret.update_pending), 0, D_FF},
	{"guest_mode", FK_B8, OFF(svi_ret.guest_mode), 0, D_ZERO},
	{"loads01", FK_U8, OFF(svi_ret.loads01), 0, D_FF},
};

static const struct field f_vmcs_switch[] = {
	{"to", FK_ENUM, OFF(vmcs_switch.to), E_VMCS, D_ZERO},
	{"guest_mode", FK_B8, OFF(vmcs_switch.guest_mode), 0, D_ZERO},
	{"apicv_active", FK_U8, OFF(vmcs_switch.apicv_active), 0, D_FF},
};

static const struct field f_extint[] = {
	{"vector", FK_S32, OFF(extint.vector), 0, D_ZERO},
};

static const struct field f_vm_gone[] = {
	{"tgid", FK_U32, OFF(vm_gone.tgid), 0, D_ZERO},
};

static const struct field f_nested_pi[] = {
	{"posted_intr_nv", FK_U16, OFF(pi.posted_intr_nv), 0, D_FFFF},
	{"pi_enabled", FK_B8, OFF(pi.pi_enabled), 0, D_ZERO},
	{"pi_pending", FK_B8, OFF(pi.pi_pending), 0, D_ZERO},
};

static const struct field f_svm_intr[] = {
	{"rip", FK_X64, OFF(svm_intr.rip), 0, D_ZERO},
};

static const struct field f_lost[] = {
	{"count", FK_U64, OFF(lost.count), 0, D_ZERO},
	{"source", FK_ENUM, OFF(lost.source), E_LOST, D_ZERO},
};

struct kind_desc {
	const char *name;
	const struct field *f;
	unsigned int nf;
};

#define KIND(id, nm, tbl) [id] = {nm, tbl, N(tbl)}
static const struct kind_desc kinds[NQ_EV__MAX] = {
	KIND(NQ_EV_IRQ_ACCEPT, "irq_accept", f_accept),
	KIND(NQ_EV_CHECK_ENTER, "check_enter", f_check_enter),
	KIND(NQ_EV_CHECK_EXIT, "check_exit", f_check_exit),
	KIND(NQ_EV_PEEK, "peek", f_peek),
	KIND(NQ_EV_ACK, "ack", f_ack),
	KIND(NQ_EV_HW_NESTED_VMEXIT, "hw_nested_vmexit", f_hw_exit),
	KIND(NQ_EV_VMEXIT_INJECT, "vmexit_inject", f_inject),
	KIND(NQ_EV_SVI_UPDATE, "svi_update", f_svi),
	KIND(NQ_EV_VMCS_SWITCH, "vmcs_switch", f_vmcs_switch),
	KIND(NQ_EV_NESTED_PI, "nested_pi", f_nested_pi),
	KIND(NQ_EV_SVM_INTR_EXIT, "svm_intr_exit", f_svm_intr),
	KIND(NQ_EV_LOST, "lost", f_lost),
	KIND(NQ_EV_SVI_RETURN, "svi_return", f_svi_return),
	KIND(NQ_EV_EXTINT, "extint", f_extint),
	KIND(NQ_EV_VM_GONE, "vm_gone", f_vm_gone),
	[NQ_EV_SYNC] = {"sync", NULL, 0},
};

static unsigned int width(uint8_t fk)
{
	switch (fk) {
	case FK_U16:
		return 2;
	case FK_U32:
	case FK_S32:
	case FK_X32:
		return 4;
	case FK_U64:
	case FK_X64:
		return 8;
	default:
		return 1;
	}
}

static uint64_t get_raw(const struct nq_event *ev, const struct field *f)
{
	uint64_t v = 0;

	memcpy(&v, (const uint8_t *)ev + f->off, width(f->fk)); /* little-endian host */
	return v;
}

static void set_raw(struct nq_event *ev, const struct field *f, uint64_t v)
{
	memcpy((uint8_t *)ev + f->off, &v, width(f->fk));
}

/* ---- formatting ---- */

struct out {
	char *buf;
	size_t len, cap;
	bool full;
};

static void out_raw(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len + n >= o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

__attribute__((format(printf, 2, 3))) static void out_fmt(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full || o->len >= o->cap) {
		o->full = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

/* A JSON string.  Bytes >= 0x80 pass through: the meta is UTF-8 already. */
static void out_str(struct out *o, const char *s, size_t n)
{
	out_raw(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t run = i;

		while (run < n && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			out_raw(o, s + i, run - i);
			i = run - 1;
			continue;
		}
		if (c == '"' || c == '\\')
			out_fmt(o, "\\%c", c);
		else if (c == '\n')
			out_raw(o, "\\n", 2);
		else if (c == '\t')
			out_raw(o, "\\t", 2);
		else if (c == '\r')
			out_raw(o, "\\r", 2);
		else
			out_fmt(o, "\\u%04x", c);
	}
	out_raw(o, "\"", 1);
}

static int out_end(struct out *o)
{
	if (o->full || !o->cap)
		return -1;
	o->buf[o->len] = '\0';
	return (int)o->len;
}

static void out_field(struct out *o, const struct nq_event *ev, const struct field *f)
{
	uint64_t v = get_raw(ev, f);

	out_fmt(o, ",\"%s\":", f->key);
	switch (f->fk) {
	case FK_S32:
		out_fmt(o, "%" PRId32, (int32_t)(uint32_t)v);
		break;
	case FK_X32:
	case FK_X64:
		out_fmt(o, "\"0x%" PRIx64 "\"", v);
		break;
	case FK_ENUM:
		if (v < enums[f->arg].n)
			out_fmt(o, "\"%s\"", enums[f->arg].names[v]);
		else
			out_fmt(o, "%" PRIu64, v);
		break;
	case FK_FLAG:
		out_fmt(o, "%s", v & f->arg ? "true" : "false");
		break;
	case FK_CTLS:
		out_fmt(o, "{\"exit_on_intr\":%s,\"ack_on_exit\":%s,\"posted_intr\":%s}",
			v & NQ_CTL_EXIT_ON_INTR ? "true" : "false",
			v & NQ_CTL_ACK_ON_EXIT ? "true" : "false",
			v & NQ_CTL_POSTED_INTR ? "true" : "false");
		break;
	default:
		out_fmt(o, "%" PRIu64, v);
	}
}

/* Omitted keys read back as their default, so leaving them out loses nothing. */
static bool omitted(const struct nq_event *ev, const struct field *f)
{
	uint64_t v = get_raw(ev, f);

	if (f->fk == FK_CTLS)
		return !(v & (NQ_CTL_KNOWN | NQ_CTL_EXIT_ON_INTR | NQ_CTL_ACK_ON_EXIT |
			      NQ_CTL_POSTED_INTR));
	if (f->dflt == D_OMIT0)
		return v == 0;
	if (f->dflt != D_OMIT)
		return false;
	return f->fk == FK_ENUM ? v == 0 : v == NQ_VCPU_UNKNOWN;
}

int nq_jsonl_format_event(const struct nq_event *ev, char *buf, size_t len)
{
	struct out o = {buf, 0, len, false};
	const struct kind_desc *kd = ev->h.kind < NQ_EV__MAX ? &kinds[ev->h.kind] : NULL;

	out_fmt(&o, "{\"ts\":%" PRIu64, (uint64_t)ev->h.ts_ns);
	for (unsigned int i = 1; i < N(f_common); i++)
		if (!omitted(ev, &f_common[i]))
			out_field(&o, ev, &f_common[i]);
	if (kd && kd->name) {
		out_fmt(&o, ",\"kind\":\"%s\"", kd->name);
		for (unsigned int i = 0; i < kd->nf; i++)
			if (!omitted(ev, &kd->f[i]))
				out_field(&o, ev, &kd->f[i]);
	} else {
		/* A kind this version has no table for (a newer recorder's): keep its bytes. */
		out_fmt(&o, ",\"kind\":%u,\"raw\":\"", ev->h.kind);
		for (size_t i = 0; i < sizeof(ev->raw); i++)
			out_fmt(&o, "%02x", ev->raw[i]);
		out_raw(&o, "\"", 1);
	}
	out_raw(&o, "}", 1);
	return out_end(&o);
}

int nq_jsonl_format_meta(const struct nq_trace_meta *m, char *buf, size_t len)
{
	struct out o = {buf, 0, len, false};
	size_t plen = strnlen(m->plan, sizeof(m->plan));
	bool first = true;

	out_fmt(&o, "{\"nestirq_trace\":%d,\"kernel\":", NQ_TRACE_VERSION);
	out_str(&o, m->kernel, strnlen(m->kernel, sizeof(m->kernel)));
	out_raw(&o, ",\"host\":", 8);
	out_str(&o, m->host, strnlen(m->host, sizeof(m->host)));
	out_raw(&o, ",\"flow\":", 8);
	out_str(&o, m->flow, strnlen(m->flow, sizeof(m->flow)));
	out_raw(&o, ",\"isa\":", 7);
	out_str(&o, m->isa, strnlen(m->isa, sizeof(m->isa)));
	out_fmt(&o, ",\"created_ns\":%" PRIu64 ",\"plan\":[", m->created_ns);
	for (size_t i = 0; i < plen;) {
		const char *nl = memchr(m->plan + i, '\n', plen - i);
		size_t l = nl ? (size_t)(nl - (m->plan + i)) : plen - i;

		if (l) {
			if (!first)
				out_raw(&o, ",", 1);
			out_str(&o, m->plan + i, l);
			first = false;
		}
		i += l + 1;
	}
	out_raw(&o, "]}", 2);
	return out_end(&o);
}

/* ---- parsing ---- */

struct perr {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 2, 3))) static int perr(struct perr *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
	return -1;
}

/* The value as the user wrote it, for messages. */
static const char *spelled(const struct nqj_val *v, char *tmp, size_t len)
{
	if (v->type == NQJ_STR)
		snprintf(tmp, len, "\"%.40s\"", v->str);
	else
		snprintf(tmp, len, "%s%" PRIu64, v->neg ? "-" : "", v->mag);
	return tmp;
}

/* An integer: a JSON integer, or a "0x..." string for readability. */
static int get_int(struct perr *e, const struct nqj_val *v, bool *neg, uint64_t *mag)
{
	const char *s = v->str;
	uint64_t m = 0;

	*neg = false;
	if (v->type == NQJ_INT) {
		*neg = v->neg;
		*mag = v->mag;
		return 0;
	}
	if (v->type != NQJ_STR)
		return perr(e, "key '%s': expected an integer", v->key);
	if (v->len < 3 || v->len > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		goto bad;
	for (s += 2; *s; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			goto bad;
		m = m << 4 | d;
	}
	*mag = m;
	return 0;
bad:
	return perr(e, "key '%s': invalid number \"%.40s\" (an integer or a \"0x...\" hex string)",
		    v->key, v->str);
}

/* An integer in [lo, hi], where lo is -lo_mag. */
static int get_ranged(struct perr *e, const struct nqj_val *v, const char *name, uint64_t lo_mag,
		      uint64_t hi, uint64_t *out)
{
	char tmp[64];
	bool neg;
	uint64_t mag = 0;

	if (get_int(e, v, &neg, &mag))
		return -1;
	if (neg ? mag > lo_mag : mag > hi)
		return perr(e, "%s %s out of range (%s%" PRIu64 "..%" PRIu64 ")", name,
			    spelled(v, tmp, sizeof(tmp)), lo_mag ? "-" : "", lo_mag, hi);
	*out = neg ? (uint64_t)0 - mag : mag;
	return 0;
}

static int get_enum(struct perr *e, const struct nqj_val *v, const struct field *f, uint64_t *out)
{
	const struct enum_desc *ed = &enums[f->arg];
	char list[128] = "";

	if (v->type == NQJ_INT)
		return get_ranged(e, v, v->key, 0, 0xff, out);
	if (v->type != NQJ_STR)
		return perr(e, "key '%s': expected a string", v->key);
	for (unsigned int i = 0; i < ed->n; i++) {
		if (!strcmp(v->str, ed->names[i])) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 ed->names[i]);
	}
	return perr(e, "unknown %s '%.40s' (expected one of: %s)", ed->what, v->str, list);
}

static int get_ctls(struct perr *e, const struct nqj_val *v, uint64_t *out)
{
	static const struct {
		const char *key;
		uint8_t bit;
	} bits[] = {{"exit_on_intr", NQ_CTL_EXIT_ON_INTR},
		    {"ack_on_exit", NQ_CTL_ACK_ON_EXIT},
		    {"posted_intr", NQ_CTL_POSTED_INTR}};

	if (v->type != NQJ_OBJ)
		return perr(e, "key 'ctls': expected an object");
	*out = 0;
	for (uint32_t k = 1; k <= v->n; k++) {
		const struct nqj_val *c = v + k;
		unsigned int i;

		for (i = 0; i < N(bits) && strcmp(c->key, bits[i].key); i++)
			;
		if (i == N(bits))
			return perr(e, "unknown key 'ctls.%.40s'", c->key);
		if (c->type != NQJ_BOOL)
			return perr(e, "key 'ctls.%s': expected true or false", c->key);
		/* Any control given means L1's controls were read. */
		*out |= NQ_CTL_KNOWN | (c->b ? bits[i].bit : 0);
	}
	return 0;
}

/* 1: set; 0: null (the default stays); -1: error. */
static int set_field(struct perr *e, struct nq_event *ev, const struct field *f,
		     const struct nqj_val *v)
{
	static const uint64_t umax[] = {0, 0xff, 0xffff, 0, 0xffffffffu, 0, 0, 0, UINT64_MAX};
	uint64_t x;
	int rc;

	if (v->type == NQJ_NULL)
		return 0;
	switch (f->fk) {
	case FK_S32:
		rc = get_ranged(e, v, f->key, (uint64_t)INT32_MAX + 1, INT32_MAX, &x);
		break;
	case FK_B8:
		if (v->type == NQJ_BOOL) {
			x = v->b;
			rc = 0;
		} else {
			rc = get_ranged(e, v, f->key, 0, 0xff, &x);
		}
		break;
	case FK_ENUM:
		rc = get_enum(e, v, f, &x);
		break;
	case FK_FLAG:
		if (v->type != NQJ_BOOL)
			return perr(e, "key '%s': expected true or false", f->key);
		x = get_raw(ev, f) | (v->b ? f->arg : 0);
		rc = 0;
		break;
	case FK_CTLS:
		rc = get_ctls(e, v, &x);
		break;
	default:
		rc = get_ranged(e, v, f->key, 0, umax[width(f->fk)], &x);
	}
	if (rc)
		return -1;
	set_raw(ev, f, x);
	return 1;
}

static const struct field *lookup(const struct field *f, unsigned int n, const char *key)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(f[i].key, key))
			return &f[i];
	return NULL;
}

static int hexbyte(const char *s)
{
	int v = 0;

	for (int i = 0; i < 2; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static int set_raw_payload(struct perr *e, struct nq_event *ev, const struct nqj_val *v)
{
	if (v->type != NQJ_STR || v->len != 2 * sizeof(ev->raw))
		return perr(e, "key 'raw': expected %zu hex digits", 2 * sizeof(ev->raw));
	for (size_t i = 0; i < sizeof(ev->raw); i++) {
		int b = hexbyte(v->str + 2 * i);

		if (b < 0)
			return perr(e, "key 'raw': expected %zu hex digits", 2 * sizeof(ev->raw));
		ev->raw[i] = (uint8_t)b;
	}
	return 0;
}

/* Which kind the line is: a name, or a number with a raw payload for kinds this version lacks. */
static int get_kind(struct perr *e, const struct nqj_doc *d, struct nq_event *ev)
{
	int k = nqj_find(d, "kind");
	const struct nqj_val *v;
	uint64_t x;

	if (k < 0)
		return perr(e, "missing key 'kind'");
	v = &d->v[k];
	if (v->type == NQJ_STR) {
		for (unsigned int i = 1; i < NQ_EV__MAX; i++)
			if (kinds[i].name && !strcmp(v->str, kinds[i].name)) {
				ev->h.kind = (uint8_t)i;
				return 0;
			}
		return perr(e, "unknown kind '%.40s'", v->str);
	}
	if (v->type != NQJ_INT)
		return perr(e, "key 'kind': expected a string");
	if (get_ranged(e, v, "kind", 0, 0xff, &x))
		return -1;
	if (x && x < NQ_EV__MAX)
		return perr(e, "kind %" PRIu64 " has a name: write \"kind\":\"%s\"", x,
			    kinds[x].name);
	ev->h.kind = (uint8_t)x;
	return 0;
}

static int parse_event(struct perr *e, const struct nqj_doc *d, struct nq_event *ev)
{
	const struct kind_desc *kd;
	unsigned int seen = 0;

	memset(ev, 0, sizeof(*ev)); /* padding and unused payload bytes are zero */
	if (nqj_find(d, "nestirq_trace") >= 0)
		return perr(e, "a header line must be the first line");
	if (get_kind(e, d, ev))
		return -1;
	kd = ev->h.kind < NQ_EV__MAX && ev->h.kind ? &kinds[ev->h.kind] : NULL;
	ev->h.vcpu_id = NQ_VCPU_UNKNOWN;
	for (unsigned int i = 0; kd && i < kd->nf; i++)
		if (kd->f[i].dflt == D_FFFF)
			set_raw(ev, &kd->f[i], 0xffff);
		else if (kd->f[i].dflt == D_FF)
			set_raw(ev, &kd->f[i], NQ_BOOL_UNKNOWN);

	for (uint32_t k = 1; k < d->n; k += 1 + d->v[k].n) {
		const struct nqj_val *v = &d->v[k];
		const struct field *f = lookup(f_common, N(f_common), v->key), *kf = NULL;
		int rc;

		if (!strcmp(v->key, "kind"))
			continue;
		if (!f && kd)
			f = kf = lookup(kd->f, kd->nf, v->key);
		if (f) {
			rc = set_field(e, ev, f, v);
			if (rc < 0)
				return -1;
			if (rc > 0 && kf)
				seen |= 1u << (kf - kd->f);
		} else if (!kd && !strcmp(v->key, "raw")) {
			if (set_raw_payload(e, ev, v))
				return -1;
		} else if (kd) {
			return perr(e, "unknown key '%.40s' for kind '%s'", v->key, kd->name);
		} else {
			return perr(e, "unknown key '%.40s' (a numbered kind takes only 'raw')",
				    v->key);
		}
	}
	for (unsigned int i = 0; kd && i < kd->nf; i++)
		if (kd->f[i].dflt == D_VCPU && !(seen & 1u << i))
			set_raw(ev, &kd->f[i], ev->h.vcpu_id);
	return 0;
}

static int meta_str(struct perr *e, const struct nqj_val *v, char *dst, size_t dstlen)
{
	if (v->type == NQJ_NULL)
		return 0;
	if (v->type != NQJ_STR)
		return perr(e, "key '%s': expected a string", v->key);
	if (v->len >= dstlen)
		return perr(e, "key '%s': longer than %zu bytes", v->key, dstlen - 1);
	memcpy(dst, v->str, v->len + 1);
	return 0;
}

static int meta_plan(struct perr *e, const struct nqj_val *v, struct nq_trace_meta *m)
{
	size_t len = 0;

	if (v->type == NQJ_NULL)
		return 0;
	if (v->type != NQJ_ARR)
		return perr(e, "key 'plan': expected an array of strings");
	for (uint32_t k = 1; k <= v->n; k++) {
		const struct nqj_val *p = v + k;

		if (p->type != NQJ_STR || memchr(p->str, '\n', p->len))
			return perr(e, "plan entry %u: expected a string without newlines", k);
		if (len + p->len + 1 >= sizeof(m->plan))
			return perr(e, "plan longer than %zu bytes", sizeof(m->plan) - 1);
		memcpy(m->plan + len, p->str, p->len);
		len += p->len;
		m->plan[len++] = '\n';
	}
	m->plan[len] = '\0';
	return 0;
}

static int parse_header(struct perr *e, const struct nqj_doc *d, struct nq_trace_meta *m)
{
	memset(m, 0, sizeof(*m));
	for (uint32_t k = 1; k < d->n; k += 1 + d->v[k].n) {
		const struct nqj_val *v = &d->v[k];
		const char *key = v->key;
		uint64_t x;
		int rc;

		if (!strcmp(key, "nestirq_trace")) {
			rc = get_ranged(e, v, key, 0, UINT64_MAX, &x);
			if (!rc && x != NQ_TRACE_VERSION)
				rc = perr(e,
					  "unsupported nestirq_trace version %" PRIu64
					  " (this nestirq reads %d)",
					  x, NQ_TRACE_VERSION);
		} else if (!strcmp(key, "kernel")) {
			rc = meta_str(e, v, m->kernel, sizeof(m->kernel));
		} else if (!strcmp(key, "host")) {
			rc = meta_str(e, v, m->host, sizeof(m->host));
		} else if (!strcmp(key, "flow")) {
			rc = meta_str(e, v, m->flow, sizeof(m->flow));
		} else if (!strcmp(key, "isa")) {
			rc = meta_str(e, v, m->isa, sizeof(m->isa));
		} else if (!strcmp(key, "created_ns")) {
			rc = v->type == NQJ_NULL ? 0 : get_ranged(e, v, key, 0, UINT64_MAX, &x);
			if (!rc && v->type != NQJ_NULL)
				m->created_ns = x;
		} else if (!strcmp(key, "plan")) {
			rc = meta_plan(e, v, m);
		} else {
			rc = perr(e, "unknown key '%.40s' in the header line", key);
		}
		if (rc)
			return -1;
	}
	return 0;
}

/* ---- the reader ---- */

struct nq_jsonl_state {
	uint64_t line; /* number of the line last taken */
	bool pending;  /* open() parsed the first event already */
	struct nq_event pend;
	struct nqj_doc doc;
};

/* The next line without its "\n" or "\r\n".  1: a line; 0: EOF; -1: error (reported). */
static int next_line(struct nq_trace_reader *r, const char **line, size_t *len)
{
	struct nq_src *s = &r->src;
	size_t scanned = 0;

	for (;;) {
		size_t avail = nq_src_avail(s), l;
		const uint8_t *p = nq_src_ptr(s);
		const uint8_t *nl =
			avail > scanned ? memchr(p + scanned, '\n', avail - scanned) : NULL;

		if (nl || (s->eof && avail && avail <= NQ_LINE_MAX)) {
			/* The last line may lack its newline. */
			l = nl ? (size_t)(nl - p) : avail;
			s->pos += nl ? l + 1 : l;
			if (l && p[l - 1] == '\r')
				l--;
			*line = (const char *)p;
			*len = l;
			r->jl->line++;
			if (l > NQ_LINE_MAX)
				break;
			return 1;
		}
		if (avail > NQ_LINE_MAX)
			break;
		if (s->io_errno) {
			nq_reader_fail(r, "line %" PRIu64 ": read error: %s", r->jl->line + 1,
				       strerror(s->io_errno));
			return -1;
		}
		if (s->eof)
			return 0;
		scanned = avail;
		nq_src_ensure(s, avail + 1);
	}
	nq_reader_fail(r, "line %" PRIu64 ": longer than %u bytes", r->jl->line + 1, NQ_LINE_MAX);
	return -1;
}

/* Skips blank lines and '#' comments: scenario files are written by hand. */
static int next_content_line(struct nq_trace_reader *r, const char **line, size_t *len)
{
	int rc;

	while ((rc = next_line(r, line, len)) > 0) {
		size_t i = 0;

		while (i < *len && ((*line)[i] == ' ' || (*line)[i] == '\t'))
			i++;
		if (i < *len && (*line)[i] != '#')
			return 1;
	}
	return rc;
}

/*
 * Parses the line just taken.  1: event in ev; 0: header, in r->meta;
 * -1: error; -2: error in a header line.  Errors are reported.
 */
static int parse_line(struct nq_trace_reader *r, const char *line, size_t len, bool first,
		      struct nq_event *ev)
{
	struct nq_jsonl_state *jl = r->jl;
	char msg[NQ_TRACE_ERR_LEN - 32];
	struct perr e = {msg, sizeof(msg)};

	if (nqj_parse(&jl->doc, line, len, msg, sizeof(msg)))
		goto fail;
	if (first && nqj_find(&jl->doc, "nestirq_trace") >= 0) {
		if (parse_header(&e, &jl->doc, &r->meta)) {
			nq_reader_fail(r, "line %" PRIu64 ": %s", jl->line, msg);
			return -2;
		}
		return 0;
	}
	if (parse_event(&e, &jl->doc, ev))
		goto fail;
	return 1;
fail:
	nq_reader_fail(r, "line %" PRIu64 ": %s", jl->line, msg);
	return -1;
}

int nq_jsonl_open(struct nq_trace_reader *r)
{
	const char *line;
	size_t len;
	int rc;

	r->jl = calloc(1, sizeof(*r->jl));
	if (!r->jl) {
		nq_reader_fail(r, "line 1: out of memory");
		return -1;
	}
	rc = next_content_line(r, &line, &len);
	if (rc <= 0)
		return 0; /* an empty trace, or an error the first read reports */
	rc = parse_line(r, line, len, true, &r->jl->pend);
	if (rc == -2)
		return -1; /* a broken header: nothing after it can be trusted */
	/* A broken first line stays recorded in r->state: the first read reports it. */
	r->jl->pending = rc > 0;
	return 0;
}

enum nq_read_status nq_jsonl_read(struct nq_trace_reader *r, struct nq_event *ev)
{
	struct nq_jsonl_state *jl = r->jl;
	const char *line;
	size_t len;
	int rc;

	if (jl->pending) {
		jl->pending = false;
		*ev = jl->pend;
		return NQ_READ_EVENT;
	}
	rc = next_content_line(r, &line, &len);
	if (rc < 0)
		return NQ_READ_ERROR;
	if (rc == 0) {
		r->state = NQ_RS_EOF;
		return NQ_READ_EOF;
	}
	return parse_line(r, line, len, false, ev) > 0 ? NQ_READ_EVENT : NQ_READ_ERROR;
}

void nq_jsonl_free(struct nq_trace_reader *r)
{
	if (!r->jl)
		return;
	nqj_free(&r->jl->doc);
	free(r->jl);
	r->jl = NULL;
}
