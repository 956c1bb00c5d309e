// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The byte source under both trace readers: a memory buffer used in place,
 * or a file descriptor read into a sliding window.  read(2) rather than
 * stdio so that a pipe (record | replay -) delivers what has arrived instead
 * of blocking until a whole stdio buffer is full.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "trace_internal.h"

void nq_src_init_mem(struct nq_src *s, const void *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->win = buf;
	s->end = buf ? len : 0;
	s->fd = -1;
	s->eof = true;
}

void nq_src_init_fd(struct nq_src *s, int fd, bool own_fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->own_fd = own_fd;
}

void nq_src_fini(struct nq_src *s)
{
	if (s->fd >= 0 && s->own_fd)
		close(s->fd);
	free(s->buf);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* Slides the unconsumed bytes to the window start and grows it to hold n. */
static bool src_make_room(struct nq_src *s, size_t n)
{
	size_t avail = s->end - s->pos;

	if (s->pos && avail)
		memmove(s->buf, s->buf + s->pos, avail);
	s->base += s->pos;
	s->pos = 0;
	s->end = avail;
	if (n > s->cap) {
		size_t cap = s->cap ? s->cap : NQ_SRC_INITIAL_CAP;
		uint8_t *nb;

		while (cap < n)
			cap *= 2;
		nb = realloc(s->buf, cap);
		if (!nb) {
			s->io_errno = ENOMEM;
			return false;
		}
		s->buf = nb;
		s->cap = cap;
	}
	s->win = s->buf;
	return true;
}

size_t nq_src_ensure(struct nq_src *s, size_t n)
{
	if (s->end - s->pos >= n || s->eof || s->io_errno)
		return s->end - s->pos;
	if (!src_make_room(s, n))
		return s->end - s->pos;
	/* Fill the whole free space: fewer, larger reads for big files. */
	while (s->end < n) {
		ssize_t got = read(s->fd, s->buf + s->end, s->cap - s->end);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			s->io_errno = errno;
			break;
		}
		if (got == 0) {
			s->eof = true;
			break;
		}
		s->end += (size_t)got;
	}
	return s->end - s->pos;
}
