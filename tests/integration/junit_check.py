#!/usr/bin/env python3
"""Read a JUnit XML file the way CI systems do and check what it says.

    junit_check.py FILE TESTS FAILURES MESSAGE_TEXT BODY_TEXT

Reads FILE with junitparser (the reader of the GitHub Actions
publish-unit-test-result action, Debian package python3-junitparser) and
with xml.etree against the Ant JUnit layout that Jenkins and GitLab read
(element order, required attributes, numbers that add up).  Checks that
there are TESTS test cases, FAILURES of them failed, one failure message
holds MESSAGE_TEXT and one failure body holds BODY_TEXT.  Prints the
readers used on its first line; exits 1 with the reason on a mismatch.
"""
import re
import sys
import xml.etree.ElementTree as ET


def fail(why):
    print(why)
    sys.exit(1)


def check_layout(path):
    root = ET.parse(path).getroot()
    if root.tag != "testsuites":
        fail("root element is <%s>, not <testsuites>" % root.tag)
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
    total = failed = 0
    for suite in root:
        if suite.tag != "testsuite":
            fail("<%s> inside <testsuites>" % suite.tag)
        for attr in ("name", "tests", "failures", "errors", "time",
                     "timestamp", "hostname", "id", "package"):
            if attr not in suite.attrib:
                fail("testsuite lacks the attribute %s" % attr)
        if not stamp.match(suite.get("timestamp")):
            fail("timestamp %r is not ISO 8601 without a zone" % suite.get("timestamp"))
        float(suite.get("time"))
        tags = [c.tag for c in suite]
        order = re.sub(r"(testcase,)+", "T,", ",".join(tags) + ",")
        if not re.fullmatch(r"(properties,)?(T,)?(system-out,)?(system-err,)?", order):
            fail("testsuite children out of the Ant order: %s" % tags)
        cases = suite.findall("testcase")
        nfail = 0
        for case in cases:
            for attr in ("name", "classname", "time"):
                if not case.get(attr):
                    fail("testcase lacks %s" % attr)
            float(case.get("time"))
            fails = case.findall("failure")
            if len(fails) > 1:
                fail("testcase %r has %d failures" % (case.get("name"), len(fails)))
            for f in fails:
                if f.get("message") is None or f.get("type") is None:
                    fail("failure without message or type")
            nfail += len(fails)
        if int(suite.get("tests")) != len(cases):
            fail("testsuite says tests=%s, has %d" % (suite.get("tests"), len(cases)))
        if int(suite.get("failures")) != nfail:
            fail("testsuite says failures=%s, has %d" % (suite.get("failures"), nfail))
        total += len(cases)
        failed += nfail
    if int(root.get("tests", total)) != total or int(root.get("failures", failed)) != failed:
        fail("testsuites totals do not add up")
    return total, failed


def main():
    path, tests, failures, message, body = sys.argv[1:6]
    try:
        import junitparser
        from junitparser import JUnitXml, Failure
    except ImportError:
        fail("python3-junitparser is not installed (tools/deps.sh installs it)")
    total, failed = check_layout(path)
    xml = JUnitXml.fromfile(path)
    cases = messages = bodies = 0
    nfail = 0
    for suite in xml:
        for case in suite:
            cases += 1
            for r in case.result:
                if isinstance(r, Failure):
                    nfail += 1
                    messages += message in (r.message or "")
                    bodies += body in (r.text or "")
    print("junitparser %s and xml.etree (Ant layout)" % getattr(junitparser, "version", "?"))
    if (cases, nfail) != (int(tests), int(failures)) or (total, failed) != (cases, nfail):
        fail("junitparser read %d cases, %d failed; the layout check %d, %d; want %s, %s"
             % (cases, nfail, total, failed, tests, failures))
    if not messages:
        fail("no failure message holds %r" % message)
    if not bodies:
        fail("no failure body holds %r" % body)


main()
