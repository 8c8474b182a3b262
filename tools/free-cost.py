#!/usr/bin/env python3
"""What recording free sites costs per free: runs an allocation-heavy
program untraced and traced with LIBTRACE_FREE_DEPTH=0, 1 and 4, the runs
interleaved, and prints the median wall and CPU time of each and the
difference per free against depth 0.  A benchmark, not a test: it prints
figures and asserts nothing.

  tools/free-cost.py [BUILD] [--runs N] [--records N]

Two programs: samples/churn (two call paths that free, so the shim's stack
cache always hits) and a program that frees from 200 distinct recursion
depths (more paths than the 128-entry cache holds, so depth 4 unwinds on
most frees).
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

FREEPATHS_C = r"""
#include <stdlib.h>
static void *volatile sink;
__attribute__((noinline)) static void dive(int depth, void *p)
{
	if (depth == 0) { free(p); return; }
	dive(depth - 1, p);
	sink = p;
}
int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	unsigned x = 1;
	for (long i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		dive(1 + (int)((x >> 16) % 200), malloc(32));
	}
	return 0;
}
"""

DEPTHS = ["untraced", "0", "1", "4"]


def run(binary, args, so, depth, out_dir):
    env = dict(os.environ)
    if depth != "untraced":
        env.update(LD_PRELOAD=so, LIBTRACE_QUIET="1", LIBTRACE_FREE_DEPTH=depth,
                   LIBTRACE_OUTPUT=os.path.join(out_dir, "%e.%p.lt"))
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execve(binary, [binary] + args, env)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    for f in glob.glob(os.path.join(out_dir, "*.lt*")):
        os.unlink(f)
    if status != 0:
        sys.exit("%s exited with status %d" % (binary, status))
    return wall, usage.ru_utime + usage.ru_stime


def measure(name, binary, args, frees, so, runs, out_dir):
    wall = {d: [] for d in DEPTHS}
    cpu = {d: [] for d in DEPTHS}
    for _ in range(runs):
        for d in DEPTHS:
            w, c = run(binary, args, so, d, out_dir)
            wall[d].append(w)
            cpu[d].append(c)
    mw = {d: statistics.median(v) for d, v in wall.items()}
    mc = {d: statistics.median(v) for d, v in cpu.items()}
    print("%s: %s frees, median of %d runs" % (name, format(frees, ","), runs))
    for d in DEPTHS:
        label = "untraced" if d == "untraced" else "LIBTRACE_FREE_DEPTH=%s" % d
        print("  %-22s wall %7.3f s   cpu %7.3f s" % (label, mw[d], mc[d]))
    for d in ("1", "4"):
        print("  depth %s vs 0: %+8.1f ns per free (wall), %+8.1f ns (cpu)" % (
            d, (mw[d] - mw["0"]) / frees * 1e9, (mc[d] - mc["0"]) / frees * 1e9))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default=os.path.join(root, "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--records", type=int, default=2000000)
    o = ap.parse_args()
    so = os.path.join(o.build, "libtrace.so")
    churn = os.path.join(o.build, "samples", "churn")
    with tempfile.TemporaryDirectory(prefix="libtrace-freecost.") as tmp:
        src = os.path.join(tmp, "freepaths.c")
        with open(src, "w") as f:
            f.write(FREEPATHS_C)
        freepaths = os.path.join(tmp, "freepaths")
        subprocess.run(["cc", "-O1", "-g", "-fno-omit-frame-pointer", "-o",
                        freepaths, src], check=True)
        measure("samples/churn %d" % o.records, churn, [str(o.records)],
                2 * o.records, so, o.runs, tmp)
        n = max(o.records // 20, 1000)
        measure("freepaths %d (200 free paths)" % n, freepaths, [str(n)],
                n, so, o.runs, tmp)


if __name__ == "__main__":
    main()
