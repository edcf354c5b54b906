#!/usr/bin/python3
"""bench/http_stall.py [--bin BUILD/tlpmesh] [--base OTHER/tlpmesh] [--records N] [--readers K]
[--seconds S] [--kinds objects,match-id,misp] [--dir DIR] - does a heavy TAXII reader stall the
node's loop? (issue 12 point 3)

One node with N records (default 200,000: 100 CLEAR domains, then N AMBER ones). K threads
(default 8) ask TAXII pages that are heavy for the node, over and over, for S seconds:
  - objects/ as a CLEAR-only reader: the gate refuses almost every record, so one page examines
    up to LIMIT_TAXII_SCAN_RECORDS of them;
  - match[id] for one id (the id index makes this cheap; a scan of the store did not);
  - with --kinds ...,misp: the MISP feed's manifest.json (a walk of the whole store).
Reader i asks the kind i modulo the number of kinds (default objects,match-id).
Meanwhile a probe asks /healthz, which the loop thread answers itself, every 20 ms: its latency
is the loop's lag plus a loopback round trip. Printed: the probe's p50/p99/max quiet and under
the readers, as ratios to the quiet p50, and the pages per second the readers got. With --base,
the same store is then served by that binary (e.g. /tmp/base/tlpmesh, main before the change) for
a comparison in the same run. --dir keeps the node (and its store) there, and reuses it when it
exists. Not a test: nothing is asserted.
"""
import argparse
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time


SECRET = "bench-secret-0123456789ab"
CLEAR_ONLY = "Basic " + base64.b64encode(f"clearonly:{SECRET}".encode()).decode()
TAXII = "application/taxii+json;version=2.1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, auth=None, timeout=120):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Accept": TAXII, **({"Authorization": auth} if auth
                                                             else {})})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def make_node(binary, tmp, records):
    conf = os.path.join(tmp, "n", "tlpmesh.conf")
    if os.path.exists(conf):
        with open(conf) as f:
            return conf, int(f.read().split("[HTTP]\nListen = 127.0.0.1:")[1].split()[0])
    r = subprocess.run([binary, "init", os.path.join(tmp, "n"), "--org", "CERT-A", "--network",
                        "bench"], capture_output=True, text=True, check=True)
    conf = dict(l.split(None, 1) for l in r.stdout.splitlines())["config"].strip()
    port = free_port()
    with open(conf, "a") as f:
        f.write(f"\n[HTTP]\nListen = 127.0.0.1:{port}\n"
                f"\n[Client]\nName = clearonly\nOrganisation = CERT-C\nSecret = {SECRET}\n"
                f"MaxTLP = clear\n")
    for tlp, n, stem in (("clear", 100, "clear"), ("amber", records, "amber")):
        path = os.path.join(tmp, f"{tlp}.txt")
        with open(path, "w") as f:
            for i in range(n):
                f.write(f"{stem}{i}.example.net\n")
        subprocess.run([binary, "import", "-c", conf, "--format", "text", "--type", "domain",
                        path, "--tlp", tlp], capture_output=True, check=True, timeout=3600)
    return conf, port


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def probe(port, seconds):
    lat, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        t = time.monotonic()
        st, _ = get(port, "/healthz", timeout=30)
        lat.append((time.monotonic() - t) * 1000)
        assert st == 200
        time.sleep(0.02)
    return lat


def measure(binary, conf, port, readers, seconds, kinds):
    proc = subprocess.Popen([binary, "run", "-c", conf], stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                if get(port, "/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        st, body = get(port, "/tlpmesh/collections/", CLEAR_ONLY)
        coll = f"/tlpmesh/collections/{json.loads(body)['collections'][0]['id']}/"
        st, body = get(port, coll + "objects/?limit=1", CLEAR_ONLY)
        one = [o["id"] for o in json.loads(body)["objects"] if o["type"] == "indicator"][0]
        get(port, "/metrics", CLEAR_ONLY)  # the first scrape counts every record: not measured
        quiet = probe(port, min(seconds, 5))
        stop, pages = threading.Event(), [0]

        paths = {"objects": coll + "objects/?limit=1000",
                 "match-id": coll + f"objects/?match[id]={one}",
                 "misp": "/misp/feed/manifest.json"}

        def reader(i):
            path = paths[kinds[i % len(kinds)]]
            while not stop.is_set():
                if get(port, path, CLEAR_ONLY)[0] == 200:
                    pages[0] += 1
                else:
                    stop.wait(0.1)  # a binary without this resource: do not spin

        threads = [threading.Thread(target=reader, args=(i,), daemon=True)
                   for i in range(readers)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        loaded = probe(port, seconds)
        stop.set()
        for t in threads:
            t.join(timeout=300)
        rate = pages[0] / (time.monotonic() - t0)
        return quiet, loaded, rate
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def report(name, quiet, loaded, rate):
    q50 = percentile(quiet, 0.5)
    print(f"{name}: /healthz latency quiet p50 {q50:.2f} ms p99 {percentile(quiet, 0.99):.2f} ms;"
          f" under heavy TAXII readers p50 {percentile(loaded, 0.5):.2f} ms"
          f" ({percentile(loaded, 0.5) / q50:.1f}x) p99 {percentile(loaded, 0.99):.2f} ms"
          f" ({percentile(loaded, 0.99) / q50:.1f}x) max {max(loaded):.1f} ms"
          f" ({max(loaded) / q50:.0f}x); {len(loaded)} probes; {rate:.1f} TAXII pages/s")


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bin", default=os.path.join(here, "../build/tlpmesh"))
    ap.add_argument("--base")
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--readers", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--kinds", default="objects,match-id")
    ap.add_argument("--dir")
    a = ap.parse_args()
    kinds = a.kinds.split(",")
    with tempfile.TemporaryDirectory(prefix="tlpmesh-bench.") as tmp:
        if a.dir:
            os.makedirs(a.dir, exist_ok=True)
        where = a.dir or tmp
        t = time.monotonic()
        conf, port = make_node(a.bin, where, a.records)
        print(f"store: {a.records + 100} records ready in {time.monotonic() - t:.0f} s;"
              f" {a.readers} readers ({','.join(kinds)}), {a.seconds:.0f} s")
        report(a.bin, *measure(a.bin, conf, port, a.readers, a.seconds, kinds))
        if a.base:
            report(a.base, *measure(a.base, conf, port, a.readers, a.seconds, kinds))


if __name__ == "__main__":
    main()
