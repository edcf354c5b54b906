#!/usr/bin/env python3
"""bench/importbench.py MODE BUILD_DIR - `tlpmesh import` figures for scripts/bench (issue 15
point 4), run by bench/figures.d/import.sh.

In one run: the raw Ed25519 sign rate of one core (tlpmesh-bench), then `tlpmesh import` of N
distinct domains (quick: 200,000; full: 1,000,000) into a fresh node. Prints
  import_per_s                    values imported per second of the import process' wall time
  import_ratio                    import_per_s / (cores x raw sign), at least 0.4
  import_write_bytes_per_record   /proc/PID/io write_bytes of the import / records stored, at
                                  most 2 KiB (read from the exited, not yet reaped process, so
                                  the last commit counts)
  store_disk_ratio                bytes of the store file / bytes of the signed records it
                                  holds (issue 15 point 3: at most 2.0); the signed sizes are
                                  read with mdb_dump (lmdb-utils) from the log table, whose
                                  values are added_us (8 bytes) || id (32) || signed record
  store_log_bytes_per_record      where the store file's bytes go (mdb_stat -nefa after the
  store_index_bytes_per_record    import), per record: the log's pages, the index trees' pages
  store_free_bytes_per_record     (ids, byvalue, bytime, expiry, ...), and the pages the file
                                  holds that no tree uses (LMDB's free list: copies a commit
                                  replaced, reused by later writes), each x page size / records
On stderr, the table behind them: per database its branch, leaf and overflow pages, entries,
depth, entries per leaf and bytes per record; the free list; the file's pages against the pages
LMDB has used (its last page number + 1).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from rawrates import raw_rates

N = {"quick": 200_000, "full": 1_000_000}


def die(msg):
    print(f"bench/importbench.py: {msg}", file=sys.stderr)
    sys.exit(1)


def import_run(build, n, tmp):
    bin_ = os.path.join(build, "tlpmesh")
    node = os.path.join(tmp, "node")
    r = subprocess.run([bin_, "init", node, "--org", "Bench", "--network", "bench"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        die(f"tlpmesh init failed: {r.stderr.strip()}")
    values = os.path.join(tmp, "values.txt")
    with open(values, "w") as f:
        f.writelines(f"h{i}.bench{i % 97}.example\n" for i in range(n))
    t0 = time.monotonic()
    p = subprocess.Popen([bin_, "import", "-c", os.path.join(node, "tlpmesh.conf"), "--format",
                          "text", "--type", "domain", "--tlp", "green", "--json", values],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)  # exited, still readable
    secs = time.monotonic() - t0
    with open(f"/proc/{p.pid}/io") as f:
        io = dict(l.split(": ") for l in f.read().splitlines())
    out, err = p.communicate()
    if p.returncode != 0:
        die(f"tlpmesh import failed ({p.returncode}): {err.decode().strip()[-300:]}")
    imported = json.loads(out)["imported"]
    if imported != n:
        die(f"tlpmesh import stored {imported} of {n} values")
    store = os.path.join(node, "data", "store.mdb")
    return n / secs, int(io["write_bytes"]) / n, store, signed_bytes(store)


def store_layout(store):
    """mdb_stat -nefa of the store: (environment and free-list fields, {db: its fields})."""
    r = subprocess.run(["mdb_stat", "-nefa", store], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"mdb_stat of {store} failed: {r.stderr.strip()}")
    env, dbs, cur = {}, {}, None
    for line in r.stdout.splitlines():
        if line.startswith("Status of "):
            cur = dbs.setdefault(line[len("Status of "):].strip(), {})
        elif line.startswith("Freelist Status"):
            cur = env.setdefault("freelist", {})
        elif not line.startswith(" "):
            cur = env
        elif ":" in line:
            k, v = line.strip().split(":", 1)
            try:
                cur[k] = int(v)
            except ValueError:
                pass
    return env, dbs


def disk_breakdown(store, n):
    """Prints where the store file's bytes go (stderr); returns bytes per record of the log, of
    the other trees and of the pages no tree uses."""
    env, dbs = store_layout(store)
    psize = env["Page size"]
    file_pages = os.path.getsize(store) // psize
    free = env["freelist"]
    fl_pages = free["Branch pages"] + free["Leaf pages"] + free["Overflow pages"]
    print(f"store file: {file_pages} pages of {psize} B, {env['Number of pages used']} used by "
          f"LMDB (last page + 1), free list {free['Free pages']} free pages in {fl_pages} pages, "
          f"{n} records", file=sys.stderr)
    print(f"{'db':<12} {'depth':>5} {'branch':>7} {'leaf':>8} {'overflow':>8} {'entries':>9} "
          f"{'per leaf':>8} {'B/record':>8}", file=sys.stderr)
    tree = {}
    for name, d in sorted(dbs.items()):
        pages = d["Branch pages"] + d["Leaf pages"] + d["Overflow pages"]
        if pages == 0:
            continue
        tree[name] = pages
        per_leaf = d["Entries"] / d["Leaf pages"] if d["Leaf pages"] else 0
        print(f"{name:<12} {d['Tree depth']:>5} {d['Branch pages']:>7} {d['Leaf pages']:>8} "
              f"{d['Overflow pages']:>8} {d['Entries']:>9} {per_leaf:>8.1f} "
              f"{pages * psize / n:>8.1f}", file=sys.stderr)
    # the main DB holds the named ones; the meta pages are LMDB's two headers
    used = sum(tree.values()) + fl_pages + 2
    unused = file_pages - used
    print(f"{'free':<12} {'':>5} {'':>7} {'':>8} {'':>8} {'':>9} {'':>8} "
          f"{unused * psize / n:>8.1f}  ({unused} pages: {free['Free pages']} on the free "
          f"list, {unused - free['Free pages']} past the last used)", file=sys.stderr)
    log = tree.get("log", 0)
    return (log * psize / n, (used - log) * psize / n, unused * psize / n)


def signed_bytes(store):
    """Sum of the signed records' sizes in the log table (hex value lines of mdb_dump; a pruned
    record's value is its 8-byte arrival time alone)."""
    p = subprocess.Popen(["mdb_dump", "-n", "-s", "log", store], stdout=subprocess.PIPE,
                         text=True)
    total, body, is_val = 0, False, False
    for line in p.stdout:
        if line.startswith("HEADER=END"):
            body = True
        elif body and line.startswith(" "):
            if is_val and len(line.strip()) // 2 > 8:
                total += len(line.strip()) // 2 - 40
            is_val = not is_val
    if p.wait() != 0 or total == 0:
        die(f"mdb_dump of {store} failed or found no records")
    return total


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in N:
        die("usage: importbench.py quick|full BUILD_DIR")
    mode, build = sys.argv[1], sys.argv[2]
    cores, _, sign = raw_rates(build, "bench/importbench.py")
    with tempfile.TemporaryDirectory(prefix="tlpmesh-importbench.") as tmp:
        per_s, wb, store, signed = import_run(build, N[mode], tmp)
        disk = os.path.getsize(store) / signed
        log_b, index_b, free_b = disk_breakdown(store, N[mode])
    print(json.dumps({
        "import_per_s": {"value": round(per_s), "limit": None, "sense": "min"},
        "import_ratio": {"value": round(per_s / (cores * sign), 3), "limit": 0.4,
                         "sense": "min"},
        "import_write_bytes_per_record": {"value": round(wb), "limit": 2048, "sense": "max"},
        "store_disk_ratio": {"value": round(disk, 2), "limit": 2.0, "sense": "max"},
        "store_log_bytes_per_record": {"value": round(log_b), "limit": None, "sense": "max"},
        "store_index_bytes_per_record": {"value": round(index_b), "limit": None,
                                         "sense": "max"},
        "store_free_bytes_per_record": {"value": round(free_b), "limit": None, "sense": "max"},
    }))


if __name__ == "__main__":
    main()
