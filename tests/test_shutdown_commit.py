"""SIGTERM while a commit is out (soak seed 2026: node c exited with SIGABRT on SIGTERM, after
"peers did not take our CLOSE in time, cutting"). The shutdown deadline cut every handle of the
loop, the committer's wake-up among them, while its writer thread still ran a commit; when the
commit ended, the thread woke a loop that was gone and libuv aborted. The record under commit
must be committed, and the node must exit 0.

Here b's commit is held for longer than LIMIT_SHUTDOWN_MS by a real second writer on b's store:
`mdb_load` (lmdb-utils) begins its write transaction and waits for input that comes only when
the test says so, so b's writer thread waits for LMDB's writer lock as it would for a slow disk.
"""
import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import DEADLINE_S, Mesh  # noqa: E402
from tlpm import tlpmesh, wait_for  # noqa: E402

SHUTDOWN_MS = 2000  # LIMIT_SHUTDOWN_MS (proto/limits.h)
HEADER = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n"


class ShutdownWithCommitOut(unittest.TestCase):
    def setUp(self):
        self.mesh = Mesh()
        self.failed = True
        self.holder = None

    def tearDown(self):
        if self.holder and self.holder.poll() is None:
            self.holder.kill()
            self.holder.wait()
        self.mesh.close(self.failed)

    def hold_write_lock(self, node):
        """An mdb_load into a scratch database of node's store, stopped inside its write
        transaction: it has read the header and waits for the first record."""
        store = os.path.join(node.dir, "data", "store.mdb")
        self.assertTrue(os.path.exists(store), f"no store at {store}")
        self.holder = subprocess.Popen(["mdb_load", "-n", "-s", "shutdown-test-lock", store],
                                       stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
        self.holder.stdin.write(HEADER)
        self.holder.stdin.flush()

    def gossip(self, node):
        st = node.status()
        self.assertIsNotNone(st, f"{node.name} does not answer status")
        return st["gossip"]

    def test_sigterm_with_commit_out(self):
        m = self.mesh
        a, b = m.add("a", "Org A"), m.add("b", "Org B")
        m.link("a", "b")
        m.start()
        m.wait_links()
        first = a.publish("domain", "first.shutdown.example", "green")
        wait_for(lambda: self.gossip(b)["stored"] == 1, timeout=DEADLINE_S,
                 what="b storing a's first record")
        self.hold_write_lock(b)
        held = a.publish("domain", "held.shutdown.example", "green")
        wait_for(lambda: self.gossip(b)["verify_ok"] == 2, timeout=DEADLINE_S,
                 what="b verifying the second record")
        self.assertEqual(self.gossip(b)["stored"], 1, "b committed past mdb_load's write lock")
        p = b.proc
        p.send_signal(signal.SIGTERM)
        wait_for(lambda: "cutting" in b.log_text(), timeout=DEADLINE_S + SHUTDOWN_MS / 1000,
                 what="b's shutdown deadline (LIMIT_SHUTDOWN_MS after SIGTERM)")
        self.assertIsNone(p.poll(), f"b exited while its commit was out:\n{b.log_tail()}")
        self.holder.kill()  # LMDB's robust writer mutex passes to b's writer thread
        self.holder.wait()
        rc = p.wait(timeout=DEADLINE_S)
        b.proc = None
        self.assertEqual(rc, 0, f"b exited with {rc} on SIGTERM:\n{b.log_tail()}")
        self.assertIn("(a store commit in progress is waited for)", b.log_text(),
                      "the deadline came with no commit out: the test did not test it")
        for rid in (first, held):
            r = tlpmesh("show", "-c", b.conf, rid)
            self.assertEqual(r.rc, 0, f"record {rid} is not in b's store: {r!r}")
        self.failed = False


if __name__ == "__main__":
    unittest.main()
