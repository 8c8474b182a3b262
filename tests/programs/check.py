#!/usr/bin/env python3
"""Checks the dumps of one real-program run against the reference counter.

    check.py NAME LIBTRACE DUMP_DIR RC_PREFIX [--expect-exes a,b,c] [--min-threads N]

The program ran with LD_PRELOAD="libtrace.so refcount.so": libtrace's
wrappers forward to tests/integration/refcount.c's, which count the very
same calls independently and write RC_PREFIX.PID at exit.  Every dump must
read with exit 0, be complete (a trailer, no damage warning), and for each
process that wrote both, the totals must agree exactly, allowing only for the
one 24-byte block libtrace itself allocates per pthread_create (its start
arguments, freed when the thread starts), which refcount sees and libtrace
does not count.

Prints "ok - ..." / "not ok - ..." lines and "# ..." notes; exit 1 on any
failure.
"""
import glob
import json
import os
import subprocess
import sys

START_ARGS = 24          # sizeof(struct start_args) in interposer/hooks.c
EXACT = ("allocations", "reallocs", "leaked_blocks", "leaked_bytes")


def main():
    name, lt, dump_dir, rc_prefix = sys.argv[1:5]
    expect_exes, min_threads = None, 0
    args = sys.argv[5:]
    while args:
        if args[0] == "--expect-exes":
            expect_exes = args[1].split(",")
        elif args[0] == "--min-threads":
            min_threads = int(args[1])
        args = args[2:]

    failed = 0

    def ok(msg):
        print("ok - %s: %s" % (name, msg))

    def not_ok(msg):
        nonlocal failed
        failed += 1
        print("not ok - %s: %s" % (name, msg))

    dumps = sorted(f for f in glob.glob(os.path.join(dump_dir, "*"))
                   if os.path.isfile(f) and not f.endswith((".json", ".err")))
    if not dumps:
        not_ok("no dump in %s" % dump_dir)
        return 1
    reports = {}
    for f in dumps:
        p = subprocess.run([lt, "report", "--json", "--top", "3", f],
                           capture_output=True, text=True)
        if p.returncode != 0:
            not_ok("report --json %s: exit %d: %s" % (os.path.basename(f), p.returncode,
                                                      p.stderr.strip()[:200]))
            continue
        r = json.loads(p.stdout)
        reports[f] = r
        damaged = [w for w in r.get("warnings", []) if "damaged" in w or "missing" in w]
        if r["truncated"] or damaged:
            not_ok("%s is not complete: truncated=%s %s" % (os.path.basename(f),
                                                           r["truncated"], damaged))
    if len(reports) == len(dumps) and not failed:
        ok("%d dump(s), every one complete and readable" % len(dumps))

    exes = sorted(os.path.basename(r["dump"]["exe"]) for r in reports.values())
    print("# %s: dumps of %s" % (name, ", ".join(exes)))
    if expect_exes:
        missing = [e for e in expect_exes if not any(e in x for x in exes)]
        if missing:
            not_ok("no dump of %s among %s" % (", ".join(missing), ", ".join(exes)))
        else:
            ok("one dump each of %s" % ", ".join(expect_exes))

    # Per process, the image that ended it (an exec'd one ends with "exec").
    compared = 0
    for f, r in sorted(reports.items()):
        d = r["dump"]
        if d["end"]["reason"] == "exec":
            continue
        rc_file = "%s.%d" % (rc_prefix, d["pid"])
        if not os.path.exists(rc_file):
            print("# %s: no reference count for pid %d (%s)" % (name, d["pid"], d["exe"]))
            continue
        rc = json.load(open(rc_file))
        ref = {k: rc["own"][k] + rc["foreign"][k] for k in rc["own"]}
        t = r["totals"]
        n = t["threads_created"]
        want = dict(ref)
        want["allocations"] -= n
        want["bytes_allocated"] -= n * START_ARGS
        bad = ["%s %d vs %d" % (k, t[k], want[k]) for k in EXACT if t[k] != want[k]]
        if t["bytes_allocated"] != want["bytes_allocated"]:
            bad.append("bytes_allocated %d vs %d" % (t["bytes_allocated"], want["bytes_allocated"]))
        # Start arguments of threads that never started are still live in refcount.
        if not (0 <= ref["frees"] - t["frees"] <= n):
            bad.append("frees %d vs %d" % (t["frees"], ref["frees"]))
        label = "%s pid %d" % (os.path.basename(d["exe"]), d["pid"])
        if bad:
            not_ok("%s: report totals differ from the reference counter: %s" % (label, "; ".join(bad)))
        else:
            compared += 1
        print("# %s: %s: %s allocations, %s frees, %s reallocs, %s bytes, "
              "leaked %s bytes in %s blocks, %d threads (reference counter: %s allocations, %s frees)"
              % (name, label, f"{t['allocations']:,}", f"{t['frees']:,}", f"{t['reallocs']:,}",
                 f"{t['bytes_allocated']:,}", f"{t['leaked_bytes']:,}", f"{t['leaked_blocks']:,}",
                 n, f"{ref['allocations']:,}", f"{ref['frees']:,}"))
    if compared:
        ok("%d process(es): allocations, frees, reallocs, bytes and leaks equal the "
           "reference counter's" % compared)
    elif not failed:
        not_ok("no process to compare with the reference counter")
    if min_threads:
        t = max((r["totals"]["threads_created"] for r in reports.values()), default=0)
        j = max((r["totals"]["threads_joined"] for r in reports.values()), default=0)
        if t >= min_threads:
            ok("%d threads created, %d joined" % (t, j))
        else:
            not_ok("expected at least %d threads, the report says %d" % (min_threads, t))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
