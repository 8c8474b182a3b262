/*
 * JUnit XML for CI systems: test suites of test cases, a failure with a
 * one-line message and a text body.  Writes exactly what it is given,
 * escaped so that any bytes give well-formed XML 1.0; never exits.
 */
#ifndef LT_ANALYZER_JUNIT_H
#define LT_ANALYZER_JUNIT_H

#include <stdbool.h>
#include <stddef.h>

#include "fmt.h"

struct lt_junit_case {
	char *name;
	char *classname;
	bool failed;
	char *message;      /* failed: one line, the failure's message */
	char *body;         /* failure text, or system-out when passed; may be NULL */
};

struct lt_junit_suite {
	char *name;
	struct lt_junit_case *cases;
	size_t ncases;
};

/*
 * Write the suites to path as one <testsuites> document (to a temporary
 * file, then renamed over path).  Returns 0, or -1 with err naming the
 * file and the reason.
 */
int lt_junit_write(const char *path, const struct lt_junit_suite *suites,
		   size_t nsuites, struct lt_err *err);

/* Append a case to s, taking ownership of the strings (which must be
 * malloc'd or NULL).  Returns 0, or -1 when out of memory (the strings are
 * then freed). */
int lt_junit_add(struct lt_junit_suite *s, char *name, char *classname,
		 bool failed, char *message, char *body);

/* Free the cases and name of a suite (not the suite itself). */
void lt_junit_suite_clear(struct lt_junit_suite *s);

#endif /* LT_ANALYZER_JUNIT_H */
