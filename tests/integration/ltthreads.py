#!/usr/bin/env python3
"""Checks for tests/integration/threads.sh: `libtrace threads --json` against
what the thread samples know about themselves (samples/threadtruth.h,
samples/groundtruth.h) and against ThreadSanitizer's own thread-leak reports.
Every check prints one line per mismatch and exits 1 if there was any.

  ltthreads.py sites TRUTH REPORT [LIMIT]  every site of TRUTH, exactly; no other
                                           site; fan-out flagged iff peak > LIMIT
  ltthreads.py totals GT REPORT            the threads_* totals of the ground truth
  ltthreads.py tsan TSAN_LOG REPORT        leaked sites and counts as TSan's; and
                                           the running-at-exit ones TSan lacks
  ltthreads.py snapshot TRUTH REPORT       snapshot 1 of `joined_pool wait`
  ltthreads.py get JSON KEY[.KEY...]       print one member
"""
import json
import os
import re
import sys

COUNTS = ("created", "joined", "detached", "leaked", "running_at_exit")


def load(path):
    with open(path) as f:
        return json.load(f)


def frame_fn(frames, i):
    return frames[i]["function"] if i < len(frames) else None


def find_site(report, start, created_in):
    hits = [s for s in report["sites"]
            if s["start_routine"]["function"] == start
            and frame_fn(s["created_at"], 0) == created_in]
    return hits


def threads_by_serial(report):
    return {t["thread"]: t for t in report["threads"]}


def exit_snapshot(report):
    for snap in report["live_stacks"]:
        if snap["snapshot"] == 0:
            return snap
    return None


def check_sites(truth_path, report_path, limit=None):
    truth, report = load(truth_path), load(report_path)
    bad = []
    threads = threads_by_serial(report)
    exit_snap = exit_snapshot(report)
    seen = set()
    for want in truth["sites"]:
        label = "%s from %s" % (want["start"], want["created_in"])
        hits = find_site(report, want["start"], want["created_in"])
        if len(hits) != 1:
            bad.append("%s: %d sites in the report, expected 1" % (label, len(hits)))
            continue
        got = hits[0]
        seen.add(got["site"])
        pairs = [(k, got[k], want[k]) for k in COUNTS]
        pairs += [("peak_concurrent", got["peak_concurrent"], want["peak"]),
                  ("detached_running_at_exit", got["detached_running_at_exit"],
                   want["detached_running"]),
                  ("allocations", got["allocations"], want["allocations"]),
                  ("bytes_allocated", got["bytes_allocated"], want["bytes"]),
                  ("frees", got["frees"], want["frees"])]
        for name, g, w in pairs:
            if g != w:
                bad.append("%s: %s is %s, expected %s" % (label, name, g, w))
        if limit is not None:
            flagged = want["peak"] > limit
            if got["unbounded_fanout"] != flagged:
                bad.append("%s: unbounded_fanout %s with peak %s and limit %s"
                           % (label, got["unbounded_fanout"], got["peak_concurrent"], limit))
            if got["unbounded_fanout"] and not (got["peak_seconds"] or 0) > 0:
                bad.append("%s: flagged without a time for its peak" % label)
        if want["names"] is not None:
            names = ",".join(threads[s]["name"] or "" for s in sorted(got["threads"]))
            if names != want["names"]:
                bad.append("%s: thread names %r, expected %r" % (label, names, want["names"]))
        # Its threads among the live stacks at exit, and what they wait in.
        mine = set(got["threads"])
        alive = 0
        for g in (exit_snap or {"groups": []})["groups"]:
            n = len(mine & set(g["threads"]))
            if not n:
                continue
            alive += n
            where = [frame_fn(g["frames"], 0), frame_fn(g["frames"], 1)]
            if where != [want["waits_in"], want["under"]]:
                bad.append("%s: %d thread(s) at exit in %s, expected %s <- %s"
                           % (label, n, g["summary"], want["waits_in"], want["under"]))
        if alive != want["alive_at_exit"]:
            bad.append("%s: %d thread(s) in the live stacks at exit, expected %d"
                       % (label, alive, want["alive_at_exit"]))
    for s in report["sites"]:
        if s["site"] not in seen:
            bad.append("unexpected site #%d: %s from %s (%d threads)"
                       % (s["site"], s["start_routine"]["function"],
                          frame_fn(s["created_at"], 0), s["created"]))
    if exit_snap and exit_snap["missing"]:
        bad.append("threads alive at exit without a live stack: %s" % exit_snap["missing"])
    return bad


def check_totals(gt_path, report_path):
    gt, report = load(gt_path)["totals"], load(report_path)["totals"]
    bad = []
    for k in ("threads_created", "threads_joined", "threads_detached",
              "threads_leaked", "threads_running_at_exit", "peak_threads"):
        if k in gt and report.get(k) != gt[k]:
            bad.append("%s is %s, expected %s" % (k, report.get(k), gt[k]))
    return bad


LEAK_RE = re.compile(r"WARNING: ThreadSanitizer: thread leak")
FRAME_RE = re.compile(r"^\s+#(\d+) (\S+) (\S+?):(\d+)")
MORE_RE = re.compile(r"And (\d+) more similar thread leaks")


def tsan_leaks(log_path):
    """{(function, file, line): threads} of the frame that called
    pthread_create in each thread-leak report."""
    with open(log_path, errors="replace") as f:
        lines = f.read().splitlines()
    leaks = {}
    i = 0
    while i < len(lines):
        if not LEAK_RE.search(lines[i]):
            i += 1
            continue
        site, count = None, 1
        i += 1
        while i < len(lines) and not lines[i].startswith("=================="):
            m = FRAME_RE.match(lines[i])
            if m and site is None and m.group(2) != "pthread_create":
                site = (m.group(2), os.path.basename(m.group(3)), int(m.group(4)))
            m = MORE_RE.search(lines[i])
            if m:
                count += int(m.group(1))
            i += 1
        if site:
            leaks[site] = leaks.get(site, 0) + count
    return leaks


def site_where(site):
    f = site["created_at"][0] if site["created_at"] else {}
    return (f.get("function"), os.path.basename(f.get("file") or ""), f.get("line"))


def check_tsan(log_path, report_path):
    leaks, report = tsan_leaks(log_path), load(report_path)
    bad = []
    ours = {}
    running = {}
    for s in report["sites"]:
        if s["leaked"]:
            ours[site_where(s)] = ours.get(site_where(s), 0) + s["leaked"]
        if s["running_at_exit"]:
            running[site_where(s)] = s["running_at_exit"]
    if leaks != ours:
        bad.append("leaked threads by creation site: ThreadSanitizer %s, libtrace %s"
                   % (sorted(leaks.items()), sorted(ours.items())))
    for where in running:
        if where in leaks:
            bad.append("ThreadSanitizer reports the running-at-exit site %s:%s as a leak"
                       % (where[1], where[2]))
    print("# ThreadSanitizer thread leaks %s; libtrace also: running at exit %s"
          % (sorted(leaks.items()), sorted(running.items())))
    return bad


def check_snapshot(truth_path, report_path):
    truth, report = load(truth_path), load(report_path)
    bad = []
    threads = threads_by_serial(report)
    snaps = {s["snapshot"]: s for s in report["live_stacks"]}
    snap = snaps.get(1)
    if not snap:
        return ["no snapshot 1 in the report (snapshots: %s)" % sorted(snaps)]
    if not snap["complete"]:
        bad.append("snapshot 1 is incomplete")
    where = {}
    for g in snap["groups"]:
        for t in g["threads"]:
            where[t] = g
    main = [t for t in threads.values() if t["main"]][0]["thread"]
    expect = {main: ("ok", "read", "wait_for_go")}
    for want in truth["sites"]:
        for s in find_site(report, want["start"], want["created_in"]):
            for t in s["threads"]:
                if want["start"] == "quiet_main":
                    expect[t] = ("unavailable", None, None)
                else:
                    expect[t] = ("ok", "pthread_cond_wait", "queue_pop")
    if len(expect) != 1 + sum(w["created"] for w in truth["sites"]):
        bad.append("the report's sites do not hold the sample's %d threads"
                   % sum(w["created"] for w in truth["sites"]))
    if set(where) != set(expect):
        bad.append("snapshot 1 shows threads %s, expected every thread %s"
                   % (sorted(where), sorted(expect)))
    if snap["missing"]:
        bad.append("threads alive at snapshot 1 without a stack: %s" % snap["missing"])
    for t, (status, top, under) in sorted(expect.items()):
        g = where.get(t)
        if not g:
            continue
        got = (g["status"], frame_fn(g["frames"], 0), frame_fn(g["frames"], 1))
        if got != (status, top, under):
            bad.append("thread #%d at snapshot 1: %s %r, expected %s %s <- %s"
                       % (t, g["status"], g["summary"], status, top, under))
    exit_snap = snaps.get(0)
    if not exit_snap:
        bad.append("no live stacks at exit")
    elif (snap["seconds"] or 0) >= (exit_snap["seconds"] or 0):
        bad.append("snapshot 1 at %ss is not before the exit at %ss"
                   % (snap["seconds"], exit_snap["seconds"]))
    elif [t for g in exit_snap["groups"] for t in g["threads"]] != [main]:
        bad.append("at exit, expected only main alive: %s" % exit_snap["groups"])
    return bad


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "get":
        v = load(argv[2])
        for k in argv[3].split("."):
            v = v[int(k)] if isinstance(v, list) else v[k]
        print(json.dumps(v) if isinstance(v, (dict, list)) else v)
        return 0
    if cmd == "sites":
        bad = check_sites(argv[2], argv[3], int(argv[4]) if len(argv) > 4 else None)
    elif cmd == "totals":
        bad = check_totals(argv[2], argv[3])
    elif cmd == "tsan":
        bad = check_tsan(argv[2], argv[3])
    elif cmd == "snapshot":
        bad = check_snapshot(argv[2], argv[3])
    else:
        sys.exit(__doc__)
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
