// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The JSON form of one struct nq_event: the schema, its formatter and its
 * parser.  One table per kind drives both, so the keys one writes are
 * exactly the keys the other accepts, and format -> parse gives back the
 * identical struct nq_event.  The trace reader, the reports and `convert`
 * all go through here.
 */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "common/json_writer.h"
#include "nestirq/abi_names.h"
#include "event_json.h"

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

enum { E_ISA, E_VMCS, E_API, E_OUTCOME, E_ORIGIN, E_SOURCE, E_IRR, E_KIND };

/*
 * Defaults for keys that are omitted or null, and when the formatter omits
 * a key: D_OMIT at its default (NQ_VCPU_UNKNOWN, enum 0); D_OMIT0 is left
 * out when zero, as the trailer of event ABI 1 records always is.  D_FF
 * marks a tri-state byte (NQ_BOOL_UNKNOWN when absent).
 */
enum { D_ZERO, D_FFFF, D_VCPU, D_OMIT, D_OMIT0, D_FF };

struct field {
	const char *key;
	uint8_t fk;
	uint8_t off; /* offset in struct nq_event */
	uint8_t arg; /* FK_ENUM: E_*; FK_FLAG: the bit */
	uint8_t dflt;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The name tables of nestirq/abi_names.h, by E_*. */
static const struct nq_names *const enums[] = {
	[E_ISA] = &nq_isa_names,	   [E_VMCS] = &nq_vmcs_names,
	[E_API] = &nq_ack_api_names,	   [E_OUTCOME] = &nq_svi_outcome_names,
	[E_ORIGIN] = &nq_svi_origin_names, [E_SOURCE] = &nq_lost_source_names,
	[E_IRR] = &nq_ack_irr_names,	   [E_KIND] = &nq_kind_names,
};

#define OFF(m) ((uint8_t)offsetof(struct nq_event, m))

static const struct field f_common[] = {
	{"ts", FK_U64, OFF(h.ts_ns), 0, D_ZERO},
	{"cpu", FK_U16, OFF(h.cpu), 0, D_ZERO},
	{"vm", FK_U32, OFF(h.tgid), 0, D_ZERO},
	{"tid", FK_U32, OFF(h.tid), 0, D_ZERO},
	{"vcpu", FK_U32, OFF(h.vcpu_id), 0, D_OMIT}, /* omitted: NQ_VCPU_UNKNOWN */
	{"isa", FK_ENUM, OFF(h.isa), E_ISA, D_OMIT}, /* omitted: NQ_ISA_UNKNOWN */
	/* The ABI 2 trailer: the VM's id and the CPU's drop sequence (0 in ABI 1). */
	{"vm_id", FK_U32, OFF(vm_id), 0, D_OMIT0},
	{"drop_seq", FK_U32, OFF(drop_seq), 0, D_OMIT0},
};

static const struct field f_accept[] = {
	{"vector", FK_U8, OFF(accept.vector), 0, D_ZERO},
	{"apicid", FK_U32, OFF(accept.apicid), 0, D_VCPU},
	{"dm", FK_U16, OFF(accept.delivery_mode), 0, D_ZERO},
	{"tm", FK_U16, OFF(accept.trigger_mode), 0, D_ZERO},
	{"exact", FK_FLAG, OFF(accept.flags), NQ_ACCEPT_F_EXACT, D_ZERO},
	/* Evidence only: rebuilt by the engine from an ABI 3 record's accept_ts. */
	{"kernel_context", FK_FLAG, OFF(accept.flags), NQ_ACCEPT_F_KERNEL_CONTEXT, D_OMIT0},
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
	{"accept_ts", FK_U64, OFF(peek.accept_ts), 0, D_OMIT0}, /* ABI 3 */
};

static const struct field f_ack[] = {
	{"vector", FK_S32, OFF(ack.vector), 0, D_ZERO},
	{"vmcs", FK_ENUM, OFF(ack.vmcs), E_VMCS, D_ZERO},
	{"api", FK_ENUM, OFF(ack.api), E_API, D_ZERO},
	{"guest_mode", FK_B8, OFF(ack.guest_mode), 0, D_ZERO},
	{"irr", FK_ENUM, OFF(ack.irr), E_IRR, D_OMIT},	       /* ABI 3 */
	{"accept_ts", FK_U64, OFF(ack.accept_ts), 0, D_OMIT0}, /* ABI 3 */
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
	{"source", FK_ENUM, OFF(lost.source), E_SOURCE, D_ZERO},
};

static const struct field f_extint[] = {
	{"vector", FK_S32, OFF(extint.vector), 0, D_ZERO}, /* -1: no PIC interrupt */
};

static const struct field f_vm_gone[] = {
	{"tgid", FK_U32, OFF(vm_gone.tgid), 0, D_ZERO},
};

static const struct field f_count[] = {
	{"of", FK_ENUM, OFF(count.kind), E_KIND, D_ZERO},
	{"n", FK_U64, OFF(count.n), 0, D_ZERO},
	{"reason", FK_U32, OFF(count.reason), 0, D_ZERO},
};

/* Kinds with a schema but no keys of their own (markers): never read, nf is 0. */
static const struct field f_none[1];

/* The keys of each kind; its name is nq_kind_name(). */
struct kind_desc {
	const struct field *f; /* NULL: no schema, the payload goes as "raw" */
	unsigned int nf;
};

#define KIND(id, tbl) [id] = {tbl, N(tbl)}
static const struct kind_desc kinds[NQ_EV__MAX] = {
	KIND(NQ_EV_IRQ_ACCEPT, f_accept),
	KIND(NQ_EV_CHECK_ENTER, f_check_enter),
	KIND(NQ_EV_CHECK_EXIT, f_check_exit),
	KIND(NQ_EV_PEEK, f_peek),
	KIND(NQ_EV_ACK, f_ack),
	KIND(NQ_EV_HW_NESTED_VMEXIT, f_hw_exit),
	KIND(NQ_EV_VMEXIT_INJECT, f_inject),
	KIND(NQ_EV_SVI_UPDATE, f_svi),
	KIND(NQ_EV_VMCS_SWITCH, f_vmcs_switch),
	KIND(NQ_EV_NESTED_PI, f_nested_pi),
	KIND(NQ_EV_SVM_INTR_EXIT, f_svm_intr),
	KIND(NQ_EV_LOST, f_lost),
	KIND(NQ_EV_SVI_RETURN, f_svi_return),
	KIND(NQ_EV_EXTINT, f_extint),
	KIND(NQ_EV_VM_GONE, f_vm_gone),
	[NQ_EV_SYNC] = {f_none, 0},
	KIND(NQ_EV_COUNT, f_count),
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

static void field_json(struct nq_json *w, const struct nq_event *ev, const struct field *f)
{
	uint64_t v = get_raw(ev, f);

	nq_json_key(w, f->key);
	switch (f->fk) {
	case FK_S32:
		nq_json_i64(w, (int32_t)(uint32_t)v);
		break;
	case FK_X32:
	case FK_X64:
		nq_json_hex(w, v);
		break;
	case FK_ENUM:
		if (nq_name_of(enums[f->arg], (unsigned int)v))
			nq_json_str(w, nq_name_of(enums[f->arg], (unsigned int)v));
		else
			nq_json_u64(w, v);
		break;
	case FK_FLAG:
		nq_json_bool(w, v & f->arg);
		break;
	case FK_CTLS:
		nq_json_begin_object(w);
		nq_json_kbool(w, "exit_on_intr", v & NQ_CTL_EXIT_ON_INTR);
		nq_json_kbool(w, "ack_on_exit", v & NQ_CTL_ACK_ON_EXIT);
		nq_json_kbool(w, "posted_intr", v & NQ_CTL_POSTED_INTR);
		nq_json_end_object(w);
		break;
	default:
		nq_json_u64(w, v);
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
		return f->fk == FK_FLAG ? !(v & f->arg) : v == 0;
	if (f->dflt != D_OMIT)
		return false;
	return f->fk == FK_ENUM ? v == 0 : v == NQ_VCPU_UNKNOWN;
}

void nq_jsonl_write_event(struct nq_json *w, const struct nq_event *ev)
{
	const struct kind_desc *kd = ev->h.kind < NQ_EV__MAX ? &kinds[ev->h.kind] : NULL;

	nq_json_begin_object(w);
	for (unsigned int i = 0; i < N(f_common); i++)
		if (!omitted(ev, &f_common[i]))
			field_json(w, ev, &f_common[i]);
	if (kd && kd->f) {
		nq_json_kstr(w, "kind", nq_kind_name(ev->h.kind));
		for (unsigned int i = 0; i < kd->nf; i++)
			if (!omitted(ev, &kd->f[i]))
				field_json(w, ev, &kd->f[i]);
	} else {
		/* A kind this version has no table for (a newer recorder's): keep its bytes. */
		char hex[2 * sizeof(ev->raw) + 1];

		for (size_t i = 0; i < sizeof(ev->raw); i++)
			snprintf(hex + 2 * i, 3, "%02x", ev->raw[i]);
		nq_json_ku64(w, "kind", ev->h.kind);
		nq_json_kstr(w, "raw", hex);
	}
	nq_json_end_object(w);
}

int nq_jsonl_format_event(const struct nq_event *ev, char *buf, size_t len)
{
	struct nq_json w;

	nq_json_init_buf(&w, buf, len);
	nq_jsonl_write_event(&w, ev);
	return nq_json_finish(&w);
}

/* ---- parsing ---- */

static int get_enum(struct nqj_err *e, const struct nqj_val *v, const struct field *f,
		    uint64_t *out)
{
	const struct nq_names *ed = enums[f->arg];
	char list[128] = "";
	int k;

	if (v->type == NQJ_INT)
		return nqj_get_ranged(e, v, v->key, 0, 0xff, out);
	if (v->type != NQJ_STR)
		return nqj_err(e, "key '%s': expected a string", v->key);
	k = nq_name_find(ed, v->str);
	if (k >= 0) {
		*out = (uint64_t)k;
		return 0;
	}
	for (unsigned int i = 0; i < ed->n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 ed->name[i]);
	return nqj_err(e, "unknown %s '%.40s' (expected one of: %s)", ed->what, v->str, list);
}

static int get_ctls(struct nqj_err *e, const struct nqj_val *v, uint64_t *out)
{
	static const struct {
		const char *key;
		uint8_t bit;
	} bits[] = {{"exit_on_intr", NQ_CTL_EXIT_ON_INTR},
		    {"ack_on_exit", NQ_CTL_ACK_ON_EXIT},
		    {"posted_intr", NQ_CTL_POSTED_INTR}};

	if (v->type != NQJ_OBJ)
		return nqj_err(e, "key 'ctls': expected an object");
	*out = 0;
	for (uint32_t k = 1; k <= v->span; k += 1 + v[k].span) {
		const struct nqj_val *c = v + k;
		unsigned int i;

		for (i = 0; i < N(bits) && strcmp(c->key, bits[i].key); i++)
			;
		if (i == N(bits))
			return nqj_err(e, "unknown key 'ctls.%.40s'", c->key);
		if (c->type != NQJ_BOOL)
			return nqj_err(e, "key 'ctls.%s': expected true or false", c->key);
		/* Any control given means L1's controls were read. */
		*out |= NQ_CTL_KNOWN | (c->b ? bits[i].bit : 0);
	}
	return 0;
}

/* 1: set; 0: null (the default stays); -1: error. */
static int set_field(struct nqj_err *e, struct nq_event *ev, const struct field *f,
		     const struct nqj_val *v)
{
	static const uint64_t umax[] = {0, 0xff, 0xffff, 0, 0xffffffffu, 0, 0, 0, UINT64_MAX};
	uint64_t x;
	int rc;

	if (v->type == NQJ_NULL)
		return 0;
	switch (f->fk) {
	case FK_S32:
		rc = nqj_get_ranged(e, v, f->key, (uint64_t)INT32_MAX + 1, INT32_MAX, &x);
		break;
	case FK_B8:
		if (v->type == NQJ_BOOL) {
			x = v->b;
			rc = 0;
		} else {
			rc = nqj_get_ranged(e, v, f->key, 0, 0xff, &x);
		}
		break;
	case FK_ENUM:
		rc = get_enum(e, v, f, &x);
		break;
	case FK_FLAG:
		if (v->type != NQJ_BOOL)
			return nqj_err(e, "key '%s': expected true or false", f->key);
		x = get_raw(ev, f) | (v->b ? f->arg : 0);
		rc = 0;
		break;
	case FK_CTLS:
		rc = get_ctls(e, v, &x);
		break;
	default:
		rc = nqj_get_ranged(e, v, f->key, 0, umax[width(f->fk)], &x);
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

static int set_raw_payload(struct nqj_err *e, struct nq_event *ev, const struct nqj_val *v)
{
	if (v->type != NQJ_STR || v->len != 2 * sizeof(ev->raw))
		return nqj_err(e, "key 'raw': expected %zu hex digits", 2 * sizeof(ev->raw));
	for (size_t i = 0; i < sizeof(ev->raw); i++) {
		int b = hexbyte(v->str + 2 * i);

		if (b < 0)
			return nqj_err(e, "key 'raw': expected %zu hex digits",
				       2 * sizeof(ev->raw));
		ev->raw[i] = (uint8_t)b;
	}
	return 0;
}

/* Which kind the line is: a name, or a number with a raw payload for kinds this version lacks. */
static int get_kind(struct nqj_err *e, const struct nqj_doc *d, struct nq_event *ev)
{
	int k = nqj_find(d, "kind");
	const struct nqj_val *v;
	uint64_t x;

	if (k < 0)
		return nqj_err(e, "missing key 'kind'");
	v = &d->v[k];
	if (v->type == NQJ_STR) {
		for (unsigned int i = 1; i < NQ_EV__MAX; i++)
			if (kinds[i].f && !strcmp(v->str, nq_kind_name(i))) {
				ev->h.kind = (uint8_t)i;
				return 0;
			}
		return nqj_err(e, "unknown kind '%.40s'", v->str);
	}
	if (v->type != NQJ_INT)
		return nqj_err(e, "key 'kind': expected a string");
	if (nqj_get_ranged(e, v, "kind", 0, 0xff, &x))
		return -1;
	if (x && x < NQ_EV__MAX && kinds[x].f)
		return nqj_err(e, "kind %" PRIu64 " has a name: write \"kind\":\"%s\"", x,
			       nq_kind_name((unsigned int)x));
	ev->h.kind = (uint8_t)x;
	return 0;
}

int nq_event_from_json(struct nqj_err *e, const struct nqj_doc *d, struct nq_event *ev)
{
	const struct kind_desc *kd;
	unsigned int seen = 0;

	memset(ev, 0, sizeof(*ev)); /* padding and unused payload bytes are zero */
	if (get_kind(e, d, ev))
		return -1;
	kd = ev->h.kind < NQ_EV__MAX && kinds[ev->h.kind].f ? &kinds[ev->h.kind] : NULL;
	ev->h.vcpu_id = NQ_VCPU_UNKNOWN;
	for (unsigned int i = 0; kd && i < kd->nf; i++)
		if (kd->f[i].dflt == D_FFFF)
			set_raw(ev, &kd->f[i], 0xffff);
		else if (kd->f[i].dflt == D_FF)
			set_raw(ev, &kd->f[i], NQ_BOOL_UNKNOWN);

	for (uint32_t k = 1; k < d->n; k += 1 + d->v[k].span) {
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
			return nqj_err(e, "unknown key '%.40s' for kind '%s'", v->key,
				       nq_kind_name(ev->h.kind));
		} else {
			return nqj_err(e, "unknown key '%.40s' (a numbered kind takes only 'raw')",
				       v->key);
		}
	}
	for (unsigned int i = 0; kd && i < kd->nf; i++)
		if (kd->f[i].dflt == D_VCPU && !(seen & 1u << i))
			set_raw(ev, &kd->f[i], ev->h.vcpu_id);
	return 0;
}
