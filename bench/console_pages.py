#!/usr/bin/env python3
"""bench/console_pages.py - how long the console's pages take to answer (issue 16 point 1).

usage: bench/console_pages.py [--records N] [--peers P] [--rounds R] [--build DIR]

A node "hub" with N domain records (tlpmesh import, TLP green) and P running peers (each linked
with an outbound ceiling of clear, so that the records stay on the hub and the figures are of
the pages, not of a sync), and a publisher signed in to its console. Each page is fetched R
times, one request at a time; the table gives the median and the largest answer time in ms, and
the same less the median of GET /healthz (the HTTP round trip without a page): the record,
publish and peers pages are built on the loop thread, so that difference bounds how long each
holds the loop; the search page is built on the pool thread (http_job.c). Not a test: no limit,
no assertion, figures of this machine at this load.
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

ALICE = ("alice", "CERT-A", "alice-secret-0123456789", None, "publisher")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--peers", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    os.environ["TLPMESH_BIN"] = os.path.join(os.path.abspath(args.build), "tlpmesh")
    from mesh import Mesh
    from tlpm import add_http, free_port, http_request, tlpmesh, wait_for

    mesh = Mesh()
    try:
        hub = mesh.add("hub", "CERT-A")
        for i in range(args.peers):
            mesh.add(f"p{i}", f"ORG-{i}")
            mesh.link("hub", f"p{i}", ceiling_ab="clear", ceiling_ba="clear")
        port = free_port()
        add_http(hub.conf, port, [ALICE])
        values = os.path.join(mesh.tmp.path, "values.txt")
        with open(values, "w") as f:
            f.writelines(f"h{i}.bench{i % 97}.example\n" for i in range(args.records))
        t0 = time.monotonic()
        r = tlpmesh("import", "-c", hub.conf, "--format", "text", "--type", "domain", "--tlp",
                    "green", "--json", values, timeout=3600)
        assert r.rc == 0, r
        print(f"imported {args.records} records in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        mid = tlpmesh("publish", "-c", hub.conf, "--type", "domain", "--value",
                      "middle.bench.example", "--tlp", "green", "--json").out
        rid = re.search(r'"id":"([0-9a-f]{64})"', mid).group(1)
        mesh.start()
        mesh.wait_links()
        wait_for(lambda: http_request(port, "GET", "/healthz", timeout=300).status == 200,
                 timeout=600)

        jar = {}

        def req(method, path, form=None):
            h = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form).encode()
                h["Content-Type"] = "application/x-www-form-urlencoded"
            t = time.perf_counter()
            a = http_request(port, method, path, headers=h, body=body, timeout=120)
            ms = (time.perf_counter() - t) * 1000
            for c in a.headers.get_all("Set-Cookie") or []:
                name, _, rest = c.partition("=")
                jar[name] = rest.split(";")[0]
            return a, ms

        def csrf(path):
            a, _ = req("GET", path)
            return re.search(r'name="csrf" value="([0-9a-f]+)"', a.text).group(1)

        a, _ = req("POST", "/ui/login", {"user": ALICE[0], "password": ALICE[2],
                                          "csrf": csrf("/ui/login")})
        assert a.status == 303, a
        token = csrf("/ui/search")
        n = [0]

        def publish():
            n[0] += 1
            return req("POST", "/ui/publish", {"type": "domain", "tlp": "green", "csrf": token,
                                              "value": f"new{n[0]}.bench.example", "confirm": "1"})

        def revoke():
            a, _ = publish()
            return req("POST", a.headers["Location"] + "/revoke", {"reason": "bench",
                                                                  "csrf": token})

        pages = {
            "GET /healthz": lambda: req("GET", "/healthz"),
            "GET /ui/record/ID": lambda: req("GET", f"/ui/record/{rid}"),
            "GET /ui/publish": lambda: req("GET", "/ui/publish"),
            "POST /ui/publish": publish,
            "POST /ui/record/ID/revoke": revoke,
            "GET /ui/peers": lambda: req("GET", "/ui/peers"),
            "GET /ui/activity": lambda: req("GET", "/ui/activity"),
            "GET /ui/search?q=value (pool)": lambda: req("GET", "/ui/search?q=h7.bench7.example"),
        }
        rows = {}
        for name, fn in pages.items():
            times = []
            for _ in range(args.rounds):
                a, ms = fn()
                assert a.status in (200, 303), (name, a)
                times.append(ms)
            rows[name] = (statistics.median(times), max(times))
        base = rows["GET /healthz"][0]
        print(f"{args.records} records, {args.peers} peers connected, {args.rounds} rounds; "
              f"ms (less: minus the /healthz median {base:.2f} ms)")
        print(f"{'page':32} {'median':>8} {'max':>8} {'median less':>12} {'max less':>9}")
        for name, (med, mx) in rows.items():
            print(f"{name:32} {med:8.2f} {mx:8.2f} {med - base:12.2f} {mx - base:9.2f}")
        for nd in mesh.nodes.values():
            nd.stop()
    finally:
        mesh.close(False)


if __name__ == "__main__":
    main()
