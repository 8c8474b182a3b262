#!/usr/bin/env python3
"""Helpers for tests/integration/escape.sh: compare `libtrace top --json`
with what a sample knows of its own sites (samples/escapetruth.h), and the
`peak` and `leaks` views with the report's totals.  Sites are grouped by the
function the report shows first (one function can be several stacks: a loop
the compiler unrolled, recursion); their classes are united and their
counts added.

  ltescape.py sites TRUTH TOP_JSON          exact: every site's classes and
                                            counts, and no site unaccounted
  ltescape.py subset TRUTH TOP_JSON         never a class, or a count of a
                                            class, the truth does not have
                                            (for reduced LIBTRACE_FREE_DEPTH)
  ltescape.py expect SAMPLE TOP_JSON        the classes of the older samples'
                                            sites, from their own comments
  ltescape.py get JSON KEY[.KEY...]         print one member
Prints one line per mismatch and exits 1 if any; "#" lines say what matched.
"""
import json
import sys

# The older samples (samples/README.md) describe their sites in words; these
# are those words as classes, by the function the report shows first.
STACK = {"temporary", "frame-local", "stack-candidate"}
EXPECT = {
    "churn": {
        # parse_record mallocs a 64-byte line and frees it itself
        "parse_record": STACK,
        # next_token returns a 16-byte token parse_record frees at once
        "next_token": {"temporary", "escapes-to-caller:1"},
    },
    "pool": {
        "scratch": STACK,                          # freed before anything else
        "worker_main": {"escapes-to-thread"},      # freed by the next worker
        "main": {"leaked"},                        # glibc's TLS per thread
    },
    "leak": {
        "scratch_line": STACK,
        "main": {"frame-local"},                   # the 4 KiB buffer freed late
        "load_config": {"leaked"},
        "intern_name": {"leaked"},
        "push_node": {"leaked"},
    },
    "realloc": {
        # the malloc'd start, the additive loop, the final shrink
        "realloc_growth": {"temporary", "frame-local", "realloc-additive"},
        "realloc_edges": {"temporary", "frame-local"},
        "reallocarray_calls": {"temporary", "frame-local"},
        "calloc_call": STACK,
        "posix_memalign_call": STACK,
        "aligned_alloc_call": {"leaked"},
        "memalign_call": STACK,
        "valloc_call": STACK,
        "pvalloc_call": STACK,
        "failing_calls": STACK,
        "main": {"temporary", "frame-local"},      # 100,000 bytes, freed
    },
}


def labels(site):
    out = set()
    for c in site["classes"]:
        name = c["class"]
        if name == "escapes-to-caller":
            level = c.get("level")
            name += ":%s" % (level if level is not None else "?")
        out.add(name)
    return out


def by_function(top):
    groups = {}
    for s in top["sites"]:
        g = groups.setdefault(s["function"], {
            "classes": set(), "calls": 0, "temporary": 0, "frame_local": 0,
            "escapes": {}, "other_thread": 0, "leaked": 0, "ambiguous": 0,
            "sites": 0})
        g["sites"] += 1
        g["classes"] |= labels(s)
        g["calls"] += s["calls"]
        g["temporary"] += s["temporary"]
        f = s["fates"]
        for k in ("frame_local", "other_thread", "leaked", "ambiguous"):
            g[k] += f[k]
        for level, n in f["escapes"].items():
            g["escapes"][int(level)] = g["escapes"].get(int(level), 0) + n
    return groups


def load(path):
    with open(path) as f:
        return json.load(f)


def truth_classes(t):
    return set(x for x in t["classes"].split(",") if x)


def check_sites(truth, top, exact):
    bad = []
    if top["sites_total"] != len(top["sites"]):
        bad.append("top --json listed %d of %d sites (raise --top)" %
                   (len(top["sites"]), top["sites_total"]))
    groups = by_function(top)
    known = set()
    for t in truth["sites"]:
        fn = t["function"]
        known.add(fn)
        g = groups.get(fn)
        if not g:
            bad.append("%s: no site whose first frame is %s" % (fn, fn))
            continue
        want = truth_classes(t)
        if g["calls"] != t["calls"]:
            bad.append("%s: %d calls, the sample made %d" % (fn, g["calls"], t["calls"]))
        if exact and g["classes"] != want:
            bad.append("%s: classes %s, expected %s (%s)" % (
                fn, sorted(g["classes"]), sorted(want), t["why"]))
        # "escapes-to-caller:?" (level not shown) is true of any level.
        extra = set(c for c in g["classes"] - want
                    if not (c == "escapes-to-caller:?" and t["level"] > 0))
        if not exact and extra:
            bad.append("%s: claims %s, which the sample does not have (%s)" % (
                fn, sorted(extra), t["why"]))
        counts = [("temporary", g["temporary"], t["temporary"]),
                  ("frame-local", g["frame_local"], t["frame_local"]),
                  ("escapes at level %d" % t["level"],
                   g["escapes"].get(t["level"], 0), t["escapes"]),
                  ("freed by another thread", g["other_thread"], t["other_thread"]),
                  ("leaked", g["leaked"], t["leaked"]),
                  ("ambiguous", g["ambiguous"], t["ambiguous"])]
        for what, got, want_n in counts:
            if want_n < 0:
                continue
            if exact and got != want_n:
                bad.append("%s: %d blocks %s, the sample knows %d" % (fn, got, what, want_n))
            if not exact and what not in ("temporary", "leaked") and got > want_n:
                bad.append("%s: %d blocks %s, more than the %d the sample has" % (
                    fn, got, what, want_n))
        if exact:
            other = sum(n for lv, n in g["escapes"].items() if lv != t["level"])
            if other:
                bad.append("%s: %d blocks escape at another level than %d" % (
                    fn, other, t["level"]))
        else:
            for lv, n in g["escapes"].items():
                if lv != t["level"] and n:
                    bad.append("%s: %d blocks claimed at level %d, the sample's are at %d" % (
                        fn, n, lv, t["level"]))
    for fn, g in sorted(groups.items()):
        if fn not in known:
            bad.append("site %s (%d calls, %s) is not one the sample made" % (
                fn, g["calls"], sorted(g["classes"])))
    return bad


def check_expect(sample, top):
    bad = []
    want = EXPECT[sample]
    groups = by_function(top)
    for fn, classes in want.items():
        g = groups.get(fn)
        if not g:
            bad.append("%s: no site whose first frame is %s" % (sample, fn))
        elif g["classes"] != classes:
            bad.append("%s: %s has classes %s, expected %s" % (
                sample, fn, sorted(g["classes"]), sorted(classes)))
    for fn, g in sorted(groups.items()):
        if fn not in want:
            bad.append("%s: unexpected site %s with %s" % (sample, fn, sorted(g["classes"])))
    return bad


def get(path, key):
    v = load(path)
    for part in key.split("."):
        v = v[int(part)] if isinstance(v, list) else v[part]
    return v


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd in ("sites", "subset"):
        bad = check_sites(load(argv[2]), load(argv[3]), cmd == "sites")
    elif cmd == "expect":
        bad = check_expect(argv[2], load(argv[3]))
    elif cmd == "get":
        print(json.dumps(get(argv[2], argv[3])) if not isinstance(
            get(argv[2], argv[3]), (str, int, float)) else get(argv[2], argv[3]))
        return 0
    else:
        print("unknown command %s" % cmd, file=sys.stderr)
        return 2
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
