"""Helpers for multi-node process tests: a mesh of real `tlpmesh run` processes on 127.0.0.1.

A Mesh owns a temp directory, its Nodes (each made with `tlpmesh init`) and their processes.
Links are made with `tlpmesh peer add` on both sides, so the configs are the ones an operator would
write. Every wait polls the nodes' CLI (`status --json`, `list --all --json`) against a deadline;
nothing sleeps for synchronisation. Mesh.close() kills every process it started, whatever failed,
and prints the tail of each node's log when the test failed.

Ports: `tlpmesh init --listen` needs a number, so a port is picked by tlpm.free_port (one that
binds now, below the ephemeral range, so no outgoing connection takes it). Another test may take
it before the node binds it; Mesh.start() notices the node's "address already in use" exit,
moves that node to a new port (its own Listen and every peer's Endpoint) and starts again.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from tlpm import BIN, TempDir, free_port, tlpmesh, wait_for  # noqa: E402

TLPS = ["clear", "green", "amber", "amber+strict", "red"]
DEADLINE_S = float(os.environ.get("TLPMESH_MESH_DEADLINE", "30"))
PORT_TRIES = 5


def ok(*args, **kw):
    """Runs tlpmesh and insists on exit 0."""
    r = tlpmesh(*args, **kw)
    if r.rc != 0:
        raise AssertionError(f"tlpmesh {' '.join(map(str, args))} -> {r!r}")
    return r


class Node:
    def __init__(self, mesh, name, org):
        self.mesh, self.name, self.org = mesh, name, org
        self.dir = mesh.tmp.join(name)
        self.port = mesh.fresh_port()
        r = ok("init", self.dir, "--org", org, "--network", mesh.network,
               "--listen", f"127.0.0.1:{self.port}")
        fields = dict(line.split(None, 1) for line in r.out.splitlines())
        self.conf, self.key = fields["config"].strip(), fields["public"].strip()
        self.log = os.path.join(self.dir, "node.log")
        self.proc = None
        self.peers = {}  # name -> dict(ceiling=, relation=) as this node's config says

    # --- config ---
    def add_peer(self, other, ceiling, relation="partner"):
        ok("peer", "add", "-c", self.conf, "--key", other.key, "--endpoint",
           f"127.0.0.1:{other.port}", "--org", other.org, "--max-tlp", ceiling,
           "--relation", relation, "--name", other.name)
        self.peers[other.name] = {"ceiling": ceiling, "relation": relation}

    def trust_roster_owner(self, key):
        with open(self.conf) as f:
            text = f.read()
        assert "[Node]\n" in text
        with open(self.conf, "w") as f:
            f.write(text.replace("[Node]\n", f"[Node]\nTrustRosterOwner = {key}\n", 1))

    def rewrite_conf(self, old, new):
        with open(self.conf) as f:
            text = f.read()
        with open(self.conf, "w") as f:
            f.write(text.replace(old, new))

    # --- process ---
    def start(self, *args):
        """Runs `tlpmesh run -c CONF` with args (e.g. --log-level debug)."""
        assert self.proc is None, f"{self.name} already running"
        logf = open(self.log, "a")
        self.proc = subprocess.Popen([BIN, "run", "-c", self.conf, *args], stdout=logf,
                                     stderr=logf)
        logf.close()

    def answering(self):
        """True once the control socket answers; raises if the process died."""
        rc = self.proc.poll()
        if rc is not None:
            raise NodeDied(self, rc)
        return self.status() is not None

    def stop(self):
        """SIGTERM and a clean exit (code 0) within the deadline."""
        p, self.proc = self.proc, None
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=DEADLINE_S)
        assert rc == 0, f"{self.name} exited with {rc} on SIGTERM:\n{self.log_tail()}"

    def kill9(self):
        p, self.proc = self.proc, None
        p.kill()
        p.wait(timeout=DEADLINE_S)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, n=25):
        return "\n".join(self.log_text().splitlines()[-n:])

    # --- CLI views ---
    def status(self):
        r = tlpmesh("status", "-c", self.conf, "--json")
        return json.loads(r.out) if r.rc == 0 else None

    def peer_stats(self):
        """name -> the peer's status object (its "gossip" counters included)."""
        st = self.status()
        assert st is not None, f"{self.name} does not answer status"
        names = {n.key: n.name for n in self.mesh.nodes.values()}
        return {names[p["key"]]: p for p in st["peers"]}

    def connected(self):
        st = self.status()
        if st is None:
            return set()
        names = {n.key: n.name for n in self.mesh.nodes.values()}
        return {names[p["key"]] for p in st["peers"] if p["state"] == "connected"}

    def records(self):
        """id -> record object of every record in the store (list --all --json)."""
        r = ok("list", "-c", self.conf, "--all", "--json")
        return {o["id"]: o for o in r.json_lines()}

    def publish(self, type_, value, tlp, communities=(), to=()):
        args = ["publish", "-c", self.conf, "--type", type_, "--value", value, "--tlp", tlp]
        for c in communities:
            args += ["--community", c]
        for k in to:
            args += ["--to", k]
        return ok(*args).out.strip()


class NodeDied(Exception):
    def __init__(self, node, rc):
        super().__init__(f"node {node.name} exited with {rc}:\n{node.log_tail()}")
        self.node, self.rc = node, rc


class Mesh:
    def __init__(self, network="test-mesh"):
        self.tmp = TempDir(prefix="tlpmesh-mesh.")
        self.network = network
        self.nodes = {}
        self.links = []  # (a, b) names, both directions configured

    def add(self, name, org):
        self.nodes[name] = Node(self, name, org)
        return self.nodes[name]

    def link(self, a, b, ceiling_ab="amber", ceiling_ba="amber", relation_ab="partner",
             relation_ba="partner"):
        """Both nodes allow and dial each other; a's view of b gets ceiling_ab and relation_ab."""
        na, nb = self.nodes[a], self.nodes[b]
        na.add_peer(nb, ceiling_ab, relation_ab)
        nb.add_peer(na, ceiling_ba, relation_ba)
        self.links.append((a, b))

    def neighbours(self, name):
        return [b for a, b in self.links if a == name] + [a for a, b in self.links if b == name]

    def start(self, names=None):
        """Starts nodes in parallel and waits for every control socket; moves a node whose port
        was taken meanwhile to a fresh one (see the module comment)."""
        names = list(names or self.nodes)
        for _ in range(PORT_TRIES):
            for n in names:
                self.nodes[n].start()
            taken = []
            for n in names:
                try:
                    wait_for(lambda: self.nodes[n].answering(), timeout=DEADLINE_S,
                             what=f"{n}'s control socket")
                except NodeDied as e:
                    if "address already in use" not in e.node.log_text():
                        raise
                    taken.append(n)
            if not taken:
                return
            for n in names:  # peers must dial the new ports: restart the lot
                if self.nodes[n].running():
                    self.nodes[n].stop()
                self.nodes[n].proc = None
            for n in taken:
                self.move_port(self.nodes[n])
        raise AssertionError(f"could not find free ports after {PORT_TRIES} tries")

    def fresh_port(self):
        """A free port that no node of this mesh has: while they are stopped (move_port) their
        ports are free too, and two nodes given one port would move onto each other's for good,
        since rewriting one's address rewrites the other's (a CI run failed so, five tries)."""
        used = {n.port for n in self.nodes.values()}
        for _ in range(100):
            port = free_port()
            if port not in used:
                return port
        raise AssertionError("free_port kept giving ports of this mesh")

    def move_port(self, node):
        old, node.port = f"127.0.0.1:{node.port}", self.fresh_port()
        new = f"127.0.0.1:{node.port}"
        for n in self.nodes.values():
            n.rewrite_conf(f" {old}\n", f" {new}\n")

    def wait_links(self, names=None, timeout=DEADLINE_S):
        """Waits until both ends of every link between the named (running) nodes are connected."""
        names = set(names or self.nodes)
        want = {n: {m for m in self.neighbours(n) if m in names} for n in names}

        def missing():
            gaps = {n: want[n] - self.nodes[n].connected() for n in names}
            gaps = {n: sorted(g) for n, g in gaps.items() if g}
            return f"not connected: {gaps}" if gaps else None
        converge(missing, timeout, "links to connect")

    def close(self, failed):
        for n in self.nodes.values():
            if n.proc is not None and n.proc.poll() is None:
                n.proc.kill()
                n.proc.wait()
            n.proc = None
        if failed:
            for n in self.nodes.values():
                print(f"--- log of {n.name} ({n.org}, {n.key}) ---\n{n.log_tail(40)}",
                      file=sys.stderr)
        if failed and os.environ.get("TLPMESH_KEEP"):
            print(f"kept {self.tmp.path}", file=sys.stderr)
        else:
            self.tmp.cleanup()


def converge(check, timeout=DEADLINE_S, what="convergence", interval=0.05):
    """Polls check() until it returns None (done); check returns a text saying what is still
    missing, which the timeout error quotes. Returns the seconds it took."""
    t0 = time.monotonic()
    while True:
        gap = check()
        if gap is None:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}:\n{gap}")
        time.sleep(interval)  # polling interval, not synchronisation: check() decides


def matrix_text(rows, cols, cell):
    """A table: one row per (label, key), one column per node name; cell(key, col) -> str."""
    width = max([len(label) for label, _ in rows] + [8])
    out = [" " * width + " " + " ".join(f"{c:>6}" for c in cols)]
    for label, key in rows:
        out.append(f"{label:<{width}} " + " ".join(f"{cell(key, c):>6}" for c in cols))
    return "\n".join(out)


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
