/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The release of nestirq: `nestirq --version`, the serve metrics' build info. */
#ifndef NESTIRQ_VERSION_H
#define NESTIRQ_VERSION_H

#ifndef NESTIRQ_VERSION /* a packager may pass -DNESTIRQ_VERSION=... */
#define NESTIRQ_VERSION "0.1.0"
#endif

#endif /* NESTIRQ_VERSION_H */
