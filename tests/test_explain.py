"""Sharing an operator can audit (issue 11, points 3-6): a node refuses its own key as a peer,
`explain` says why a record does or does not reach a party (through the gate itself), `publish`
warns of audiences it cannot reach, and refusals are counted and logged. Real tlpmesh processes
in temporary directories; every input is built here."""
import json
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import Mesh, converge  # noqa: E402
from tlpm import NodeTest, init_node, tlpmesh, wait_for  # noqa: E402


def ok(*args, **kw):
    r = tlpmesh(*args, **kw)
    if r.rc != 0:
        raise AssertionError(f"tlpmesh {' '.join(map(str, args))} -> {r!r}")
    return r


def add_own_peer_section(conf, key):
    """Appends a [Peer] with key by hand (peer add refuses it); returns its PublicKey line."""
    with open(conf) as f:
        lines = f.read().splitlines()
    lines += ["", "[Peer]", f"PublicKey = {key}", "Organisation = CERT-A"]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(lines) - 1


class OwnKeyAsPeer(NodeTest):
    """Point 4: this node's own key is never a peer."""

    def test_peer_add_refuses_own_key(self):
        with open(self.conf) as f:
            before = f.read()
        r = tlpmesh("peer", "add", "-c", self.conf, "--key", self.pub, "--org", "CERT-A",
                    "--endpoint", "127.0.0.1:7400")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("own key", r.err)
        with open(self.conf) as f:
            self.assertEqual(f.read(), before)

    def test_check_config_names_the_line(self):
        line = add_own_peer_section(self.conf, self.pub)
        r = tlpmesh("check-config", "-c", self.conf)
        self.assertEqual(r.rc, 2, r)
        self.assertIn(f"{self.conf}:{line}: PublicKey: this is this node's own key", r.out + r.err)

    def test_live_reload_refused_keeps_running_config(self):
        mesh = Mesh()
        failed = True
        try:
            a, b = mesh.add("a", "CERT-A"), mesh.add("b", "CERT-B")
            mesh.link("a", "b")
            mesh.start(["a"])
            with open(a.conf) as f:
                good = f.read()
            add_own_peer_section(a.conf, a.key)
            a.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "own key" in a.log_text(), what="reload refusal in the log")
            self.assertIn("reload refused", a.log_text())
            self.assertIn("this node's own key", a.log_text())
            with open(a.conf, "w") as f:  # status reads the config too
                f.write(good)
            self.assertEqual([p["key"] for p in a.status()["peers"]], [b.key])
            failed = False
        finally:
            mesh.close(failed)


if __name__ == "__main__":
    unittest.main()
