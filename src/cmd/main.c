// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nestirq: prove KVM's nested-VMX interrupt-ack invariants on a live host. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nestirq/abi.h"
#include "nestirq/version.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"doctor", cmd_doctor, "show which probe points attach here and what can be checked"},
	{"watch", cmd_watch, "trace the live hypervisor and stream violations"},
	{"record", cmd_record, "trace the live hypervisor into a trace file"},
	{"replay", cmd_replay, "analyse a recorded trace (binary or JSON lines)"},
	{"convert", cmd_convert, "convert a trace between JSON lines and binary"},
	{"serve", cmd_serve, "export live metrics for Prometheus (/metrics, /healthz)"},
	{"check", cmd_check, "CI gate: check invariants for a duration or a workload (TAP, JUnit)"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: nestirq <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`nestirq <command> --help` describes each command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return NQ_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return NQ_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("nestirq %s (event ABI %d)\n", NESTIRQ_VERSION, NQ_ABI_VERSION);
		return NQ_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "nestirq: unknown command '%s' (try 'nestirq --help')\n", argv[1]);
	return NQ_EXIT_USAGE;
}
