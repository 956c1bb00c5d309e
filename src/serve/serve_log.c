// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The daemon's log.  On stderr, lines carry sd-daemon "<N>" priority
 * prefixes when stderr is the journal (JOURNAL_STREAM names it), so
 * journald keeps the levels.  A --log file gets JSON lines, one object per
 * record with a UTC timestamp and a level, so that a log shipper (Vector,
 * Fluent Bit, Promtail) routes violations without parsing text; it is
 * reopened on SIGHUP for logrotate.  Called from both threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/json_writer.h"
#include "serve.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file; /* NULL: stderr */
static char *log_path;
static bool journal;

static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st))
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int nq_log_open(const char *path, char *err, size_t errlen)
{
	journal = stderr_is_journal();
	if (!path || !strcmp(path, "-"))
		return 0;
	log_path = strdup(path);
	log_file = log_path ? fopen(path, "ae") : NULL;
	if (!log_file) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(log_path);
		log_path = NULL;
		return -1;
	}
	setvbuf(log_file, NULL, _IOLBF, 0);
	return 0;
}

int nq_log_reopen(void)
{
	FILE *f;
	int rc = 0;

	if (!log_path)
		return 0;
	f = fopen(log_path, "ae");
	pthread_mutex_lock(&log_lock);
	if (f) {
		fclose(log_file);
		log_file = f;
		setvbuf(log_file, NULL, _IOLBF, 0);
	} else {
		rc = -1; /* keep writing to the old file rather than lose lines */
	}
	pthread_mutex_unlock(&log_lock);
	return rc;
}

void nq_log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	free(log_path);
	log_path = NULL;
	pthread_mutex_unlock(&log_lock);
}

static const char *level(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_DEBUG:
		return "debug";
	default:
		return "info";
	}
}

/* Opens a JSON line: {"time":"...Z","level":"..." -- the caller closes it. */
static void json_head(struct nq_json *w, FILE *f, int prio, bool with_time)
{
	char ts[32], t[48];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t, sizeof(t), "%.20s.%06dZ", ts, (int)(now.tv_nsec / 1000 % 1000000));
	nq_json_init(w, f);
	nq_json_begin_object(w);
	if (with_time)
		nq_json_kstr(w, "time", t);
	nq_json_kstr(w, "level", level(prio));
}

bool nq_log_has_file(void)
{
	bool r;

	pthread_mutex_lock(&log_lock);
	r = log_file != NULL;
	pthread_mutex_unlock(&log_lock);
	return r;
}

bool nq_log_json(int prio, const char *obj, bool has_time)
{
	bool done = false;

	if (!obj || obj[0] != '{')
		return false;
	pthread_mutex_lock(&log_lock);
	if (log_file) {
		struct nq_json w;

		/* obj is a finished record (vrecord.c): its members follow time and level. */
		json_head(&w, log_file, prio, !has_time);
		fprintf(log_file, "%s%s\n", obj[1] == '}' ? "" : ",", obj + 1);
		done = true;
	}
	pthread_mutex_unlock(&log_lock);
	return done;
}

void nq_vlog(int prio, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	pthread_mutex_lock(&log_lock);
	if (log_file) {
		struct nq_json w;

		json_head(&w, log_file, prio, true);
		nq_json_kstr(&w, "message", msg);
		nq_json_end_object(&w);
		fputc('\n', log_file);
	} else if (journal) {
		fprintf(stderr, "<%d>%s\n", prio, msg);
	} else {
		fprintf(stderr, "nestirq serve: %s%s%s\n", prio <= LOG_WARNING ? level(prio) : "",
			prio <= LOG_WARNING ? ": " : "", msg);
	}
	pthread_mutex_unlock(&log_lock);
}

void nq_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nq_vlog(prio, fmt, ap);
	va_end(ap);
}
