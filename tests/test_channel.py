#!/usr/bin/python3
"""test_channel.py - the secure channel between real `tlpmesh run` processes.

Two or three nodes on 127.0.0.1, configs written with `tlpmesh init` and `tlpmesh peer add`.
Every wait polls `tlpmesh status --json` (or the log) against a deadline; nothing sleeps for
synchronisation. A third-party Noise implementation (dissononce, Debian's python3-dissononce)
plays initiator to check the wire format against something that is not our own code.
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import noisepeer  # noqa: E402
from tlpm import free_port  # noqa: E402

BIN = os.environ["TLPMESH_BIN"]
DEADLINE_S = 20.0
ALL_NODES = []  # killed on the way out, whatever failed


def tlpmesh(*args, check=True):
    r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"tlpmesh {' '.join(args)} -> {r.returncode}: {r.stderr}")
    return r


def wait_for(what, pred):
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)  # polling interval, not synchronisation: the predicate decides
    raise AssertionError(f"timed out waiting for {what}")


class Node:
    def __init__(self, root, name, network="test-mesh"):
        self.dir = os.path.join(root, name)
        self.port = free_port()
        tlpmesh("init", self.dir, "--org", name.upper(), "--network", network,
                "--listen", f"127.0.0.1:{self.port}")
        self.conf = os.path.join(self.dir, "tlpmesh.conf")
        self.key = tlpmesh("pubkey", os.path.join(self.dir, "node.key")).stdout.strip()
        self.log = os.path.join(self.dir, "node.log")
        self.proc = None
        ALL_NODES.append(self)

    def allow(self, other, dial=True):
        args = ["peer", "add", "-c", self.conf, "--key", other.key, "--org", other.dir[-1].upper()]
        if dial:
            args += ["--endpoint", f"127.0.0.1:{other.port}"]
        tlpmesh(*args)

    def allow_key(self, key):
        tlpmesh("peer", "add", "-c", self.conf, "--key", key, "--org", "PY")

    def start(self):
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([BIN, "run", "-c", self.conf], stderr=self.logf)
        wait_for(f"{self.dir} control socket", lambda: self.status_or_none() is not None)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=DEADLINE_S) == 0, "node exit code"
        self.proc = None
        if hasattr(self, "logf"):
            self.logf.close()

    def status_or_none(self):
        r = tlpmesh("status", "-c", self.conf, "--json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def peer(self, key):
        st = self.status_or_none() or {"peers": []}
        return next((p for p in st["peers"] if p["key"] == key), None)

    def connected_to(self, other_key):
        p = self.peer(other_key)
        return p if p and p["state"] == "connected" else None

    def log_text(self):
        with open(self.log) as f:
            return f.read()


def pair(root, net_b="test-mesh"):
    a, b = Node(root, "a"), Node(root, "b", net_b)
    a.allow(b)
    b.allow(a)
    return a, b


def test_connect_and_restart(root):
    a, b = pair(root)
    a.start()
    b.start()
    wait_for("a sees b", lambda: a.connected_to(b.key))
    wait_for("b sees a", lambda: b.connected_to(a.key))
    b.stop()
    wait_for("a logs b's goodbye", lambda: "closed by peer (shutdown)" in a.log_text())
    b.start()
    wait_for("restarted b reconnected", lambda: a.connected_to(b.key) and b.connected_to(a.key))
    return a, b


def test_unknown_key_refused(root):
    a, c = Node(root, "x"), Node(root, "c")
    c.allow(a)  # c dials a, but a does not know c
    a.start()
    c.start()
    wait_for("refusal logged", lambda: f"refused peer={c.key}" in a.log_text())
    assert "key is not an allowed peer" in a.log_text()
    assert c.peer(a.key)["state"] != "connected"
    a.stop()
    c.stop()


def test_other_network_refused(root):
    a, b = pair(root, net_b="other-mesh")
    a.start()
    b.start()
    wait_for("handshake failure logged",
             lambda: "handshake failed (different network" in a.log_text() + b.log_text())
    assert not a.connected_to(b.key) and not b.connected_to(a.key)
    a.stop()
    b.stop()


def test_abuse_does_not_disturb(a, b):
    before = a.connected_to(b.key)["sessions"]
    with socket.create_connection(("127.0.0.1", a.port)) as s:
        s.sendall(os.urandom(4000))
        wait_for("garbage connection closed", lambda: s.recv(1 << 16) == b"")
    silent = socket.create_connection(("127.0.0.1", a.port))
    silent.sendall(b"\x00\x20" + os.urandom(32))
    half = []
    for _ in range(100):
        try:
            half.append(socket.create_connection(("127.0.0.1", a.port), timeout=2))
        except OSError:
            pass
    wait_for("half-open connections counted",
             lambda: a.status_or_none()["counters"]["refused_rate"] > 0)
    assert a.connected_to(b.key)["sessions"] == before, "same session, never dropped"
    assert b.connected_to(a.key)
    for s in half:
        s.close()
    silent.close()


def test_dissononce(root, a):
    allowed, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    pk = allowed.public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
    a.allow_key(base64.b64encode(pk).decode())
    r = tlpmesh("peer", "add", "-c", a.conf, "--key", base64.b64encode(os.urandom(32)).decode(),
                "--org", "Z", check=False)  # also exercises reload of a running node
    assert r.returncode == 0, r.stderr
    wait_for("reload took the python key",
             lambda: a.peer(base64.b64encode(pk).decode()) is not None)
    assert noisepeer.initiator(a.port, a.key, allowed), "allowed key completes the handshake"
    assert not noisepeer.initiator(a.port, a.key, stranger), "unknown key is refused"


def teardown(root):
    """Kills every node a test of this kind started and removes root (kept when KEEP is set)."""
    for n in ALL_NODES:
        if n.proc and n.proc.poll() is None:
            n.proc.kill()
    if os.environ.get("KEEP") is None:
        shutil.rmtree(root, ignore_errors=True)


def main():
    root = tempfile.mkdtemp(prefix="test_channel.")
    try:
        a, b = test_connect_and_restart(root)
        test_dissononce(root, a)
        test_abuse_does_not_disturb(a, b)
        a.stop()
        b.stop()
        for sub in ("u", "n"):
            os.mkdir(os.path.join(root, sub))
        test_unknown_key_refused(os.path.join(root, "u"))
        test_other_network_refused(os.path.join(root, "n"))
        print("test_channel: ok")
    finally:
        teardown(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
