#!/bin/sh
# Set-up for make bench: installs the Debian packages the benchmark runs
# (heaptrack, the real programs, GNU time) when missing, and generates the
# deterministic inputs of the real programs into WORK.  Never measures.
#
#   bench/setup.sh WORK
#
# Inputs are made again only when this script changes (WORK/.stamp).
set -eu

work=${1:?usage: bench/setup.sh WORK}
here=$(cd "$(dirname "$0")" && pwd)

# ---- packages -----------------------------------------------------------------
# heaptrack for the comparison (zstd compresses its trace as its own script
# does), GNU time for peak RSS, and the programs measured.
pkgs="heaptrack zstd time valgrind python3 sqlite3 gcc libc6-dev git xz-utils redis-server redis-tools"
missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "bench: missing Debian packages:$missing" >&2
		echo "bench: install them with: sudo apt-get install$missing" >&2
		exit 1
	fi
	echo "bench: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# The package lists are refreshed only when an install cannot find them.
	if ! apt-get install -y -qq --no-install-recommends $missing >&2; then
		apt-get update -qq >&2
		apt-get install -y -qq --no-install-recommends $missing >&2
	fi
fi
# redis-server's package starts a system service; the benchmark runs its own
# server on 127.0.0.1 and a free port, and never touches that one.

# ---- inputs -----------------------------------------------------------------
stamp=$(cksum <"$here/setup.sh")
if [ -f "$work/.stamp" ] && [ "$(cat "$work/.stamp")" = "$stamp" ]; then
	exit 0
fi
rm -rf "$work"
mkdir -p "$work"
echo "bench: generating inputs in $work" >&2

# CPython with PYTHONMALLOC=malloc: objects, dicts, strings, JSON, regular
# expressions and sorting; prints a digest so that runs can be compared.
cat >"$work/job.py" <<'EOF'
import hashlib, json, random, re
rng = random.Random(7)
records = []
for i in range(25000):
    records.append({"id": i, "name": "user%06d" % rng.randrange(10**6),
                    "tags": [rng.choice("abcdefgh") * rng.randrange(1, 6) for _ in range(3)],
                    "score": rng.random()})
text = json.dumps(records)
back = json.loads(text)
names = sorted({r["name"] for r in back})
hits = len(re.findall(r"user0\d+", text))
by_tag = {}
for r in back:
    for t in r["tags"]:
        by_tag.setdefault(t, []).append(r["id"])
print(len(back), len(names), hits, len(by_tag), hashlib.sha256(text.encode()).hexdigest()[:16])
EOF

# sqlite3: bulk inserts in one transaction, an index, then queries (groups,
# joins, sorts, LIKE, an update and a delete).
/usr/bin/python3 - "$work/job.sql" <<'EOF'
import random, sys
rng = random.Random(11)
with open(sys.argv[1], "w") as f:
    f.write("PRAGMA synchronous=OFF;\nPRAGMA journal_mode=MEMORY;\n")
    f.write("CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, kind INTEGER, price REAL, note TEXT);\n")
    f.write("CREATE TABLE kind(id INTEGER PRIMARY KEY, label TEXT);\n")
    f.write("BEGIN;\n")
    for k in range(50):
        f.write("INSERT INTO kind VALUES(%d, 'kind-%d');\n" % (k, k))
    for i in range(60000):
        f.write("INSERT INTO item(name, kind, price, note) VALUES('item-%07d', %d, %.2f, '%s');\n"
                % (rng.randrange(10**7), rng.randrange(50), rng.random() * 1000,
                   "".join(rng.choice("abcdefghij ") for _ in range(rng.randrange(8, 40)))))
    f.write("COMMIT;\n")
    f.write("CREATE INDEX item_kind ON item(kind);\nCREATE INDEX item_name ON item(name);\n")
    f.write("SELECT kind, count(*), round(avg(price), 2) FROM item GROUP BY kind ORDER BY kind LIMIT 5;\n")
    f.write("SELECT k.label, count(*) FROM item i JOIN kind k ON i.kind = k.id WHERE i.note LIKE '%abc%' GROUP BY k.label ORDER BY 2 DESC LIMIT 5;\n")
    f.write("SELECT name, price FROM item ORDER BY price DESC, name LIMIT 5;\n")
    f.write("SELECT count(DISTINCT substr(name, 1, 8)) FROM item;\n")
    f.write("UPDATE item SET price = price * 1.1 WHERE kind % 3 = 0;\n")
    f.write("DELETE FROM item WHERE kind % 7 = 0;\n")
    f.write("SELECT count(*), round(sum(price), 2) FROM item;\n")
EOF

# gcc -O2: one generated translation unit with structs, loops, switches and
# string handling, enough for cc1 to work about a second.
/usr/bin/python3 - "$work/gen.c" <<'EOF'
import sys
n = 50
with open(sys.argv[1], "w") as f:
    f.write("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n")
    f.write("struct node { int key; double w; char name[16]; struct node *next; };\n")
    for i in range(n):
        f.write(f"""
static int helper{i}(struct node *h, int x)
{{
	int acc = {i};
	for (struct node *p = h; p; p = p->next) {{
		switch ((p->key + x) % 5) {{
		case 0: acc += p->key * {i % 7 + 1}; break;
		case 1: acc ^= (int)(p->w * {i + 1}); break;
		case 2: acc -= (int)strlen(p->name); break;
		case 3: acc += snprintf(p->name, sizeof p->name, "n%d", acc & {i | 1}); break;
		default: acc = acc * 31 + x;
		}}
	}}
	return acc;
}}

int work{i}(int x)
{{
	struct node *h = NULL;
	for (int k = 0; k < {i % 13 + 3}; k++) {{
		struct node *p = malloc(sizeof *p);
		if (!p) return -1;
		p->key = k * x + {i};
		p->w = k / {i + 1}.0;
		memcpy(p->name, "abcdefghijklmno", 16);
		p->next = h;
		h = p;
	}}
	int r = helper{i}(h, x) + (x > 0 ? work{max(i - 1, 0)}(x - 1) : 0);
	while (h) {{ struct node *n = h->next; free(h); h = n; }}
	return r;
}}
""")
EOF

# git log -p: a repository of 1200 commits over 40 files, made with
# fast-import at fixed dates so that every object id is the same each time.
/usr/bin/python3 - "$work/git.fi" <<'EOF'
import random, sys
rng = random.Random(3)
files = {"src/f%02d.txt" % i: ["line %d of file %d" % (j, i) for j in range(200)] for i in range(40)}
with open(sys.argv[1], "w") as f:
    for c in range(1200):
        changed = rng.sample(sorted(files), 4)
        for name in changed:
            lines = files[name]
            for _ in range(rng.randrange(2, 12)):
                k = rng.randrange(len(lines))
                if rng.random() < 0.5:
                    lines[k] = "changed %d in commit %d: %s" % (k, c, "x" * rng.randrange(50))
                else:
                    lines.insert(k, "inserted in commit %d" % c)
        msg = "commit %d\n" % c
        f.write("commit refs/heads/main\nmark :%d\n" % (c + 1))
        f.write("author Bench <bench@example.org> %d +0000\n" % (1700000000 + c * 60))
        f.write("committer Bench <bench@example.org> %d +0000\n" % (1700000000 + c * 60))
        f.write("data %d\n%s" % (len(msg), msg))
        if c:
            f.write("from :%d\n" % c)
        for name in (sorted(files) if c == 0 else sorted(changed)):
            lines = files[name]
            body = "\n".join(lines) + "\n"
            f.write("M 100644 inline %s\ndata %d\n%s" % (name, len(body.encode()), body))
        f.write("\n")
EOF
git init -q --bare "$work/repo.git"
GIT_CONFIG_NOSYSTEM=1 HOME=$work git -C "$work/repo.git" fast-import --quiet <"$work/git.fi"
git -C "$work/repo.git" symbolic-ref HEAD refs/heads/main
git -C "$work/repo.git" gc -q
rm -f "$work/git.fi"

# xz -T2: 12 MB of text-like data, compressible but not trivially, so both
# threads get blocks.
/usr/bin/python3 - "$work/data" <<'EOF'
import random, sys
rng = random.Random(5)
words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(2, 10))) for _ in range(5000)]
with open(sys.argv[1], "w") as f:
    size = 0
    while size < 12 * 1000 * 1000:
        line = " ".join(rng.choice(words) for _ in range(12)) + " %d\n" % rng.randrange(10**9)
        f.write(line)
        size += len(line)
EOF

echo "$stamp" >"$work/.stamp"
