/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Sub-commands of the nestirq binary. Each returns the process exit code. */
#ifndef NESTIRQ_CLI_H
#define NESTIRQ_CLI_H

/* Exit codes shared by every command (documented in README.md). */
enum nq_exit {
	NQ_EXIT_OK = 0,		 /* no violation */
	NQ_EXIT_VIOLATION = 1,	 /* at least one invariant violated */
	NQ_EXIT_USAGE = 2,	 /* bad flags, unreadable input, setup error */
	NQ_EXIT_DAMAGED = 3,	 /* trace damaged: events before the damage were analysed */
	NQ_EXIT_UNSUPPORTED = 4, /* environment cannot run the checks (skip) */
};

int cmd_replay(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Parses a duration such as "10", "10s", "500ms", "2m". Returns -1 if malformed. */
long long nq_parse_duration_ms(const char *s);

#endif /* NESTIRQ_CLI_H */
