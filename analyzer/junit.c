/*
 * JUnit XML in the Ant layout that Jenkins, GitLab, GitHub Actions
 * reporters and junitparser read: <testsuites>, each <testsuite> with
 * properties, its test cases, system-out and system-err.  Every string is
 * escaped here and nowhere else; invalid UTF-8 and characters XML 1.0
 * forbids become U+FFFD.  Never exits, never writes to stderr.
 */
#include "junit.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes) that XML 1.0
 * allows, or 0 when it is invalid or forbidden. */
static size_t xml_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80) {
		if (s[0] < 0x20 && s[0] != '\t' && s[0] != '\n' && s[0] != '\r')
			return 0;
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond Unicode, U+FFFE and U+FFFF. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff || cp == 0xfffe || cp == 0xffff)
		return 0;
	return len;
}

/* s escaped for element text, or for an attribute value (attr). */
static void xml_text(FILE *out, const char *str, bool attr)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t n = strlen((const char *)s);

	for (size_t i = 0; i < n;) {
		size_t len = xml_char(s + i, n - i);
		if (len == 0) {
			fputs("\xef\xbf\xbd", out);   /* U+FFFD */
			i++;
			continue;
		}
		switch (s[i]) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs(attr ? "&quot;" : "\"", out); break;
		case '\n': fputs(attr ? "&#10;" : "\n", out); break;
		case '\r': fputs("&#13;", out); break;
		case '\t': fputs(attr ? "&#9;" : "\t", out); break;
		default: fwrite(s + i, 1, len, out); break;
		}
		i += len;
	}
}

static void attr(FILE *out, const char *name, const char *value)
{
	fprintf(out, " %s=\"", name);
	xml_text(out, value, true);
	fputc('"', out);
}

static void write_suites(FILE *out, const struct lt_junit_suite *suites,
			 size_t nsuites)
{
	size_t tests = 0, failures = 0;
	char host[256] = "localhost", stamp[32] = "1970-01-01T00:00:00";
	time_t now = time(NULL);
	struct tm tm;

	if (gethostname(host, sizeof(host)) != 0 || !host[0])
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	if (gmtime_r(&now, &tm))
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	for (size_t i = 0; i < nsuites; i++) {
		tests += suites[i].ncases;
		for (size_t k = 0; k < suites[i].ncases; k++)
			failures += suites[i].cases[k].failed;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out, "<testsuites name=\"libtrace check\" tests=\"%zu\" "
		"failures=\"%zu\" errors=\"0\" time=\"0\">\n", tests, failures);
	for (size_t i = 0; i < nsuites; i++) {
		const struct lt_junit_suite *s = &suites[i];
		size_t f = 0;

		for (size_t k = 0; k < s->ncases; k++)
			f += s->cases[k].failed;
		fputs("  <testsuite", out);
		attr(out, "name", s->name);
		fprintf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
			"skipped=\"0\" time=\"0\" id=\"%zu\" package=\"libtrace\"",
			s->ncases, f, i);
		attr(out, "timestamp", stamp);
		attr(out, "hostname", host);
		fputs(">\n    <properties/>\n", out);
		for (size_t k = 0; k < s->ncases; k++) {
			const struct lt_junit_case *c = &s->cases[k];

			fputs("    <testcase", out);
			attr(out, "name", c->name);
			attr(out, "classname", c->classname);
			fputs(" time=\"0\"", out);
			if (!c->failed && !c->body) {
				fputs("/>\n", out);
				continue;
			}
			fputs(">\n", out);
			if (c->failed) {
				fputs("      <failure", out);
				attr(out, "message", c->message);
				attr(out, "type", "libtrace.check");
				fputs(">", out);
				xml_text(out, c->body ? c->body : c->message, false);
				fputs("</failure>\n", out);
			} else {
				fputs("      <system-out>", out);
				xml_text(out, c->body, false);
				fputs("</system-out>\n", out);
			}
			fputs("    </testcase>\n", out);
		}
		fputs("    <system-out/>\n    <system-err/>\n  </testsuite>\n", out);
	}
	fputs("</testsuites>\n", out);
}

int lt_junit_write(const char *path, const struct lt_junit_suite *suites,
		   size_t nsuites, struct lt_err *err)
{
	char *tmp = NULL;
	FILE *out;
	int fd, e;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return lt_err_set(err, "out of memory");
	fd = mkstemp(tmp);
	if (fd < 0) {
		e = errno;
		free(tmp);
		return lt_err_set(err, "%s: cannot create: %s", path, strerror(e));
	}
	out = fdopen(fd, "w");
	if (!out) {
		e = errno;
		close(fd);
		goto fail;
	}
	write_suites(out, suites, nsuites);
	if (fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0) {
		e = errno ? errno : EIO;
		fclose(out);
		goto fail;
	}
	/* mkstemp made it 0600: give it the mode a plain create would. */
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fileno(out), 0666 & ~mask) != 0) {
		e = errno;
		fclose(out);
		goto fail;
	}
	if (fclose(out) != 0) {
		e = errno;
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	unlink(tmp);
	free(tmp);
	return lt_err_set(err, "%s: cannot write: %s", path, strerror(e));
}

int lt_junit_add(struct lt_junit_suite *s, char *name, char *classname,
		 bool failed, char *message, char *body)
{
	struct lt_junit_case *v;

	if (!name || !classname ||
	    !(v = realloc(s->cases, (s->ncases + 1) * sizeof(*v)))) {
		free(name);
		free(classname);
		free(message);
		free(body);
		return -1;
	}
	s->cases = v;
	s->cases[s->ncases++] = (struct lt_junit_case){
		name, classname, failed, message, body,
	};
	return 0;
}

void lt_junit_suite_clear(struct lt_junit_suite *s)
{
	for (size_t i = 0; i < s->ncases; i++) {
		free(s->cases[i].name);
		free(s->cases[i].classname);
		free(s->cases[i].message);
		free(s->cases[i].body);
	}
	free(s->cases);
	free(s->name);
	s->cases = NULL;
	s->ncases = 0;
	s->name = NULL;
}
