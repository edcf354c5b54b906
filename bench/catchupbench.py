#!/usr/bin/env python3
"""bench/catchupbench.py MODE BUILD_DIR [N] - a new partner's catch-up for scripts/bench (issue 14
point 2), run by bench/figures.d/catchup.sh.

Node A holds N indicators (quick: 50,000; full: 1,000,000; `tlpmesh import` of distinct domains,
TLP:GREEN). Importing is far slower than catching up, so A's node directory is built once and kept
as a fixture in BUILD_DIR/bench-fixtures/catchup-N (rebuilt when a day old, so no record ages
past what a receiver accepts); each run copies it. A fresh node B is made A's partner (max TLP
red, B dials A) and both run as real `tlpmesh run` processes on 127.0.0.1. From B's start, B's
`tlpmesh status --json` (gossip.stored: records received new from peers) is polled until it
holds all N, with a deadline. The raw verify rate comes from tlpmesh-bench in the same run
(bench/rawrates.py). Prints
  catchup_records             N
  catchup_s                   seconds from B's start until B has stored all N
  catchup_raw_verify_per_s    the one-core raw verify rate the next figures divide by
  catchup_limit_s             N / (cores x raw verify)
  catchup_over_limit          catchup_s / catchup_limit_s, at most 1.25
  catchup_ingest_per_s        B's records/s while it went from 10 % to 90 % of N
  catchup_ingest_over_verify  catchup_ingest_per_s / (cores x raw verify), at least 0.8
  catchup_write_bytes_per_record  B's /proc/PID/io write_bytes once it holds N / N, at most
                              2 KiB (issue 15 point 4: ingest from a peer)
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from rawrates import raw_rates

N = {"quick": 50_000, "full": 1_000_000}
FIXTURE_MAX_AGE_S = 86400
POLL_S = 0.25


def die(msg):
    print(f"bench/catchupbench.py: {msg}", file=sys.stderr)
    sys.exit(1)


def tlpmesh(bin_, *args):
    r = subprocess.run([bin_, *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"tlpmesh {' '.join(map(str, args))}: {r.stderr.strip()[-300:]}")
    return r.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_fixture(bin_, n, path):
    """A's node directory with n indicators of its own, built under a temporary name first."""
    tmp = path + ".building"
    shutil.rmtree(tmp, ignore_errors=True)
    tlpmesh(bin_, "init", tmp, "--org", "A", "--network", "bench-catchup")
    values = os.path.join(tmp, "values.txt")
    with open(values, "w") as f:
        f.writelines(f"c{i}.catchup{i % 89}.example\n" for i in range(n))
    got = json.loads(tlpmesh(bin_, "import", "-c", os.path.join(tmp, "tlpmesh.conf"), "--format",
                             "text", "--type", "domain", "--tlp", "green", "--json", values))
    if got["imported"] != n:
        die(f"tlpmesh import stored {got['imported']} of {n} values")
    os.remove(values)
    shutil.rmtree(path, ignore_errors=True)
    os.rename(tmp, path)


def fixture(bin_, build, n):
    path = os.path.join(build, "bench-fixtures", f"catchup-{n}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    conf = os.path.join(path, "tlpmesh.conf")
    if not os.path.exists(conf) or time.time() - os.path.getmtime(conf) > FIXTURE_MAX_AGE_S:
        build_fixture(bin_, n, path)
    return path


def set_listen(conf, port):
    """The fixture's node listens on a port free now (on `tlpmesh init`'s Listen line)."""
    with open(conf) as f:
        text = f.read()
    text, n = re.subn(r"^(# )?Listen = .*$", f"Listen = 127.0.0.1:{port}", text, count=1,
                      flags=re.M)
    if n != 1:
        die(f"{conf}: no Listen line")
    with open(conf, "w") as f:
        f.write(text)


def status(bin_, conf):
    r = subprocess.run([bin_, "status", "-c", conf, "--json"], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else None


COUNTERS = ("recon_rounds", "records_sent", "duplicates", "dropped_overload", "want_out",
            "skipped_backlog")


def peer_counters(st):
    """Where the time went, for stderr: the counters of each peer's gossip that a catch-up
    slower than its limit shows in (rounds, pushes, drops, refetches)."""
    if not st:
        return "no status"
    return "; ".join(" ".join(f"{k}={p['gossip'].get(k)}" for k in COUNTERS)
                     for p in st.get("peers", []) if "gossip" in p)


def wait_for(what, pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(POLL_S)
    die(f"timed out after {timeout:.0f} s waiting for {what}")


def write_bytes(pid):
    """What the process has had written to the block device so far (/proc/PID/io)."""
    with open(f"/proc/{pid}/io") as f:
        return int(dict(l.split(": ") for l in f.read().splitlines())["write_bytes"])


def catch_up(bin_, src, n, tmp, limit_s):
    """(seconds from B's start to B holding n, B's records/s from 10 % to 90 % of n, B's
    write_bytes per record once it holds them)."""
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    shutil.copytree(src, a)
    a_conf, b_conf = os.path.join(a, "tlpmesh.conf"), os.path.join(b, "tlpmesh.conf")
    a_port = free_port()
    set_listen(a_conf, a_port)
    tlpmesh(bin_, "init", b, "--org", "B", "--network", "bench-catchup", "--listen",
            f"127.0.0.1:{free_port()}")
    a_key = tlpmesh(bin_, "pubkey", os.path.join(a, "node.key")).strip()
    b_key = tlpmesh(bin_, "pubkey", os.path.join(b, "node.key")).strip()
    tlpmesh(bin_, "peer", "add", "-c", a_conf, "--key", b_key, "--org", "B", "--max-tlp", "red")
    tlpmesh(bin_, "peer", "add", "-c", b_conf, "--key", a_key, "--org", "A", "--max-tlp", "red",
            "--endpoint", f"127.0.0.1:{a_port}")
    procs = []
    try:
        for d, conf in ((a, a_conf), (b, b_conf)):
            log = open(os.path.join(d, "node.log"), "a")
            t0 = time.monotonic()
            procs.append(subprocess.Popen([bin_, "run", "-c", conf], stderr=log))
            wait_for(f"{d} up", lambda: status(bin_, conf), 120)
        marks = {}

        def stored_all():
            st = status(bin_, b_conf)
            got = st["gossip"]["stored"] if st else 0
            now = time.monotonic()
            for frac in (0.1, 0.9):
                if got >= frac * n and frac not in marks:
                    marks[frac] = (now, got)
            return got >= n and now

        done = wait_for(f"B holding {n} records", stored_all, 60 + 20 * limit_s)
        wb = write_bytes(procs[1].pid) / n
        (t1, s1), (t9, s9) = marks[0.1], marks[0.9]
        for name, conf in (("A", a_conf), ("B", b_conf)):
            print(f"bench/catchupbench.py: {name}: {peer_counters(status(bin_, conf))}",
                  file=sys.stderr)
        return done - t0, (s9 - s1) / (t9 - t1) if t9 > t1 else None, wb
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=60)


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in N:
        die("usage: catchupbench.py quick|full BUILD_DIR [N]")
    mode, build = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) == 4 else N[mode]
    bin_ = os.path.join(build, "tlpmesh")
    src = fixture(bin_, build, n)
    cores, verify, _ = raw_rates(build, "bench/catchupbench.py")
    limit_s = n / (cores * verify)
    with tempfile.TemporaryDirectory(prefix="tlpmesh-catchupbench.") as tmp:
        secs, ingest, wb = catch_up(bin_, src, n, tmp, limit_s)
    print(json.dumps({
        "catchup_records": {"value": n, "limit": None, "sense": None},
        "catchup_s": {"value": round(secs, 2), "limit": None, "sense": "max"},
        "catchup_raw_verify_per_s": {"value": round(verify), "limit": None, "sense": None},
        "catchup_limit_s": {"value": round(limit_s, 2), "limit": None, "sense": None},
        "catchup_over_limit": {"value": round(secs / limit_s, 3), "limit": 1.25, "sense": "max"},
        "catchup_ingest_per_s": {"value": ingest and round(ingest), "limit": None,
                                 "sense": "min"},
        "catchup_ingest_over_verify": {"value": ingest and round(ingest / (cores * verify), 3),
                                       "limit": 0.8, "sense": "min"},
        "catchup_write_bytes_per_record": {"value": round(wb), "limit": 2048, "sense": "max"},
    }))


if __name__ == "__main__":
    main()
