/*
 * The shim's only way to speak: one line on stderr through write(2).
 * Never stdio, never malloc; safe in a signal handler.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

void lt_log(const char *a, const char *b, const char *c)
{
	char line[1024];
	size_t n = 0;
	const char *parts[4] = { "libtrace: ", a, b, c };

	for (int i = 0; i < 4; i++) {
		const char *s = parts[i];

		while (s && *s && n < sizeof(line) - 1)
			line[n++] = *s++;
	}
	line[n++] = '\n';

	int saved = errno;
	for (size_t off = 0; off < n;) {
		ssize_t w = write(STDERR_FILENO, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved;
}

char *lt_fmt_u64(char *end, uint64_t v)
{
	*--end = '\0';
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void lt_assert_fail(const char *what, const char *file, int line)
{
	char num[24];

	lt_log("internal error: assertion failed: ", what, "");
	lt_log(file, ":", lt_fmt_u64(num + sizeof(num), (uint64_t)line));
	abort();
}
