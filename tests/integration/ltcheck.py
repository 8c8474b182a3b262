#!/usr/bin/env python3
"""Helpers for tests/integration/run.sh: read dump headers and trailers, match
ground-truth files to dumps, and compare an analyzer report with a sample's
ground truth.  Reads the dump format from include/libtrace/dump.h's layout;
never depends on what the analyzer printed before.

  ltcheck.py info DUMP                      header and trailer as JSON
  ltcheck.py match DIR                      "GT DUMP ROLE PID" per ground-truth file
                                            in DIR (DUMP "-" when there is none)
  ltcheck.py compare GT REPORT BASE_GT BASE_REPORT
                                            mismatches, one per line; exit 1 if any
  ltcheck.py trailer GT DUMP BASE_GT BASE_DUMP
                                            the shim's own counters against GT
  ltcheck.py refcount GT REFCOUNT           the reference counter against GT
  ltcheck.py get JSON KEY[.KEY...]          print one member
"""
import glob
import json
import os
import struct
import sys

HEADER = struct.Struct("<8sIIIIIIQQQQIIIIII")
CHUNK = struct.Struct("<IIIIQQ")
REC_HEAD = struct.Struct("<BBHI")
TRAILER = struct.Struct("<BBHIQQQQQQQQQQ")
MAGIC = b"LTDUMP\x1a\n"
CHUNK_MAGIC = 0x4B43544C
CHUNK_MAGICS = (CHUNK_MAGIC, 0x4343544C)            # LTCK, LTCC
LZ4_MAGICS = (0x4B5A544C, 0x435A544C)               # LTZK, LTZC: an LZ4 block
CONT_MAGICS = (0x4343544C, 0x435A544C)              # LTCC, LTZC: continued
REC_TRAILER = 16
END_REASONS = {1: "exit", 2: "_exit", 3: "signal", 4: "exec", 5: "error"}

# Totals a baseline can add to: the memory counts.  Thread counts are compared
# exactly (libc starts no threads of its own); peaks are not additive.
ADDITIVE = ("allocations", "frees", "reallocs", "bytes_allocated",
            "leaked_blocks", "leaked_bytes", "temporary")


def unlz4(payload):
    """A compressed chunk's payload (docs/FORMAT.md): its raw and block
    sizes, then one LZ4 block, decoded here (this Python has no lz4
    module).  b"" when it does not decode to raw_size bytes."""
    if len(payload) < 8:
        return b""
    raw_size, block_size = struct.unpack_from("<II", payload)
    src, out, i = payload[8:8 + block_size], bytearray(), 0

    def length(n):
        nonlocal i
        if n == 15:
            while i < len(src):
                b = src[i]
                i += 1
                n += b
                if b != 255:
                    break
        return n

    try:
        while i < len(src):
            token = src[i]
            i += 1
            n = length(token >> 4)
            out += src[i:i + n]
            i += n
            if i >= len(src):
                break
            offset = src[i] | src[i + 1] << 8
            i += 2
            n = length(token & 15) + 4
            if offset == 0 or offset > len(out):
                return b""
            for _ in range(n):
                out.append(out[-offset])
    except IndexError:
        return b""
    return bytes(out) if len(out) == raw_size else b""


def dump_info(path):
    with open(path, "rb") as f:
        data = f.read()
    info = {"path": path, "size": len(data)}
    if len(data) < HEADER.size or data[:8] != MAGIC:
        info["error"] = "no header"
        return info
    (_, version, header_size, pid, ppid, clock, flags, _rt, _ticks, _mono,
     sample, depth, main_thread, exe_len, cmd_len, parent_len, _r) = HEADER.unpack_from(data)
    off = HEADER.size
    exe = data[off:off + exe_len].decode(errors="replace")
    off += exe_len
    argv = [a.decode(errors="replace") for a in data[off:off + cmd_len].split(b"\0")[:-1]]
    off += cmd_len
    parent = data[off:off + parent_len].decode(errors="replace")
    info.update(version=version, pid=pid, ppid=ppid, flags=flags, exe=exe,
                argv=argv, parent_dump=parent, forked=bool(flags & 1))
    off = header_size
    chunks, compressed, continued, trailer, last_end = 0, 0, 0, None, off
    while off + CHUNK.size <= len(data):
        magic, size, thread, _seq, _t, _m = CHUNK.unpack_from(data, off)
        if magic not in CHUNK_MAGICS + LZ4_MAGICS or off + CHUNK.size + size > len(data):
            break
        body = data[off + CHUNK.size:off + CHUNK.size + size]
        trailer = None
        if thread == 0 and magic in LZ4_MAGICS:
            body = unlz4(body)
        if thread == 0 and len(body) >= TRAILER.size:
            rtype = REC_HEAD.unpack_from(body)[0]
            if rtype == REC_TRAILER:
                v = TRAILER.unpack_from(body)
                trailer = dict(reason=END_REASONS.get(v[1], v[1]), code=v[3],
                               allocations=v[6], frees=v[7], reallocs=v[8],
                               bytes_allocated=v[9], threads_created=v[10],
                               lost_events=v[11], stacks=v[12], chunks=v[13])
        chunks += 1
        compressed += magic in LZ4_MAGICS
        continued += magic in CONT_MAGICS
        off += CHUNK.size + size
        last_end = off
    info.update(chunks=chunks, compressed_chunks=compressed,
                continued_chunks=continued, trailer=trailer,
                garbage_after=len(data) - last_end)
    return info


def is_dump(path):
    """Any file that starts with the magic: the shim names a second dump of
    one pid and executable (a re-exec of itself) as it likes."""
    try:
        with open(path, "rb") as f:
            return f.read(8) == MAGIC
    except OSError:
        return False


def load(path):
    with open(path) as f:
        return json.load(f)


def match(directory):
    """Pairs each ground-truth file with the dump of the same process image:
    same pid, same argv (an exec'd image keeps its pid, not its argv)."""
    dumps = [dump_info(p) for p in sorted(glob.glob(os.path.join(directory, "*")))
             if is_dump(p)]
    for gt_path in sorted(glob.glob(os.path.join(directory, "gt*"))):
        gt = load(gt_path)
        found = [d["path"] for d in dumps
                 if d.get("pid") == gt["pid"] and d.get("argv") == gt["argv"]]
        print(gt_path, found[0] if len(found) == 1 else
              ("-" if not found else "ambiguous:" + ",".join(found)),
              gt["role"], gt["pid"])


def totals_of(report):
    t = report.get("totals")
    if not isinstance(t, dict):
        raise ValueError("report has no \"totals\" object")
    return t


def compare(gt_path, report_path, base_gt_path, base_report_path):
    gt, report = load(gt_path), load(report_path)
    base_gt, base_report = load(base_gt_path), load(base_report_path)
    want, got = gt["totals"], totals_of(report)
    bwant, bgot = base_gt["totals"], totals_of(base_report)
    bad = []
    for key in ("truncated", "sampled"):
        if report.get(key) is not False:
            bad.append("%s: expected false, got %s" % (key, json.dumps(report.get(key))))
    for field, value in want.items():
        if field not in got:
            bad.append("%s: missing from totals" % field)
            continue
        expected = value
        if field in ADDITIVE:
            expected = value + (bgot.get(field, 0) - bwant.get(field, 0))
        if got[field] != expected:
            note = ""
            if field in ADDITIVE and bgot.get(field, 0) != bwant.get(field, 0):
                note = " (ground truth %d + baseline %d)" % (value, bgot[field] - bwant[field])
            bad.append("%s: expected %s%s, got %s" % (field, expected, note, got[field]))
    bad += compare_leaks(gt, report)
    for line in bad:
        print(line)
    return 1 if bad else 0


def compare_leaks(gt, report):
    """The blocks a sample leaks on purpose, by the innermost function the
    report names for each leak stack.  Other stacks (glibc's) are the
    baseline's business, and the totals already count them."""
    want = gt.get("leaks_by_function")
    if not want:
        return []
    leaks = report.get("leaks")
    if not isinstance(leaks, list):
        return ["leaks: the report has no \"leaks\" list"]
    got = {}
    for leak in leaks:
        frames = leak.get("frames") or [{}]
        fn = frames[0].get("function") or "?"
        b = got.setdefault(fn, [0, 0])
        b[0] += leak.get("blocks", 0)
        b[1] += leak.get("bytes", 0)
    bad = []
    for fn, w in want.items():
        g = got.get(fn, [0, 0])
        if g != [w["blocks"], w["bytes"]]:
            bad.append("leaks from %s: expected %d blocks %d bytes, got %d blocks %d bytes"
                       % (fn, w["blocks"], w["bytes"], g[0], g[1]))
    return bad


def trailer(gt_path, dump_path, base_gt_path, base_dump_path):
    want, bwant = load(gt_path)["totals"], load(base_gt_path)["totals"]
    info, binfo = dump_info(dump_path), dump_info(base_dump_path)
    t, bt = info.get("trailer"), binfo.get("trailer")
    if not t or not bt:
        print("no trailer in %s" % (dump_path if not t else base_dump_path))
        return 1
    bad = []
    for field in ("allocations", "frees", "reallocs", "bytes_allocated", "threads_created"):
        expected = want[field] + (bt[field] - bwant[field] if field != "threads_created" else 0)
        if t[field] != expected:
            bad.append("trailer %s: expected %d, got %d" % (field, expected, t[field]))
    if t["lost_events"]:
        bad.append("trailer lost_events: %d" % t["lost_events"])
    for line in bad:
        print(line)
    return 1 if bad else 0


def refcount(gt_path, rc_path):
    want, own = load(gt_path)["totals"], load(rc_path)["own"]
    bad = ["%s: ground truth %d, reference counter %d" % (f, want[f], own[f])
           for f in own if f in want and own[f] != want[f]]
    for line in bad:
        print(line)
    return 1 if bad else 0


def get(path, key):
    v = load(path)
    for k in key.split("."):
        v = v[k] if isinstance(v, dict) else v[int(k)]
    print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)
    return 0


def main(argv):
    cmd, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    try:
        if cmd == "info" and len(args) == 1:
            print(json.dumps(dump_info(args[0]), indent=1))
            return 0
        if cmd == "match" and len(args) == 1:
            match(args[0])
            return 0
        if cmd == "compare" and len(args) == 4:
            return compare(*args)
        if cmd == "trailer" and len(args) == 4:
            return trailer(*args)
        if cmd == "refcount" and len(args) == 2:
            return refcount(*args)
        if cmd == "get" and len(args) == 2:
            return get(*args)
    except (OSError, ValueError, KeyError, IndexError, struct.error) as e:
        print("%s: %s" % (type(e).__name__, e))
        return 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
