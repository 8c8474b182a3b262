#!/usr/bin/env python3
"""Checks for tests/exports/run.sh: each reads one export (and the report's
JSON of the same dump) and prints nothing when it holds, or one line saying
what did not, exiting 1.  The rules are the viewers' own: speedscope's file
format spec, the Trace Event Format, pprof's -top arithmetic.

  check.py speedscope EXPORT REPORT_JSON
  check.py chrome EXPORT REPORT_JSON
  check.py json EXPORT REPORT_JSON
  check.py collapsed EXPORT REPORT_JSON VALUE
  check.py pprof-top TOP_OUTPUT REPORT_JSON SAMPLE_INDEX
  check.py pprof-threads TOP_OUTPUT REPORT_JSON SAMPLE_INDEX
  check.py massif EXPORT REPORT_JSON
"""
import json
import re
import sys

SCHEMA = "https://www.speedscope.app/file-format-schema.json"
UNITS = {"none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"}


def fail(msg):
    print(msg)
    sys.exit(1)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def report_sites(rep):
    """Every allocation site of the report (report --json --top large)."""
    return rep["sites_by_calls"]


def leaf(site):
    fr = site["frames"]
    return fr[0]["function"] if fr else None


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def speedscope(path, rep):
    d = load(path)
    if d.get("$schema") != SCHEMA:
        fail("$schema is %r" % d.get("$schema"))
    frames = d.get("shared", {}).get("frames")
    if not isinstance(frames, list) or not frames:
        fail("shared.frames is not a non-empty list")
    for i, f in enumerate(frames):
        if not isinstance(f.get("name"), str):
            fail("frame %d has no string name" % i)
        for k, t in (("file", str), ("line", (int, float)), ("col", (int, float))):
            if k in f and not isinstance(f[k], t):
                fail("frame %d: %s has the wrong type" % (i, k))
        if set(f) - {"name", "file", "line", "col"}:
            fail("frame %d has unknown keys %s" % (i, set(f) - {"name", "file", "line", "col"}))
    profs = d.get("profiles")
    if not isinstance(profs, list) or not profs:
        fail("profiles is not a non-empty list")
    if not (0 <= d.get("activeProfileIndex", 0) < len(profs)):
        fail("activeProfileIndex out of range")
    byname = {}
    for p in profs:
        if p.get("type") != "sampled":
            fail("profile type %r" % p.get("type"))
        for k in ("name", "unit", "startValue", "endValue", "samples", "weights"):
            if k not in p:
                fail("profile %r lacks %s" % (p.get("name"), k))
        if p["unit"] not in UNITS:
            fail("unit %r" % p["unit"])
        if not (is_num(p["startValue"]) and is_num(p["endValue"]) and p["endValue"] >= p["startValue"]):
            fail("start/end values of %r" % p["name"])
        if len(p["samples"]) != len(p["weights"]):
            fail("%r: %d samples, %d weights" % (p["name"], len(p["samples"]), len(p["weights"])))
        for s in p["samples"]:
            if not s or any(not isinstance(i, int) or not 0 <= i < len(frames) for i in s):
                fail("%r: a sample indexes no frame: %r" % (p["name"], s))
        if any(not is_num(w) or w < 0 for w in p["weights"]):
            fail("%r: a negative or non-numeric weight" % p["name"])
        if sum(p["weights"]) > p["endValue"] - p["startValue"]:
            fail("%r: weights exceed endValue" % p["name"])
        byname[p["name"].split(": ", 1)[1]] = p
    t = rep["totals"]
    sites = report_sites(rep)
    want = {
        "allocations (calls)": sum(s["calls"] for s in sites),
        "bytes allocated": sum(s["bytes"] for s in sites),
        "bytes leaked": sum(s["leaked_bytes"] for s in sites),
    }
    if not rep["sampled"]:
        want["allocations (calls)"] = t["allocations"]
        want["bytes allocated"] = t["bytes_allocated"]
        want["bytes leaked"] = t["leaked_bytes"]
    for name, v in want.items():
        key = [k for k in byname if k.startswith(name)]
        got = sum(byname[key[0]]["weights"]) if key else 0
        if got != v:
            fail("speedscope %s: %d, the report says %d" % (name, got, v))
    if rep["sampled"] and not all("sampled, estimated" in p["name"] for p in profs):
        fail("a sampled dump's profile names do not say 'sampled, estimated'")
    # The leaf frame of the heaviest sample is the report's top site.
    calls = byname[[k for k in byname if k.startswith("allocations")][0]]
    top = max(range(len(calls["weights"])), key=lambda i: calls["weights"][i])
    name = frames[calls["samples"][top][-1]]["name"]
    if sites and leaf(sites[0]) and name != leaf(sites[0]):
        fail("speedscope's heaviest stack ends in %s, the report's top site in %s" % (name, leaf(sites[0])))


def chrome(path, rep):
    d = load(path)
    ev = d.get("traceEvents")
    if not isinstance(ev, list) or not ev:
        fail("traceEvents is not a non-empty list")
    for e in ev:
        if not isinstance(e.get("name"), str) or e.get("ph") not in ("X", "C", "M", "i"):
            fail("bad event %r" % e)
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            fail("pid/tid not integers in %r" % e)
        if e["ph"] != "M" and not (is_num(e.get("ts")) and e["ts"] >= 0):
            fail("ts missing or negative in %r" % e)
        if e["ph"] == "X" and not (is_num(e.get("dur")) and e["dur"] >= 0):
            fail("dur missing or negative in %r" % e)
        if e["ph"] == "C" and not all(is_num(v) for v in e.get("args", {}).values()):
            fail("counter args not numbers in %r" % e)
    t = rep["totals"]
    bars = [e for e in ev if e["ph"] == "X" and e.get("cat") == "thread"]
    if len(bars) != t["threads_created"] + 1:
        fail("%d thread bars, the report has %d threads and main" % (len(bars), t["threads_created"]))
    states = [b["args"]["state"] for b in bars]
    for st, key in (("leaked", "threads_leaked"), ("running at exit", "threads_running_at_exit"),
                    ("joined", "threads_joined")):
        if states.count(st) != t[key]:
            fail("%d bars %s, the report says %d" % (states.count(st), st, t[key]))
    heap = [e["args"]["bytes"] for e in ev if e["ph"] == "C" and e["name"] == "heap"]
    if not heap or max(heap) != t["peak_bytes"]:
        fail("heap counter peaks at %s, the report's peak is %d" % (max(heap) if heap else None, t["peak_bytes"]))
    alive = [e["args"]["threads"] for e in ev if e["ph"] == "C" and e["name"] == "threads alive"]
    if alive and max(alive) != t["peak_threads"]:
        fail("threads counter peaks at %d, the report says %d" % (max(alive), t["peak_threads"]))
    if t["peak_bytes"] and not any(e["ph"] == "i" and e["name"] == "heap peak" for e in ev):
        fail("no heap peak marker")
    if rep["sampled"] and d.get("otherData", {}).get("sampled") != "sampled, estimated":
        fail("a sampled dump's trace does not say 'sampled, estimated'")


def json_export(path, rep):
    d = load(path)
    if d["totals"] != rep["totals"]:
        fail("totals differ: %r vs %r" % (d["totals"], rep["totals"]))
    if d["sampled"] != rep["sampled"] or (rep["sampled"] and d["note"] != "sampled, estimated"):
        fail("sampled flag or note wrong")
    mine = sorted((s["calls"], s["bytes"], s["leaked_bytes"]) for s in d["sites"])
    theirs = sorted((s["calls"], s["bytes"], s["leaked_bytes"]) for s in report_sites(rep))
    if mine != theirs:
        fail("per-site numbers differ from the report's")
    if d["heap"]["peak_bytes"] != rep["totals"]["peak_bytes"]:
        fail("heap peak %s vs %s" % (d["heap"]["peak_bytes"], rep["totals"]["peak_bytes"]))
    held = sum(s["peak_bytes"] for s in d["sites"])
    if held != rep["totals"]["peak_bytes"] and not rep["sampled"]:
        fail("sites hold %d bytes at the peak, the peak is %d" % (held, rep["totals"]["peak_bytes"]))


def collapsed(path, rep, value):
    key = {"calls": "calls", "bytes": "bytes", "leaked": "leaked_bytes", "temporary": "temporary"}[value]
    total = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"^([^;\n]+(?:;[^;\n]+)*) (\d+)$", line.rstrip("\n"))
            if not m:
                fail("line %d is not 'frame;frame N': %r" % (n, line))
            total += int(m.group(2))
    want = sum(s[key] for s in report_sites(rep))
    if total != want:
        fail("collapsed %s adds up to %d, the report's sites to %d" % (value, total, want))


def pprof_top(path, rep, index):
    """go tool pprof -top -unit=B output: the total, and each function's
    flat value equal to what the report's sites give that leaf function."""
    key = {"alloc_objects": "calls", "alloc_space": "bytes",
           "inuse_objects": "leaked_blocks", "inuse_space": "leaked_bytes"}[index]
    text = open(path, encoding="utf-8").read()
    m = re.search(r"of (\d+)B? total", text)
    flat = {}
    for line in text.splitlines():
        r = re.match(r"^\s*(\d+)B?\s+[\d.]+%\s+[\d.]+%\s+(\d+)B?\s+[\d.]+%\s+(.+)$", line)
        if r:
            # pprof marks a function inlined at that point "(inline)".
            name = re.sub(r" \(inline\)$", "", r.group(3).strip())
            flat[name] = flat.get(name, 0) + int(r.group(1))
    want = {}
    for s in report_sites(rep):
        fn = leaf(s) or "(no stack recorded)"
        want[fn] = want.get(fn, 0) + s[key]
    want = {k: v for k, v in want.items() if v}
    total = sum(want.values())
    if total == 0:
        if m and int(m.group(1)) != 0:
            fail("pprof total %s, the report has none" % m.group(1))
        return
    if not m or int(m.group(1)) != total:
        fail("pprof %s total %s, the report's sites add up to %d" % (index, m.group(1) if m else None, total))
    got = {k: v for k, v in flat.items() if v}
    if got != want:
        fail("pprof %s flat by function %r, the report's sites %r" % (index, got, want))
    t = rep["totals"]
    exact = {"calls": "allocations", "bytes": "bytes_allocated", "leaked_blocks": "leaked_blocks",
             "leaked_bytes": "leaked_bytes"}[key]
    if not rep["sampled"] and total != t[exact]:
        fail("pprof %s total %d, the report's totals.%s %d" % (index, total, exact, t[exact]))


def pprof_threads(path, rep, index):
    key = {"created": "threads_created", "leaked": "threads_leaked",
           "running_at_exit": "threads_running_at_exit"}[index]
    text = open(path, encoding="utf-8").read()
    m = re.search(r"of (\d+)B? total", text)
    want = rep["totals"][key]
    got = int(m.group(1)) if m else 0
    if got != want:
        fail("pprof threads %s total %d, the report says %d" % (index, got, want))


def massif(path, rep):
    text = open(path, encoding="utf-8").read()
    peaks = re.findall(r"mem_heap_B=(\d+)\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=peak", text)
    t = rep["totals"]
    if t["peak_bytes"] and (len(peaks) != 1 or int(peaks[0]) != t["peak_bytes"]):
        fail("massif peak snapshot %r, the report's peak %d" % (peaks, t["peak_bytes"]))
    last = re.findall(r"mem_heap_B=(\d+)", text)[-1]
    if int(last) != t["leaked_bytes"]:
        fail("massif's last snapshot holds %s, the report leaked %d" % (last, t["leaked_bytes"]))
    if rep["sampled"] and "sampled, estimated" not in text.split("\n", 1)[0]:
        fail("a sampled dump's desc does not say 'sampled, estimated'")


def main():
    kind, path, rep = sys.argv[1], sys.argv[2], load(sys.argv[3])
    args = sys.argv[4:]
    {"speedscope": speedscope, "chrome": chrome, "json": json_export,
     "collapsed": collapsed, "pprof-top": pprof_top, "pprof-threads": pprof_threads,
     "massif": massif}[kind](path, rep, *args)


if __name__ == "__main__":
    main()
