/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * serve --web.config.file: TLS and basic auth in the format of the
 * Prometheus exporter-toolkit (node_exporter's --web.config.file), so the
 * same file and the same Prometheus scrape config work for both:
 *
 *   tls_server_config:
 *     cert_file: server.crt        # PEM; relative to the config file
 *     key_file: server.key
 *     min_version: TLS12           # optional: TLS12 (default) or TLS13
 *   basic_auth_users:
 *     prometheus: $2y$10$...       # bcrypt hashes only
 *
 * Anything else is rejected with one line naming the key, rather than
 * silently ignored: a security setting that does not apply must not pass.
 */
#ifndef NESTIRQ_SERVE_WEBCONFIG_H
#define NESTIRQ_SERVE_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define NQ_WEB_MAX_USERS 64

struct nq_web_user {
	char *name;
	char *hash; /* bcrypt: $2a$, $2b$ or $2y$ */
};

struct nq_webconfig {
	bool tls;
	char *cert_pem, *key_pem; /* file contents */
	const char *priorities;	  /* GnuTLS priority string for min_version */
	unsigned int nusers;
	struct nq_web_user user[NQ_WEB_MAX_USERS];
};

/* 0, or -1 with a one-line reason in err ("line 3: unknown key 'foo' ..."). */
int nq_webconfig_load(const char *path, struct nq_webconfig *wc, char *err, size_t errlen);
void nq_webconfig_free(struct nq_webconfig *wc);

/*
 * Checks user:password against basic_auth_users.  Successful credentials
 * are remembered (as a SHA-256 digest), so a scraper's repeated requests
 * cost no bcrypt; others are bcrypt-checked at most NQ_WEB_BCRYPT_PER_S
 * times a second.  Returns 1 ok, 0 wrong, -1 too many attempts right now.
 */
#define NQ_WEB_BCRYPT_PER_S 10
int nq_webconfig_auth(struct nq_webconfig *wc, const char *user, const char *password);

#endif /* NESTIRQ_SERVE_WEBCONFIG_H */
