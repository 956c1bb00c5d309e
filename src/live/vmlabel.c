// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* VM labels: a hypervisor process's pid and its QEMU -name. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "live.h"

/* "-name foo", "-name guest=foo,debug-threads=on", "--name=foo" ... */
static int name_value(const char *v, char *out, size_t outlen)
{
	const char *g = NULL, *p = v;
	size_t n;

	/* key=value list: take guest=; a bare first element is the name. */
	while (p && *p) {
		const char *comma = strchr(p, ',');
		const char *eq = strchr(p, '=');

		if (eq && (!comma || eq < comma)) {
			if (!strncmp(p, "guest=", 6)) {
				g = p + 6;
				break;
			}
		} else if (p == v) {
			g = p;
			break;
		}
		p = comma ? comma + 1 : NULL;
	}
	if (!g)
		return -1;
	n = strcspn(g, ",");
	if (!n)
		return -1;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, g, n);
	out[n] = 0;
	return 0;
}

int nq_qemu_name(const char *cmdline, size_t len, char *out, size_t outlen)
{
	const char *p = cmdline, *end = cmdline + len;

	while (p < end) {
		size_t n = strnlen(p, (size_t)(end - p));
		const char *next = p + n + 1;

		if ((!strcmp(p, "-name") || !strcmp(p, "--name")) && next < end)
			return name_value(next, out, outlen);
		if (!strncmp(p, "-name=", 6))
			return name_value(p + 6, out, outlen);
		if (!strncmp(p, "--name=", 7))
			return name_value(p + 7, out, outlen);
		p = next;
	}
	return -1;
}

void nq_vm_label(uint32_t pid, char *buf, size_t len)
{
	char path[64], cmd[8192], name[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n > 0) {
			cmd[n] = 0;
			if (!nq_qemu_name(cmd, (size_t)n, name, sizeof(name))) {
				snprintf(buf, len, "pid %u (%s)", pid, name);
				return;
			}
		}
	}
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n > 0) {
			name[n] = 0;
			name[strcspn(name, "\n")] = 0;
			snprintf(buf, len, "pid %u (%s)", pid, name);
			return;
		}
	}
	snprintf(buf, len, "pid %u", pid);
}
