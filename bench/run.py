#!/usr/bin/python3
"""libtrace beside heaptrack, in one invocation (make bench).

    bench/run.py BUILD WORK RESULTS.md

Runs the micro-benchmark (bench/micro.c) and real Debian programs untraced,
under libtrace (LD_PRELOAD=BUILD/libtrace.so), under heaptrack
(bench/heaptrack-run.sh: heaptrack 1.4's own script with the processes timed
apart) and, for the real programs, under libtrace with LIBTRACE_SAMPLE=512k.
Runs are interleaved: each round runs every mode of every benchmark, in an
order that rotates from round to round.  Medians over the rounds are printed
and written to RESULTS.md with the machine they were measured on.  It
measures and prints; it never passes or fails on a figure.

Environment:
    BENCH_RUNS=N          rounds (default 5)
    BENCH_ONLY=a,b        only these benchmarks: micro, python, sqlite3, gcc,
                          git, xz, redis
    BENCH_MICRO_CALLS=N   malloc+free calls per micro run, one call path
                          (default 2000000; the 4-path runs make a fifth)
    BENCH_TIMEOUT=S       a run taking longer is stopped and left out (300)
    BENCH_KEEP=1          keep WORK/runs (dumps and traces of the last round)
    BENCH_CALLGRIND=1     also count the instructions of each real program
                          (redis left out) untraced and with LIBTRACE_SAMPLE,
                          once, under valgrind --tool=callgrind: a repeatable
                          figure where 5% of wall time is below this
                          machine's noise (about 10 minutes more)
"""
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GNU_TIME = "/usr/bin/time"
HT_RUN = os.path.join(HERE, "heaptrack-run.sh")
SAMPLE = "512k"

MODES_REAL = ("untraced", "libtrace", "heaptrack", "sampled")
MODES_MICRO = ("untraced", "libtrace", "heaptrack")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


class Bench:
    def __init__(self, build, work):
        self.build = os.path.abspath(build)
        self.work = os.path.abspath(work)
        self.so = os.path.join(self.build, "libtrace.so")
        self.lt = os.path.join(self.build, "libtrace")
        self.micro = os.path.join(self.build, "bench", "micro")
        self.scratch = os.path.join(self.work, "runs")
        self.timeout = env_int("BENCH_TIMEOUT", 300)
        self.base_env = dict(os.environ, LC_ALL="C", TZ="UTC",
                             HOME=os.path.join(self.work, "home"),
                             GIT_CONFIG_NOSYSTEM="1")
        for var in ("LD_PRELOAD", "LIBTRACE_SAMPLE", "LIBTRACE_OUTPUT", "PYTHONMALLOC"):
            self.base_env.pop(var, None)
        os.makedirs(self.base_env["HOME"], exist_ok=True)

    # ---- running one command --------------------------------------------------
    def spawn(self, argv, env, cwd, stdin=None, stdout=None):
        """Starts argv in its own session, so a timeout can end all of it."""
        with open(os.path.join(cwd, "stderr"), "ab") as err:
            return subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin or subprocess.DEVNULL,
                                    stdout=stdout or subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)

    def finish(self, proc, deadline):
        """proc's exit status, or None when it ran past deadline (then its
        process group is killed).  Waits in one blocking waitpid: with a
        timeout, Popen.wait polls in sleeps of up to 50 ms, which would
        round every time measured around it up by as much (all of them
        read 0.x15 or 0.x65 s then)."""
        killed = []

        def kill():
            killed.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(max(1, deadline - time.monotonic()), kill)
        timer.daemon = True
        timer.start()
        try:
            status = proc.wait()
        finally:
            timer.cancel()
        return None if killed else status

    def wrap(self, mode, cmd, env, out, gcc_children=False):
        """The argv and environment that run cmd in this mode."""
        env = dict(env)
        if mode == "heaptrack":
            argv = [HT_RUN, os.path.join(out, "outer")] + cmd
            if gcc_children:
                argv += ["-wrapper", "%s,%s" % (HT_RUN, os.path.join(out, "child"))]
            return argv, env
        argv = [GNU_TIME, "-f", "%M %e", "-o", os.path.join(out, "untraced.proc")]
        if mode in ("libtrace", "sampled"):
            argv = [GNU_TIME, "-f", "%M %e", "-o", os.path.join(out, "lt.proc"), "env",
                    "LD_PRELOAD=" + self.so, "LIBTRACE_QUIET=1",
                    "LIBTRACE_OUTPUT=" + os.path.join(out, "%e.%p.lt")]
            if mode == "sampled":
                argv.append("LIBTRACE_SAMPLE=" + SAMPLE)
        return argv + cmd, env

    def fresh(self, name, mode):
        d = os.path.join(self.scratch, name, mode)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(os.path.join(d, "out"))
        return d, os.path.join(d, "out")

    def run_plain(self, name, mode, cmd, env=None, stdin_path=None, gcc_children=False,
                  capture=False):
        """One run of a command; returns its metrics, or None when it failed."""
        d, out = self.fresh(name, mode)
        argv, env = self.wrap(mode, cmd, env or self.base_env, out, gcc_children)
        stdin = open(stdin_path, "rb") if stdin_path else None
        stdout = open(os.path.join(d, "stdout"), "wb")
        start = time.monotonic()
        proc = self.spawn(argv, env, d, stdin=stdin, stdout=stdout)
        status = self.finish(proc, start + self.timeout)
        wall = time.monotonic() - start
        if stdin:
            stdin.close()
        stdout.close()
        if status != 0:
            log("  %s %s: %s (stderr in %s)" % (name, mode,
                "timed out" if status is None else "exit status %d" % status, d))
            return None
        m = {"wall": wall, "dir": d, "out": out}
        if capture:
            with open(os.path.join(d, "stdout")) as f:
                m["stdout"] = f.read()
        self.collect(mode, m)
        return m

    # ---- what a run left behind -------------------------------------------------
    @staticmethod
    def time_file(path):
        """(max RSS in KiB, elapsed s) from a GNU time -f '%M %e' file."""
        try:
            with open(path) as f:
                last = f.read().split("\n")
            last = [l for l in last if l.strip()][-1].split()
            return int(last[0]), float(last[1])
        except (OSError, IndexError, ValueError):
            return None

    def collect(self, mode, m):
        out = m["out"]
        files = sorted(os.listdir(out))
        if mode == "heaptrack":
            procs = [f for f in files if f.endswith(".proc")]
            children = [f for f in procs if f.startswith("child.")]
            # The outer driver's time also counts its children and their
            # interpreters: when there are children, they are the processes.
            procs = children or procs
            m["rss"] = max((self.time_file(os.path.join(out, f)) or (0, 0))[0] for f in procs)
            helpers = [self.time_file(os.path.join(out, f)) for f in files if f.endswith(".helper")]
            m["helper_rss"] = max((h[0] for h in helpers if h), default=None)
            m["dumps"] = [os.path.join(out, f) for f in files if f.endswith(".zst")]
        else:
            t = self.time_file(os.path.join(out, "lt.proc" if mode != "untraced" else "untraced.proc"))
            m["rss"] = t[0] if t else None
            m["dumps"] = [os.path.join(out, f) for f in files if f.endswith(".lt")]
        m["dump_bytes"] = sum(os.path.getsize(p) for p in m["dumps"]) if mode != "untraced" else None

    def analyze(self, mode, m):
        """Analyzer time (s, summed over dumps) and peak RSS (KiB, the largest)."""
        total, peak, counted = 0.0, 0, 0
        for i, dump in enumerate(m["dumps"]):
            tf = os.path.join(m["dir"], "analyze%d.time" % i)
            txt = os.path.join(m["dir"], "analyze%d.txt" % i)
            if mode == "heaptrack":
                argv = [GNU_TIME, "-f", "%M %e", "-o", tf, "heaptrack_print", dump]
            else:
                argv = [GNU_TIME, "-f", "%M %e", "-o", tf, self.lt, "report", dump]
            start = time.monotonic()
            with open(txt, "wb") as f:
                rc = self.finish(self.spawn(argv, self.base_env, m["dir"], stdout=f),
                                 start + self.timeout)
            total += time.monotonic() - start
            if rc is None:
                rc = -1
            t = self.time_file(tf)
            if rc != 0 or not t:
                log("  %s analyzer exit status %d on %s" % (mode, rc, dump))
                return
            peak = max(peak, t[0])
            if mode == "heaptrack":
                with open(txt, errors="replace") as f:
                    hit = re.search(r"^calls to allocation functions: (\d+)", f.read(), re.M)
                counted += int(hit.group(1)) if hit else 0
        m["ana_time"], m["ana_rss"] = total, peak
        if mode == "heaptrack":
            m["allocations"] = counted

    def totals(self, m, sampled):
        """bytes_allocated and allocations from libtrace report --json, summed
        over the run's dumps; for a sampled run also the estimate made from
        the samples alone (the sum of every site's estimated bytes), since
        the report's total comes from the shim's exact counters when the
        dump has its trailer."""
        b = a = est = 0
        for dump in m["dumps"]:
            argv = [self.lt, "report", "--json", dump]
            if sampled:
                argv[3:3] = ["--top", "100000", "--frames", "1"]
            r = subprocess.run(argv, capture_output=True, env=self.base_env, timeout=self.timeout)
            if r.returncode != 0:
                return
            d = json.loads(r.stdout)
            b += d["totals"]["bytes_allocated"]
            a += d["totals"]["allocations"]
            est += sum(site["bytes"] for site in d.get("sites_by_bytes", []))
        m["bytes_allocated"], m["allocations"] = b, a
        if sampled:
            m["estimated_bytes"] = est

    def finish_real(self, mode, m):
        if m is None:
            return None
        if mode in ("libtrace", "sampled"):
            self.totals(m, mode == "sampled")
        if mode in ("libtrace", "heaptrack"):
            self.analyze(mode, m)
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(m["dir"], ignore_errors=True)
        return m


# ---- the benchmarks ----------------------------------------------------------------
def micro_configs():
    calls = env_int("BENCH_MICRO_CALLS", 2000000)
    for paths in (1, 4):
        for depth in (8, 32):
            for threads in (1, 2):
                yield threads, depth, paths, calls if paths == 1 else max(1000, calls // 5)


def run_micro(b, mode, cfg):
    threads, depth, paths, calls = cfg
    cmd = [b.micro, str(threads), str(calls), str(depth), str(paths)]
    m = b.run_plain("micro", mode, cmd, capture=True)
    if m is None:
        return None
    hit = re.search(r"calls=(\d+) phase_ns=(\d+) ns_per_call=([\d.]+)", m["stdout"])
    if not hit:
        log("  micro %s: no result line in %r" % (mode, m["stdout"][:200]))
        return None
    m["calls"], m["phase"], m["ns_per_call"] = int(hit.group(1)), int(hit.group(2)) / 1e9, float(hit.group(3))
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(m["dir"], ignore_errors=True)
    return m


def real_programs(b):
    w = b.work
    py = dict(b.base_env, PYTHONMALLOC="malloc", PYTHONHASHSEED="0")
    return {
        "python": dict(label="CPython, PYTHONMALLOC=malloc", cmd=["/usr/bin/python3", os.path.join(w, "job.py")], env=py),
        "sqlite3": dict(label="sqlite3 bulk inserts + queries", cmd=["sqlite3", "-batch", "bench.db"],
                        stdin=os.path.join(w, "job.sql")),
        "gcc": dict(label="gcc -O2 -c (driver, cc1, as)", cmd=["gcc", "-O2", "-c", os.path.join(w, "gen.c"), "-o", "gen.o"],
                    gcc=True),
        "git": dict(label="git log -p", cmd=["git", "--git-dir=" + os.path.join(w, "repo.git"), "--no-pager", "log", "-p"]),
        "xz": dict(label="xz -T2", cmd=["xz", "-T2", "-0", "--block-size=1MiB", "-c", os.path.join(w, "data")]),
        "redis": dict(label="redis-server under redis-benchmark", redis=True),
    }


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port)] + list(args),
                          capture_output=True, text=True, timeout=30).stdout.strip()


def run_redis(b, mode):
    """The server is the traced process; the wall time is redis-benchmark's."""
    d, out = b.fresh("redis", mode)
    port = free_port()
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--daemonize", "no", "--dir", d, "--logfile", os.path.join(d, "redis.log")]
    argv, env = b.wrap(mode, cmd, b.base_env, out)
    server = b.spawn(argv, env, d)
    deadline = time.monotonic() + b.timeout
    for _ in range(200):
        try:
            if redis_cli(port, "ping") == "PONG":
                break
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.05)
    else:
        log("  redis %s: server did not answer" % mode)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        return None
    start = time.monotonic()
    client = b.spawn(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", "30000",
                      "-c", "8", "-P", "16", "-d", "64", "-q",
                      "-t", "set,get,incr,lpush,rpush,lpop,sadd,hset,lrange_100"], b.base_env, d)
    rc = b.finish(client, start + b.timeout)
    wall = time.monotonic() - start
    try:
        redis_cli(port, "shutdown", "nosave")
    except subprocess.TimeoutExpired:
        pass
    status = b.finish(server, deadline)
    if rc != 0 or status != 0:
        log("  redis %s: benchmark status %s, server status %s (in %s)" % (mode, rc, status, d))
        return None
    m = {"wall": wall, "dir": d, "out": out}
    b.collect(mode, m)
    return m


def callgrind_instructions(b, name, spec, sampled):
    """Instructions of every process of one run under callgrind, or None."""
    d, out = b.fresh(name, "callgrind-" + ("sampled" if sampled else "untraced"))
    env = dict(spec.get("env") or b.base_env)
    if sampled:
        env.update(LD_PRELOAD=b.so, LIBTRACE_QUIET="1", LIBTRACE_SAMPLE=SAMPLE,
                   LIBTRACE_OUTPUT=os.path.join(out, "%e.%p.lt"))
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            "--trace-children=yes", "--log-file=" + os.path.join(out, "vg.%p")] + spec["cmd"]
    stdin = open(spec["stdin"], "rb") if spec.get("stdin") else None
    proc = b.spawn(argv, env, d, stdin=stdin)
    status = b.finish(proc, time.monotonic() + 20 * b.timeout)
    if stdin:
        stdin.close()
    if status != 0:
        log("  %s callgrind: %s (logs in %s)" % (name, "timed out" if status is None else
                                               "exit status %d" % status, out))
        return None
    total = 0
    for f in os.listdir(out):
        if f.startswith("vg."):
            with open(os.path.join(out, f)) as fh:
                hit = re.search(r"Collected : (\d+)", fh.read())
            total += int(hit.group(1)) if hit else 0
    return total or None


def run_real(b, name, spec, mode):
    if spec.get("redis"):
        m = run_redis(b, mode)
    else:
        m = b.run_plain(name, mode, spec["cmd"], env=spec.get("env"), stdin_path=spec.get("stdin"),
                        gcc_children=spec.get("gcc", False))
    return b.finish_real(mode, m)


# ---- statistics and the report -------------------------------------------------------
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def paired(rounds, f):
    """Median over rounds of f(round), for rounds where every input exists."""
    vals = []
    for r in rounds:
        try:
            v = f(r)
        except (KeyError, TypeError, ZeroDivisionError):
            continue
        if v is not None:
            vals.append(v)
    return med(vals)


def mib(kib):
    return None if kib is None else kib / 1024.0


def fmt(v, spec="%.2f", unit=""):
    return "—" if v is None else (spec % v) + unit


def size(b):
    if b is None:
        return "—"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= scale:
            return "%.1f %s" % (b / scale, unit)
    return "%d B" % b


def verdict(ok, how):
    return ("holds (%s)" if ok else "**misses** (%s)") % how


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return ""


def machine():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    osname = ""
    try:
        with open("/etc/os-release") as f:
            osname = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l).get("PRETTY_NAME", "").strip('"')
    except OSError:
        pass
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2 / 1048576}' /proc/meminfo")
    return {
        "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(), "os": osname, "mem": mem,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": sh("git -C %s rev-parse --short HEAD" % ROOT),
        "dirty": sh("git -C %s status --porcelain -- interposer analyzer include" % ROOT) != "",
        "versions": "; ".join(v for v in (
            sh("dpkg-query -W -f='heaptrack ${Version}' heaptrack"),
            sh("/usr/bin/python3 --version"),
            "sqlite3 " + sh("sqlite3 --version").split(" ")[0],
            sh("gcc --version | head -n 1"),
            sh("git --version"),
            sh("xz --version | head -n 1"),
            sh("redis-server --version | cut -d' ' -f1-3"),
        ) if v.strip()),
    }


def report(results, micro_res, runs, only, load, path, instructions=None):
    mach = machine()
    L = []
    L.append("# libtrace beside heaptrack: benchmark results\n")
    L.append("Written by `make bench` (bench/run.py); do not edit by hand. "
             "Every figure is a median over %d interleaved rounds; a ratio is taken within a round "
             "(traced run / untraced run of the same round) and then the median of those is shown." % runs)
    L.append("")
    L.append("| machine | |")
    L.append("|---|---|")
    L.append("| CPU | %s |" % mach["cpu"])
    L.append("| cores | %s |" % mach["cores"])
    L.append("| memory | %s |" % mach["mem"])
    L.append("| kernel | %s (%s) |" % (mach["kernel"], mach["os"]))
    L.append("| date | %s |" % mach["date"])
    L.append("| load average (1 min) at start / end | %.2f / %.2f |" % load)
    L.append("| libtrace | commit %s%s |" % (mach["commit"], ", with uncommitted changes in interposer/, analyzer/ or include/" if mach["dirty"] else ""))
    L.append("| programs | %s |" % mach["versions"])
    L.append("| settings | BENCH_RUNS=%d%s |" % (runs, (", BENCH_ONLY=" + ",".join(only)) if only else ""))
    L.append("")
    targets = []

    if micro_res:
        L.append("## Micro-benchmark (bench/micro.c)\n")
        L.append("T threads share the calls (a call is one malloc or one free, in pairs), made at call "
                 "depth D through P call paths that end at the same call site and stack pointer, taken in "
                 "turn. The program counts its calls and times its own allocation phase; *ns/call* is that "
                 "phase × T / calls (the time one call takes as its thread sees it). *Added* is traced minus "
                 "untraced ns/call of the same round. *2T/1T* is the phase wall time of two threads over one "
                 "thread for the same total calls (the issue's target for the tool: at most 0.6).\n")
        L.append("| T | D | P | calls | untraced ns/call | libtrace ns/call | heaptrack ns/call | libtrace added | heaptrack added | added lt/ht (≤ 0.25) |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for cfg, rounds in micro_res.items():
            t, d, p, calls = cfg
            un = paired(rounds, lambda r: r["untraced"]["ns_per_call"])
            ltn = paired(rounds, lambda r: r["libtrace"]["ns_per_call"])
            htn = paired(rounds, lambda r: r["heaptrack"]["ns_per_call"])
            lta = paired(rounds, lambda r: r["libtrace"]["ns_per_call"] - r["untraced"]["ns_per_call"])
            hta = paired(rounds, lambda r: r["heaptrack"]["ns_per_call"] - r["untraced"]["ns_per_call"])
            rel = lta / hta if lta is not None and hta else None
            L.append("| %d | %d | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                t, d, p, "{:,}".format(calls), fmt(un, "%.1f"), fmt(ltn, "%.1f"), fmt(htn, "%.1f"),
                fmt(lta, "%.1f"), fmt(hta, "%.1f"), fmt(rel, "%.2f")))
            if rel is not None:
                targets.append(("micro T=%d D=%d P=%d: added cost ≤ ¼ of heaptrack's" % (t, d, p),
                                verdict(rel <= 0.25, "%.0f ns vs %.0f ns, %.2f× heaptrack's" % (lta, hta, rel))))
        L.append("")
        L.append("| D | P | untraced 2T/1T | libtrace 2T/1T (≤ 0.6) | heaptrack 2T/1T |")
        L.append("|---|---|---|---|---|")
        for (t, d, p, calls), rounds1 in micro_res.items():
            if t != 1:
                continue
            rounds2 = micro_res.get((2, d, p, calls))
            if not rounds2:
                continue
            sc = {}
            for mode in MODES_MICRO:
                vals = []
                for r1, r2 in zip(rounds1, rounds2):
                    if r1.get(mode) and r2.get(mode):
                        vals.append(r2[mode]["phase"] / r1[mode]["phase"])
                sc[mode] = med(vals)
            L.append("| %d | %d | %s | %s | %s |" % (d, p, fmt(sc["untraced"]), fmt(sc["libtrace"]), fmt(sc["heaptrack"])))
            if sc["libtrace"] is not None:
                targets.append(("micro D=%d P=%d: two threads ≤ 0.6× one thread's wall time" % (d, p),
                                verdict(sc["libtrace"] <= 0.6, "%.2f×; untraced %s×" % (sc["libtrace"], fmt(sc["untraced"])))))
        L.append("")

    if results:
        L.append("## Real programs\n")
        L.append("Inputs are generated by bench/setup.sh (fixed seeds). *Wall* is the untraced run's wall time "
                 "(for redis, redis-benchmark's: %s); the ratios are traced / untraced. "
                 "heaptrack runs as its own `heaptrack` script does (bench/heaptrack-run.sh), its trace "
                 "interpreter and zstd included in the wall time; for gcc, it is started again for cc1 and "
                 "as through `gcc -wrapper` (heaptrack does not follow children; libtrace does, "
                 "LIBTRACE_FOLLOW=1). *Sampled* is libtrace with LIBTRACE_SAMPLE=%s.\n" % (
                     "30,000 requests of each of 9 tests, 8 clients, pipeline 16", SAMPLE))
        L.append("### Wall time\n")
        L.append("| program | untraced wall | libtrace ratio | heaptrack ratio | overhead lt/ht (≤ 0.33) | sampled ratio (≤ 1.05) |")
        L.append("|---|---|---|---|---|---|")
        rows = {}
        for name, (label, rounds) in results.items():
            un = paired(rounds, lambda r: r["untraced"]["wall"])
            ltr = paired(rounds, lambda r: r["libtrace"]["wall"] / r["untraced"]["wall"])
            htr = paired(rounds, lambda r: r["heaptrack"]["wall"] / r["untraced"]["wall"])
            smr = paired(rounds, lambda r: r["sampled"]["wall"] / r["untraced"]["wall"])
            rel = (ltr - 1) / (htr - 1) if ltr is not None and htr is not None and htr > 1 else None
            rows[name] = (ltr, htr, smr)
            L.append("| %s | %s | %s | %s | %s | %s |" % (label, fmt(un, "%.2f", " s"), fmt(ltr, "%.2f", "×"),
                                                         fmt(htr, "%.2f", "×"), fmt(rel), fmt(smr, "%.3f", "×")))
            if rel is not None:
                targets.append(("%s: overhead ≤ ⅓ of heaptrack's" % name,
                                verdict(rel <= 1 / 3, "+%.0f%% vs +%.0f%%, %.2f of heaptrack's" % ((ltr - 1) * 100, (htr - 1) * 100, rel))))
            if smr is not None:
                targets.append(("%s: sampled overhead ≤ 5%%" % name, verdict(smr <= 1.05, "%+.1f%%" % ((smr - 1) * 100))))
        L.append("")
        L.append("### Memory\n")
        L.append("Peak RSS (GNU time) of the traced process (for gcc, the largest of driver, cc1 and as) "
                 "and of heaptrack's helper (heaptrack_interpret; the largest). "
                 "The target for libtrace is 1.2 × untraced + 32 MiB, and no helper bigger than that; libtrace has no helper.\n")
        L.append("| program | untraced | libtrace | target | heaptrack | heaptrack_interpret | sampled |")
        L.append("|---|---|---|---|---|---|---|")
        for name, (label, rounds) in results.items():
            un = mib(paired(rounds, lambda r: r["untraced"]["rss"]))
            lt = mib(paired(rounds, lambda r: r["libtrace"]["rss"]))
            ht = mib(paired(rounds, lambda r: r["heaptrack"]["rss"]))
            hh = mib(paired(rounds, lambda r: r["heaptrack"]["helper_rss"]))
            sm = mib(paired(rounds, lambda r: r["sampled"]["rss"]))
            lim = un * 1.2 + 32 if un is not None else None
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (label, fmt(un, "%.1f", " MiB"), fmt(lt, "%.1f", " MiB"),
                                                               fmt(lim, "%.1f", " MiB"), fmt(ht, "%.1f", " MiB"),
                                                               fmt(hh, "%.1f", " MiB"), fmt(sm, "%.1f", " MiB")))
            if lt is not None and lim is not None:
                targets.append(("%s: traced peak RSS ≤ 1.2× untraced + 32 MiB" % name,
                                verdict(lt <= lim, "%.1f MiB vs limit %.1f MiB" % (lt, lim))))
        L.append("")
        L.append("### Dump and analyzer\n")
        L.append("Dump: every `.lt` file the run wrote, beside heaptrack's zstd-compressed trace(s). "
                 "Analyzer: `libtrace report DUMP` beside `heaptrack_print TRACE` on the same round's "
                 "outputs, each process's file in turn (times summed, the largest peak RSS). "
                 "*Allocations* is what each tool counted (a cross-check; they should agree).\n")
        L.append("| program | libtrace dump | heaptrack .zst | dump lt/ht (≤ 1) | libtrace report | heaptrack_print | time lt/ht (≤ 0.5) | report RSS | heaptrack_print RSS | allocations lt / ht |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for name, (label, rounds) in results.items():
            ld = paired(rounds, lambda r: r["libtrace"]["dump_bytes"])
            hd = paired(rounds, lambda r: r["heaptrack"]["dump_bytes"])
            drel = paired(rounds, lambda r: r["libtrace"]["dump_bytes"] / r["heaptrack"]["dump_bytes"])
            lat = paired(rounds, lambda r: r["libtrace"]["ana_time"])
            hat = paired(rounds, lambda r: r["heaptrack"]["ana_time"])
            trel = paired(rounds, lambda r: r["libtrace"]["ana_time"] / r["heaptrack"]["ana_time"])
            lam = mib(paired(rounds, lambda r: r["libtrace"]["ana_rss"]))
            ham = mib(paired(rounds, lambda r: r["heaptrack"]["ana_rss"]))
            la = paired(rounds, lambda r: r["libtrace"]["allocations"])
            ha = paired(rounds, lambda r: r["heaptrack"]["allocations"])
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |" % (
                label, size(ld), size(hd), fmt(drel, "%.1f"), fmt(lat, "%.2f", " s"), fmt(hat, "%.2f", " s"),
                fmt(trel), fmt(lam, "%.1f", " MiB"), fmt(ham, "%.1f", " MiB"),
                "—" if la is None else "{:,}".format(int(la)), "—" if ha is None else "{:,}".format(int(ha))))
            if drel is not None:
                targets.append(("%s: dump ≤ heaptrack's compressed trace" % name,
                                verdict(drel <= 1, "%s vs %s, %.1f×" % (size(ld), size(hd), drel))))
            if trel is not None and lam is not None and ham is not None:
                targets.append(("%s: report ≥ 2× faster than heaptrack_print, in less memory" % name,
                                verdict(trel <= 0.5 and lam < ham, "%.2f s vs %.2f s (%.2f×), %.0f vs %.0f MiB" % (lat, hat, trel, lam, ham))))
        L.append("")
        L.append("### Sampling (LIBTRACE_SAMPLE=%s)\n" % SAMPLE)
        L.append("*Exact*: `totals.bytes_allocated` of the exact (unsampled) run of the same round. "
                 "*Report's total*: the same field on the sampled run's dumps; it comes from the shim's exact "
                 "counters in the dump's trailer, so it says nothing about the samples. *From samples*: the sum "
                 "of every site's estimated bytes (`libtrace report --json --top 100000`), the estimate the "
                 "per-site figures rest on. *Error* is that estimate against the same run's exact total (the "
                 "report's total): a program that allocates differently from run to run (xz -T2 makes three or "
                 "four 1 MiB buffers) would otherwise count its own variation as the sampler's. Sums over all of a "
                 "run's dumps.\n")
        L.append("| program | sampled ratio | sampled dump | exact | report's total | from samples | error (≤ 5%) |")
        L.append("|---|---|---|---|---|---|---|")
        for name, (label, rounds) in results.items():
            smr = paired(rounds, lambda r: r["sampled"]["wall"] / r["untraced"]["wall"])
            sd = paired(rounds, lambda r: r["sampled"]["dump_bytes"])
            ex = paired(rounds, lambda r: r["libtrace"]["bytes_allocated"])
            rt = paired(rounds, lambda r: r["sampled"]["bytes_allocated"])
            es = paired(rounds, lambda r: r["sampled"]["estimated_bytes"])
            err = paired(rounds, lambda r: abs(r["sampled"]["estimated_bytes"] / r["sampled"]["bytes_allocated"] - 1))
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (label, fmt(smr, "%.3f", "×"), size(sd), size(ex), size(rt),
                                                              size(es), fmt(None if err is None else err * 100, "%.2f", "%")))
            if err is not None:
                targets.append(("%s: sampled estimate of total bytes within 5%%" % name,
                                verdict(err <= 0.05, "%.2f%% off" % (err * 100))))
        L.append("")
    if instructions:
        L.append("### Sampling, counted in instructions (BENCH_CALLGRIND=1)\n")
        L.append("One run of each program untraced and one with LIBTRACE_SAMPLE=%s, under "
                 "`valgrind --tool=callgrind` (every process of the run); instructions do not move with the "
                 "machine's load, so this says what wall-time medians here cannot at 5%%. Redis is left out "
                 "(its figure is redis-benchmark's wall time).\n" % SAMPLE)
        L.append("| program | untraced | sampled | added |")
        L.append("|---|---|---|---|")
        for name, (un, sa) in instructions.items():
            added = None if not un or not sa else sa / un - 1
            millions = lambda n: "—" if not n else "{:,.1f} M".format(n / 1e6)
            L.append("| %s | %s | %s | %s |" % (results[name][0], millions(un), millions(sa),
                                              fmt(None if added is None else added * 100, "%+.1f", "%")))
            if added is not None:
                targets.append(("%s: sampled, instructions added ≤ 5%% (callgrind)" % name,
                                verdict(added <= 0.05, "%+.1f%%" % (added * 100))))
        L.append("")

    if targets:
        L.append("## Issue 7 targets\n")
        L.append("| target | result |")
        L.append("|---|---|")
        for t, v in targets:
            L.append("| %s | %s |" % (t, v))
        L.append("")
    text = "\n".join(L)
    with open(path, "w") as f:
        f.write(text)
    print(text)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    build, work, out_md = sys.argv[1:]
    b = Bench(build, work)
    runs = env_int("BENCH_RUNS", 5)
    only = [s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()]
    programs = real_programs(b)
    known = ["micro"] + list(programs)
    for s in only:
        if s not in known:
            print("bench: BENCH_ONLY names %r; known: %s" % (s, ", ".join(known)), file=sys.stderr)
            return 2
    want = lambda s: not only or s in only
    for tool in ("heaptrack_print", "zstd", "redis-server", "redis-benchmark", "redis-cli"):
        if not shutil.which(tool):
            print("bench: %s is missing (bench/setup.sh installs it)" % tool, file=sys.stderr)
            return 2
    if not os.path.exists(GNU_TIME):
        print("bench: %s (GNU time) is missing" % GNU_TIME, file=sys.stderr)
        return 2

    load0 = os.getloadavg()[0]
    micro_res = {cfg: [] for cfg in micro_configs()} if want("micro") else {}
    results = {n: (s["label"], []) for n, s in programs.items() if want(n)}
    t0 = time.monotonic()
    for rnd in range(runs):
        log("bench: round %d of %d (%.0f s so far)" % (rnd + 1, runs, time.monotonic() - t0))
        for cfg in micro_res:
            order = MODES_MICRO[rnd % 3:] + MODES_MICRO[:rnd % 3]
            r = {}
            for mode in order:
                r[mode] = run_micro(b, mode, cfg)
            micro_res[cfg].append(r)
            log("  micro T=%d D=%d P=%d: %s" % (cfg[0], cfg[1], cfg[2], ", ".join(
                "%s %s ns/call" % (mode, fmt(r[mode] and r[mode]["ns_per_call"], "%.0f")) for mode in MODES_MICRO)))
        for name, (label, rounds) in results.items():
            order = MODES_REAL[rnd % 4:] + MODES_REAL[:rnd % 4]
            r = {}
            for mode in order:
                r[mode] = run_real(b, name, programs[name], mode)
            rounds.append(r)
            log("  %s: %s" % (name, ", ".join("%s %s" % (mode, fmt(r[mode] and r[mode]["wall"], "%.2f", " s"))
                                              for mode in MODES_REAL)))
    instructions = {}
    if os.environ.get("BENCH_CALLGRIND") and shutil.which("valgrind"):
        for name in results:
            if programs[name].get("redis"):
                continue      # its wall time is redis-benchmark's; callgrind would be the bottleneck
            un = callgrind_instructions(b, name, programs[name], False)
            sa = callgrind_instructions(b, name, programs[name], True)
            instructions[name] = (un, sa)
            log("  %s: %s instructions untraced, %s sampled" % (name, un, sa))
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(b.scratch, ignore_errors=True)
    log("bench: %.0f s in all" % (time.monotonic() - t0))
    report(results, micro_res, runs, only, (load0, os.getloadavg()[0]), out_md, instructions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
