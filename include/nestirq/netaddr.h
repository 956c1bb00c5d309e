/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Listen addresses for `nestirq serve`: parsing and the loopback rule. */
#ifndef NESTIRQ_NETADDR_H
#define NESTIRQ_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * Parses "ADDR:PORT", "[IPV6]:PORT" or ":PORT" (ADDR defaults to
 * 127.0.0.1).  Numeric addresses only: a daemon that resolves names at
 * start-up would listen wherever DNS says.  Returns 0, or -1 with err set.
 */
int nq_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err,
		    size_t errlen);
/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool nq_addr_is_loopback(const struct sockaddr *sa);
/* "127.0.0.1:9747" or "[::1]:9747". */
void nq_addr_format(const struct sockaddr *sa, char *buf, size_t len);

#endif /* NESTIRQ_NETADDR_H */
