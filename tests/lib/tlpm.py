"""Helpers for process-level tests: run build/tlpmesh, make nodes in temp dirs, wait with deadlines.

Used by the tests/test_*.py scripts that ctest runs with Debian's /usr/bin/python3.
"""
import http.client
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("TLPMESH_BIN", os.path.join(os.path.dirname(__file__), "../../build/tlpmesh"))
SOURCE = os.path.join(os.path.dirname(__file__), "../..")
DATA = os.environ.get("TLPMESH_DATA_DIR", os.path.join(os.path.dirname(__file__), "../data"))


class Result:
    def __init__(self, p):
        self.rc = p.returncode
        self.out = p.stdout
        self.err = p.stderr

    def json_lines(self):
        return [json.loads(l) for l in self.out.splitlines() if l.strip()]

    def __repr__(self):
        return f"rc={self.rc} out={self.out!r} err={self.err!r}"


def tlpmesh(*args, timeout=120, stdin=None):
    """One CLI run; timeout is its deadline: generous, since a command that commits waits for
    fsync, which on a loaded machine's shared disk took 12 s (restore, load 44)."""
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                       input=stdin)
    return Result(p)


def wait_for(pred, timeout=15.0, interval=0.05, what="condition"):
    """Polls pred() until it returns a truthy value or the deadline passes (then raises)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class TempDir:
    def __init__(self, prefix="tlpmesh-test."):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def join(self, *p):
        return os.path.join(self.path, *p)

    def cleanup(self):
        subprocess.run(["rm", "-rf", self.path])


def init_node(tmp, name, org, network="test-mesh", listen=None):
    """Creates a node with `tlpmesh init`; returns (config path, public key)."""
    args = ["init", tmp.join(name), "--org", org, "--network", network]
    if listen:
        args += ["--listen", listen]
    r = tlpmesh(*args)
    assert r.rc == 0, r
    lines = dict(l.split(None, 1) for l in r.out.splitlines())
    return lines["config"].strip(), lines["public"].strip()


class NodeTest(unittest.TestCase):
    """A test case that starts each test with a fresh temp dir holding one node "a" of ORG
    (self.tmp, self.conf, self.pub) and removes it afterwards. A subclass whose assertions name
    the organisation sets ORG."""

    ORG = "CERT-A"

    def setUp(self):
        self.tmp = TempDir()
        self.conf, self.pub = init_node(self.tmp, "a", self.ORG)

    def tearDown(self):
        self.tmp.cleanup()


def store_snapshot(conf):
    """Every record of a node, as `list --all --json` shows it: compare before/after bad input."""
    r = tlpmesh("list", "-c", conf, "--all", "--json")
    return r.rc, r.out


def free_port():
    """A TCP port on 127.0.0.1 that nothing uses now, below the kernel's ephemeral range: a port
    from that range (what binding port 0 gives) can meanwhile become the local end of any
    process's outgoing connection, and then the node's listen fails with "address already in
    use" (under load, with many connections being made, tests failed so). Another test may
    still pick the same port; Mesh.start moves a node that lost one."""
    import random
    import socket
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral = int(f.read().split()[0])
    low = 10000 if ephemeral > 11000 else 1024
    for _ in range(1000):
        port = random.randrange(low, ephemeral)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {low}..{ephemeral - 1}")


def add_http(conf, port, clients, extra=""):
    """Appends an [HTTP] section on 127.0.0.1:port (plus extra lines) and a [Client] per
    (name, organisation, secret, max_tlp or None[, console role: reader|publisher]) to the
    config conf."""
    text = f"\n[HTTP]\nListen = 127.0.0.1:{port}\n{extra}"
    for name, org, secret, max_tlp, *console in clients:
        text += f"\n[Client]\nName = {name}\nOrganisation = {org}\nSecret = {secret}\n"
        if max_tlp:
            text += f"MaxTLP = {max_tlp}\n"
        if console:
            text += f"Console = {console[0]}\n"
    with open(conf, "a") as f:
        f.write(text)


class HttpAnswer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"HTTP {self.status} {dict(self.headers)!r} {self.body[:300]!r}"


def http_request(port, method, path, headers=None, body=None, src="127.0.0.1", timeout=10):
    """One request to 127.0.0.1:port on a connection of its own from source address src (each
    127.0.0.x is a client of its own to per-address limits): its HttpAnswer, body read."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(src, 0))
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return HttpAnswer(r.status, r.headers, r.read())
    finally:
        c.close()


def limit(name):
    """The value of name (LIMIT_...) in proto/limits.h: tests take bounds from there, not a copy."""
    with open(os.path.join(SOURCE, "proto/limits.h")) as f:
        m = re.search(rf"\b{name}\s*=\s*([0-9 *<()+]+),", f.read())
    assert m, f"{name} not in proto/limits.h"
    return eval(m.group(1), {"__builtins__": {}})  # digits and * << + only (the regex)
