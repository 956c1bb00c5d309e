// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The exporter-toolkit web config (see webconfig.h): YAML through libyaml,
 * certificates checked with GnuTLS (which libmicrohttpd uses for TLS),
 * bcrypt through libxcrypt's crypt_rn.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <crypt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <yaml.h>

#include "serve/webconfig.h"

#define MAX_FILE   (1 << 20)
#define AUTH_CACHE 16

struct ctx {
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	char dir[PATH_MAX]; /* of the config file: relative paths start there */
};

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		snprintf(c->err, c->errlen, "line %zu: %s", n->start_mark.line + 1, msg);
	else
		snprintf(c->err, c->errlen, "%s", msg);
	return -1;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = f ? malloc(MAX_FILE + 1) : NULL;
	size_t n = 0;

	if (!f || !buf) {
		snprintf(err, errlen, "%s: %s", path, f ? "out of memory" : strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	n = fread(buf, 1, MAX_FILE + 1, f);
	fclose(f);
	if (n > MAX_FILE) {
		snprintf(err, errlen, "%s: larger than 1 MiB", path);
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/* A PEM file named in the config, relative to the config's directory. */
static char *pem(struct ctx *c, const yaml_node_t *n, const char *key)
{
	const char *v = scalar(n);
	char path[PATH_MAX * 2], why[PATH_MAX + 64];
	size_t len;
	char *buf;

	if (!v || !*v) {
		fail(c, n, "tls_server_config.%s: expected a file name", key);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s%s", v[0] == '/' ? "" : c->dir, v);
	buf = read_file(path, &len, why, sizeof(why));
	if (!buf)
		fail(c, n, "tls_server_config.%s: %s", key, why);
	return buf;
}

/* The pair must load as GnuTLS (and so libmicrohttpd) will load it. */
static int check_pair(struct ctx *c, const yaml_node_t *n, struct nq_webconfig *wc)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t cert = {(unsigned char *)wc->cert_pem, (unsigned int)strlen(wc->cert_pem)};
	gnutls_datum_t key = {(unsigned char *)wc->key_pem, (unsigned int)strlen(wc->key_pem)};
	int rc;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return fail(c, n, "out of memory");
	rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (rc < 0)
		return fail(c, n, "tls_server_config: cert_file and key_file do not load: %s",
			    gnutls_strerror(rc));
	return 0;
}

static int tls_section(struct ctx *c, const yaml_node_t *m, struct nq_webconfig *wc)
{
	const yaml_node_t *cert = NULL, *key = NULL;

	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "tls_server_config: expected a mapping");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		const yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		const char *k = scalar(kn), *v = scalar(vn);

		if (!k)
			return fail(c, kn, "tls_server_config: expected a key");
		if (!strcmp(k, "cert_file")) {
			cert = vn;
		} else if (!strcmp(k, "key_file")) {
			key = vn;
		} else if (!strcmp(k, "min_version")) {
			if (v && !strcmp(v, "TLS13"))
				wc->priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
			else if (!v || strcmp(v, "TLS12"))
				return fail(c, vn,
					    "tls_server_config.min_version: '%s' is not "
					    "supported (TLS12 or TLS13)",
					    v ? v : "?");
		} else if (!strcmp(k, "client_auth_type")) {
			if (!v || (*v && strcmp(v, "NoClientCert")))
				return fail(c, vn,
					    "tls_server_config.client_auth_type: only "
					    "NoClientCert is supported");
		} else {
			return fail(c, kn, "tls_server_config.%s is not supported by nestirq", k);
		}
	}
	if (!cert || !key)
		return fail(c, m, "tls_server_config: needs both cert_file and key_file");
	wc->cert_pem = pem(c, cert, "cert_file");
	wc->key_pem = wc->cert_pem ? pem(c, key, "key_file") : NULL;
	if (!wc->key_pem)
		return -1;
	wc->tls = true;
	return check_pair(c, m, wc);
}

static bool is_bcrypt(const char *h)
{
	/* $2?$NN$ + 53 characters of salt and hash */
	return strlen(h) == 60 && h[0] == '$' && h[1] == '2' && strchr("aby", h[2]) &&
	       h[3] == '$' && h[6] == '$';
}

static int users_section(struct ctx *c, const yaml_node_t *m, struct nq_webconfig *wc)
{
	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "basic_auth_users: expected a mapping of user: bcrypt hash");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		const yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		const char *u = scalar(kn), *h = scalar(vn);
		struct nq_web_user *w;

		if (!u || !*u || strchr(u, ':'))
			return fail(c, kn,
				    "basic_auth_users: a user name must be non-empty, "
				    "without ':'");
		if (!h || !is_bcrypt(h))
			return fail(c, vn,
				    "basic_auth_users.%s: not a bcrypt hash ($2y$..., 60 "
				    "characters)",
				    u);
		if (wc->nusers >= NQ_WEB_MAX_USERS)
			return fail(c, kn, "basic_auth_users: more than %d users",
				    NQ_WEB_MAX_USERS);
		w = &wc->user[wc->nusers];
		w->name = strdup(u);
		w->hash = strdup(h);
		wc->nusers++; /* freed with the config even if the copy failed */
		if (!w->name || !w->hash)
			return fail(c, NULL, "out of memory");
	}
	return 0;
}

static int http_section(struct ctx *c, const yaml_node_t *m)
{
	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "http_server_config: expected a mapping");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		const char *k = scalar(kn);

		/* http2 only enables HTTP/2 where the client offers it: HTTP/1.1 here. */
		if (!k || strcmp(k, "http2"))
			return fail(c, kn, "http_server_config.%s is not supported by nestirq",
				    k ? k : "?");
	}
	return 0;
}

static int walk(struct ctx *c, struct nq_webconfig *wc)
{
	const yaml_node_t *root = yaml_document_get_root_node(c->doc);

	if (!root)
		return 0; /* an empty file: plain HTTP, no auth, as exporter-toolkit */
	if (root->type != YAML_MAPPING_NODE)
		return fail(c, root, "expected a mapping (tls_server_config, basic_auth_users)");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		const yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		const char *k = scalar(kn);
		int rc;

		if (!k)
			return fail(c, kn, "expected a key");
		if (vn->type == YAML_SCALAR_NODE && !*scalar(vn))
			continue; /* "key:" with nothing: as if absent */
		if (!strcmp(k, "tls_server_config"))
			rc = tls_section(c, vn, wc);
		else if (!strcmp(k, "basic_auth_users"))
			rc = users_section(c, vn, wc);
		else if (!strcmp(k, "http_server_config"))
			rc = http_section(c, vn);
		else
			rc = fail(c, kn,
				  "unknown key '%s' (tls_server_config, basic_auth_users, "
				  "http_server_config)",
				  k);
		if (rc)
			return rc;
	}
	return 0;
}

int nq_webconfig_load(const char *path, struct nq_webconfig *wc, char *err, size_t errlen)
{
	struct ctx c = {.err = err, .errlen = errlen};
	yaml_parser_t parser;
	yaml_document_t doc;
	const char *slash = strrchr(path, '/');
	size_t len;
	char *text = read_file(path, &len, err, errlen);
	int rc;

	memset(wc, 0, sizeof(*wc));
	wc->priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
	if (!text)
		return -1;
	if (slash)
		snprintf(c.dir, sizeof(c.dir), "%.*s/", (int)(slash - path), path);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "line %zu: %s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		free(text);
		return -1;
	}
	c.doc = &doc;
	rc = walk(&c, wc);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
	if (rc)
		nq_webconfig_free(wc);
	return rc;
}

void nq_webconfig_free(struct nq_webconfig *wc)
{
	free(wc->cert_pem);
	if (wc->key_pem)
		explicit_bzero(wc->key_pem, strlen(wc->key_pem));
	free(wc->key_pem);
	for (unsigned int i = 0; i < wc->nusers; i++) {
		free(wc->user[i].name);
		free(wc->user[i].hash);
	}
	memset(wc, 0, sizeof(*wc));
}

/* ---- basic auth ---- */

static pthread_mutex_t auth_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char cache[AUTH_CACHE][32]; /* SHA-256 of accepted "user\0password" */
static unsigned int ncache, next_slot;
static struct {
	time_t second;
	unsigned int used;
} budget;

static bool same(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return !d;
}

static int digest(const char *user, const char *password, unsigned char out[32])
{
	size_t ul = strlen(user), pl = strlen(password);
	char *buf = malloc(ul + pl + 1);
	int rc;

	if (!buf)
		return -1;
	memcpy(buf, user, ul + 1);
	memcpy(buf + ul + 1, password, pl);
	rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, ul + 1 + pl, out);
	explicit_bzero(buf, ul + pl + 1);
	free(buf);
	return rc < 0 ? -1 : 0;
}

static bool bcrypt_ok(const char *hash, const char *password)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	bool ok;

	if (!cd)
		return false;
	out = crypt_rn(password, hash, cd, sizeof(*cd));
	ok = out && strlen(out) == strlen(hash) &&
	     same((const unsigned char *)out, (const unsigned char *)hash, strlen(hash));
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

int nq_webconfig_auth(struct nq_webconfig *wc, const char *user, const char *password)
{
	const struct nq_web_user *u = NULL;
	unsigned char d[32];
	time_t now = time(NULL);
	bool ok;

	if (!user || !password || digest(user, password, d))
		return 0;
	pthread_mutex_lock(&auth_lock);
	for (unsigned int i = 0; i < ncache; i++)
		if (same(cache[i], d, sizeof(d))) {
			pthread_mutex_unlock(&auth_lock);
			return 1;
		}
	if (budget.second != now) {
		budget.second = now;
		budget.used = 0;
	}
	if (budget.used >= NQ_WEB_BCRYPT_PER_S) {
		pthread_mutex_unlock(&auth_lock);
		return -1;
	}
	budget.used++;
	pthread_mutex_unlock(&auth_lock);

	for (unsigned int i = 0; i < wc->nusers; i++)
		if (!strcmp(wc->user[i].name, user))
			u = &wc->user[i];
	/* An unknown user costs a bcrypt too (of a real hash of a throwaway
	 * password), so timing does not tell which users exist. */
	ok = bcrypt_ok(u ? u->hash : "$2b$10$PXrPcxBKVI.sCTwVP3ZhDu3dlqvMhTaqxCm13JYUJ15GcwWme10pm",
		       password) &&
	     u;
	if (ok) {
		pthread_mutex_lock(&auth_lock);
		memcpy(cache[next_slot], d, sizeof(d));
		next_slot = (next_slot + 1) % AUTH_CACHE;
		if (ncache < AUTH_CACHE)
			ncache++;
		pthread_mutex_unlock(&auth_lock);
	}
	explicit_bzero(d, sizeof(d));
	return ok ? 1 : 0;
}
