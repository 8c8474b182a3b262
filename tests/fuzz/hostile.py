#!/usr/bin/env python3
"""Hostile dumps the fuzzer is unlikely to build, through the real analyzer.

    hostile.py LIBTRACE

- Module and executable paths naming a FIFO or a terminal: the analyzer must
  not block opening them (a dump is untrusted input, and so are its paths).
- Size fields that claim far more than the file holds (header strings,
  chunk sizes, record sizes, module strings, thread serials, stack ids):
  exit 2 with a message naming the file, or a truncated report; peak memory
  a few MiB whatever the claim.
- Dumps whose real content maximizes the analyzer's state (every block
  leaked at its own stack, 50,000 threads, one pthread_t shared by 20,000
  threads and joined 20,000 times): memory stays proportional to the file
  and time stays short.

Prints "ok - ..." / "not ok - ..." and last "N passed, N failed".
"""
import os
import stat
import struct
import subprocess
import sys
import tempfile
import time

LT = sys.argv[1]
MAGIC = b"LTDUMP\x1a\n"
CHUNK_MAGIC = 0x4B43544C
ALLOC, FREE, STACK, MODULE = 1, 2, 4, 5
CREATE, START, EXIT, JOIN, TRAILER = 7, 8, 9, 10, 16
results = {"passed": 0, "failed": 0}


def header(exe=b"/bin/true", clock=1, flags=0, sample=0, strings_claim=None,
           header_size=None):
    cmd = b"prog\0"
    body = exe + cmd
    pad = (8 - (88 + len(body)) % 8) % 8
    size = 88 + len(body) + pad if header_size is None else header_size
    exe_len, cmd_len = (len(exe), len(cmd)) if strings_claim is None else strings_claim
    h = struct.pack("<8sIIIIIIQQQQIIIIII", MAGIC, 2, size, 4711, 1, clock, flags,
                    0, 1000, 1000, sample, 64, 1, exe_len, cmd_len, 0, 0)
    return h + body + b"\0" * pad


def rec(rtype, payload, aux=0, flags=0, size=None):
    body = payload + b"\0" * ((8 - len(payload) % 8) % 8)
    return struct.pack("<BBHI", rtype, flags, 8 + len(body) if size is None else size, aux) + body


def chunk(thread, seq, records, size=None):
    data = b"".join(records)
    return struct.pack("<IIIIQQ", CHUNK_MAGIC, len(data) if size is None else size,
                       thread, seq, 2000, 2000) + data


def module(path, bias=0x400000, lo=0x400000, hi=0x500000, main=1):
    return rec(MODULE, struct.pack("<QQQQHHI", 1000, bias, lo, hi, len(path), 0, 0) + path, aux=main)


def trailer(allocs=0, frees=0, threads=0, stacks=0, chunks=1):
    return rec(TRAILER, struct.pack("<10Q", 9000, 9000, allocs, frees, 0, allocs * 16,
                                    threads, 0, stacks, chunks), flags=1)


def run_measured(args, timeout=60):
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        errf = os.open(os.path.join(tmp, "err"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(errf, 2)
        os.execv(LT, [LT] + args)
    # Wall-clock, not CPU, time: a reader blocked on a FIFO uses no CPU.
    deadline = start + timeout
    while True:
        done, status, ru = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            _, status, ru = os.wait4(pid, 0)
            return None, b"killed: still running after %d s" % timeout, timeout, ru.ru_maxrss / 1024.0
        time.sleep(0.01)
    err = open(os.path.join(tmp, "err"), "rb").read()
    code = os.waitstatus_to_exitcode(status)
    return code, err, time.monotonic() - start, ru.ru_maxrss / 1024.0


def ok(msg):
    results["passed"] += 1
    print("ok - " + msg)


def not_ok(msg):
    results["failed"] += 1
    print("not ok - " + msg)


def write(name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


tmp = tempfile.mkdtemp(prefix="libtrace-hostile.")

# ---- paths that block ----------------------------------------------------------
fifo = os.path.join(tmp, "fifo")
os.mkfifo(fifo)
for label, exe, mod in (("a module path naming a FIFO", b"/bin/true", fifo.encode()),
                        ("the executable path naming a FIFO", fifo.encode(), fifo.encode()),
                        ("a module path naming /dev/tty", b"/bin/true", b"/dev/tty")):
    d = header(exe=exe) + chunk(1, 0, [module(mod),
                                       rec(STACK, struct.pack("<Q", 0x401000), aux=1),
                                       rec(ALLOC, struct.pack("<QQQQ", 1500, 0x1000, 16, 0), aux=1, flags=1)])
    d += chunk(0, 0, [trailer(allocs=1, stacks=1)])
    path = write("blocking.lt", d)
    bad = []
    for cmd in (["report"], ["report", "--json"], ["threads"]):
        code, err, secs, _ = run_measured(cmd + [path], timeout=20)
        if code != 0 or secs > 10:
            bad.append("%s: exit %s after %.1f s %s" % (" ".join(cmd), code, secs, err[:120]))
    if bad:
        not_ok("%s: the analyzer neither blocks nor fails: %s" % (label, "; ".join(bad)))
    else:
        ok("%s: report, report --json and threads finish at once (frames as offsets)" % label)

# ---- size fields that claim more than the file holds ------------------------------
small = header()
claims = {
    "header strings longer than the file": header(strings_claim=(0xFFFFFFF0, 0xFFFFFFF0)),
    "header_size of 4 GiB": header(header_size=0xFFFFFFF8),
    "a chunk claiming 1 MiB in a short file": small + chunk(1, 0, [], size=1 << 20)[:64],
    "a chunk claiming 4 GiB": small + chunk(1, 0, [], size=0xFFFFFFF8),
    "a record claiming 65,528 bytes": small + chunk(1, 0, [rec(ALLOC, b"\0" * 32, size=0xFFF8)]),
    "module strings longer than the record": small + chunk(1, 0, [
        rec(MODULE, struct.pack("<QQQQHHI", 1, 2, 3, 4, 0xFFFF, 0xFFFF, 0))]),
    "thread serials and stack ids near 2^32": small + chunk(0xFFFFFFFF, 0xFFFFFFFF, [
        rec(CREATE, struct.pack("<QQQ", 1500, 0xFFFFFFFFFFFFFFFF, 0), aux=0xFFFFFFFF),
        rec(ALLOC, struct.pack("<QQQQ", 1500, 0xFFFFFFFFFFFFFFF0, 0xFFFFFFFFFFFFFFFF, 0),
            aux=0xFFFFFFFF, flags=0xFF),
        rec(STACK, b"\xff" * 8 * 200, aux=0xFFFFFFFE)]),
    "a sampled dump with interval 1 and 2^64-byte blocks": header(flags=2, sample=1) + chunk(1, 0, [
        rec(ALLOC, struct.pack("<QQQQ", 1500, 0x1000, 0xFFFFFFFFFFFFFFFF, 0), aux=1, flags=1)]),
}
for label, data in claims.items():
    path = write("claim.lt", data)
    worst = []
    for cmd in (["report", "--json"], ["threads"]):
        code, err, secs, rss = run_measured(cmd + [path], timeout=20)
        named = b"claim.lt" in err
        if code not in (0, 2) or (code == 2 and not named) or rss > 64 or secs > 10:
            worst.append("%s: exit %s, %.0f MiB, %.1f s, %s" % (" ".join(cmd), code, rss, secs, err[:150]))
    if worst:
        not_ok("%s (%d-byte file): %s" % (label, len(data), "; ".join(worst)))
    else:
        ok("%s (%d-byte file): a clear exit 0 or 2, peak memory under 64 MiB" % (label, len(data)))


# ---- real content that maximizes state ------------------------------------------------
def chunks_of(thread, records, per=1500):
    out, seq = [], 0
    for i in range(0, len(records), per):
        out.append(chunk(thread, seq, records[i:i + per]))
        seq += 1
    return out


N = 50000
leaky = [header()]
leaky += chunks_of(1, [r for i in range(N) for r in (
    rec(STACK, struct.pack("<2Q", 0x401000 + i, 0x402000), aux=i + 1),
    rec(ALLOC, struct.pack("<QQQQ", 1500 + i, 0x10000 + 16 * i, 32, 0), aux=i + 1, flags=1))])
leaky.append(chunk(0, 0, [trailer(allocs=N, stacks=N, chunks=len(leaky) - 1)]))

threads = [header()]
threads += chunks_of(1, [rec(CREATE, struct.pack("<QQQ", 1500 + i, i + 2, 0x401000), aux=0)
                         for i in range(N)])
threads += [chunk(i + 2, 0, [rec(START, struct.pack("<QQ", 1600 + i, 0x7000), aux=i)])
            for i in range(0, N, 2)]
threads.append(chunk(0, 0, [trailer(threads=N, chunks=len(threads) - 1)]))

J = 20000   # one pthread_t carried by every thread, each joined in turn
shared = [header()]
shared += chunks_of(1, [r for i in range(J) for r in (
    rec(CREATE, struct.pack("<QQQ", 10 * i + 1, i + 2, 0x401000)),
    rec(JOIN, struct.pack("<QQ", 10 * i + 5, 0x7000), flags=1))])
shared += [chunk(i + 2, 0, [rec(START, struct.pack("<QQ", 10 * i + 2, 0x7000), aux=i),
                            rec(EXIT, struct.pack("<Q", 10 * i + 3), flags=1)])
           for i in range(J)]
shared.append(chunk(0, 0, [trailer(threads=J, chunks=len(shared) - 1)]))

for label, parts in (("50,000 blocks leaked at 50,000 stacks", leaky),
                     ("50,000 threads", threads),
                     ("20,000 threads sharing one pthread_t, each joined", shared)):
    data = b"".join(parts)
    path = write("big.lt", data)
    mib = len(data) / 1048576.0
    worst = []
    for cmd in (["report", "--json"], ["threads", "--json"]):
        code, err, secs, rss = run_measured(cmd + [path], timeout=120)
        # What the analyzer needs besides the dump: code, libdw, a few MiB.
        limit = 48 + 24 * mib
        if code != 0 or rss > limit or secs > 30:
            worst.append("%s: exit %s, %.0f MiB (limit %.0f), %.1f s, %s"
                         % (" ".join(cmd), code, rss, limit, secs, err[:150]))
        else:
            print("# %s: %s: %.1f MiB dump, %.0f MiB peak, %.1f s" % (label, " ".join(cmd), mib, rss, secs))
    if worst:
        not_ok("%s: %s" % (label, "; ".join(worst)))
    else:
        ok("%s (%.1f MiB): memory within 48 MiB + 24 x the file, under 30 s" % (label, mib))

for f in os.listdir(tmp):
    p = os.path.join(tmp, f)
    if stat.S_ISFIFO(os.lstat(p).st_mode) or os.path.isfile(p):
        os.unlink(p)
os.rmdir(tmp)
print("%d passed, %d failed" % (results["passed"], results["failed"]))
sys.exit(1 if results["failed"] else 0)
