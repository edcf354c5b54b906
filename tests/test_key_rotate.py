#!/usr/bin/python3
"""test_key_rotate.py - keys that change (issue 13 point 6): a three-node mesh (a, b, c, every
pair linked) where a rotates its key with `tlpmesh key rotate` while it runs, restarts on the new
key and keeps exchanging records both ways; b and c accept the new key without an edit of their
configs (the files stay byte for byte), record the succession in their stores (it survives their
restart) and show it in `status`; a's record from before the rotation keeps its id everywhere; once
the grace (KeyGraceSeconds = 4 in the partners' configs) is over, a node presenting the old key
is refused by both. Real processes on 127.0.0.1; every wait polls against a deadline.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import DEADLINE_S, Mesh, converge, ok  # noqa: E402
from tlpm import tlpmesh, wait_for  # noqa: E402

GRACE_S = 4


def conf_text(node):
    with open(node.conf, "rb") as f:
        return f.read()


class KeyRotate(unittest.TestCase):
    def setUp(self):
        self.mesh = Mesh()
        self.failed = True

    def tearDown(self):
        self.mesh.close(self.failed)

    def holds(self, node, rid):
        return rid in node.records()

    def test_rotation(self):
        m = self.mesh
        a, b, c = m.add("a", "CERT-A"), m.add("b", "CERT-B"), m.add("c", "CERT-C")
        m.link("a", "b"), m.link("a", "c"), m.link("b", "c")
        for n in (b, c):
            n.rewrite_conf("[Node]\n", f"[Node]\nKeyGraceSeconds = {GRACE_S}\n")
        confs = {n.name: conf_text(n) for n in (b, c)}
        m.start()
        m.wait_links()
        r0 = a.publish("ip-dst", "192.0.2.10", "green")
        for n in (b, c):
            wait_for(lambda: self.holds(n, r0), DEADLINE_S, what=f"r0 on {n.name}")

        old = a.key
        rot = ok("key", "rotate", "-c", a.conf)
        new = rot.out.splitlines()[0].strip()
        self.assertEqual(len(new), 44)
        self.assertNotEqual(new, old)
        self.assertTrue(os.path.exists(a.dir + "/node.key.prev"))
        t_rot = time.time()
        self.assertEqual(ok("pubkey", a.dir + "/node.key").out.strip(), new)
        # the running node sent the statement over its sessions: b and c accept the new key
        for n in (b, c):
            converge(lambda: None if any(p["key"] == new for p in n.status()["peers"])
                     else f"{n.name} still names a by the old key", DEADLINE_S,
                     f"{n.name} to take a's new key")
        a.stop()
        a.key = new
        a.start()
        wait_for(a.answering, DEADLINE_S, what="a's control socket")
        m.wait_links()
        self.assertEqual(ok("status", "-c", a.conf, "--json").json_lines()[0]["key"], new)

        # records both ways, under the new key
        r1 = a.publish("ip-dst", "192.0.2.11", "green")
        r2 = b.publish("ip-dst", "192.0.2.12", "green")
        for n in (b, c):
            wait_for(lambda: self.holds(n, r1), DEADLINE_S, what=f"r1 on {n.name}")
        wait_for(lambda: self.holds(a, r2), DEADLINE_S, what="r2 on a")
        for n in (a, b, c):
            recs = n.records()
            self.assertIn(r0, recs)  # the old key's record keeps its id
            self.assertEqual(recs[r0]["origin"], old)
        self.assertEqual(b.records()[r1]["origin"], new)

        # the partners' configs are untouched; status says what happened
        for n in (b, c):
            self.assertEqual(conf_text(n), confs[n.name])
            st = ok("status", "-c", n.conf).out
            self.assertIn(f"peer a: key rotated to {new}", st)
            self.assertIn(f"was {old}", st)
            chk = ok("check-config", "-c", n.conf).out
            self.assertIn(f"peer a: key rotated to {new}", chk)
            ok("check-store", "-c", n.conf)  # the stored statement verifies

        # durable: b restarts and still takes a's new key
        b.stop()
        b.start()
        wait_for(b.answering, DEADLINE_S, what="b's control socket")
        m.wait_links()

        # after the grace, the old key is refused for new handshakes
        time.sleep(max(0.0, t_rot + GRACE_S + 1 - time.time()))  # a clock rule, not a sync
        a.stop()
        os.rename(a.dir + "/node.key.prev", a.dir + "/old.key")
        os.rename(a.dir + "/node.key", a.dir + "/new.key")
        os.rename(a.dir + "/old.key", a.dir + "/node.key")
        a.start()
        wait_for(a.answering, DEADLINE_S, what="a's control socket (old key)")

        def refused():
            st = a.status()
            errs = {p["name"]: p.get("last_error") for p in st["peers"]}
            bad = {k: v for k, v in errs.items() if not v or "handshake closed" not in v}
            return f"not refused yet: {bad}" if bad else None
        converge(refused, DEADLINE_S, "b and c to refuse the old key")
        for n in (b, c):
            self.assertNotIn("connected", [p["state"] for p in n.status()["peers"]
                                           if p["key"] == new])
        self.failed = False


class NotToldOn(unittest.TestCase):
    """A partner's routine rotation is not relayed (docs/PROTOCOL.md "Key succession", relay):
    d trusts a's key but peers only with b; b takes a's rotation and must not tell d, since
    that would show d who else b works with."""

    def test_partner_rotation_not_told_on(self):
        m = Mesh()
        failed = True
        try:
            a, b, d = m.add("a", "CERT-A"), m.add("b", "CERT-B"), m.add("d", "CERT-D")
            m.link("a", "b"), m.link("b", "d")
            ok("peer", "add", "-c", d.conf, "--key", a.key, "--org", "CERT-A", "--name", "a")
            m.start()
            m.wait_links()
            new = ok("key", "rotate", "-c", a.conf).out.splitlines()[0].strip()
            converge(lambda: None if any(p["key"] == new for p in b.status()["peers"])
                     else "b still names a by the old key", DEADLINE_S, "b to take a's new key")
            # a new session b-d: b sends what it may tell right after HELLO, before any record,
            # so once d holds a record b published afterwards it has seen all b would tell it
            d.stop()
            d.start()
            wait_for(d.answering, DEADLINE_S, what="d's control socket")
            r = b.publish("ip-dst", "192.0.2.30", "green")
            wait_for(lambda: r in d.records(), DEADLINE_S, what="b's record on d")
            self.assertEqual([p["key"] for p in d.status()["peers"] if p["name"] == "a"], [a.key])
            self.assertNotIn("key rotated", ok("status", "-c", d.conf).out)
            failed = False
        finally:
            m.close(failed)


class ReplaceKey(unittest.TestCase):
    """`tlpmesh peer replace-key`: the path without a statement; one line of the file changes."""

    def test_one_line_changes(self):
        m = Mesh()
        try:
            a, b, c = m.add("a", "CERT-A"), m.add("b", "CERT-B"), m.add("c", "CERT-C")
            m.link("a", "b"), m.link("a", "c")
            before = conf_text(a).decode()
            newkey = ok("keygen", "-o", m.tmp.join("new.key")).out.strip()
            ok("peer", "replace-key", "-c", a.conf, b.key, newkey)
            after = conf_text(a).decode()
            self.assertEqual(after, before.replace(f"PublicKey = {b.key}\n",
                                                   f"PublicKey = {newkey}\n"))
            r = tlpmesh("peer", "replace-key", "-c", a.conf, b.key, newkey)
            self.assertEqual(r.rc, 1, r)  # b's old key is gone
            self.assertIn(f"no [Peer] with PublicKey {b.key}", r.err)
            r = tlpmesh("peer", "replace-key", "-c", a.conf, newkey, c.key)
            self.assertEqual(r.rc, 2, r)  # c is configured already
            self.assertIn("already configured", r.err)
            r = tlpmesh("peer", "replace-key", "-c", a.conf, newkey, "not-a-key")
            self.assertEqual(r.rc, 2, r)
            self.assertEqual(conf_text(a).decode(), after)
        finally:
            m.close(False)


class KeyCommands(unittest.TestCase):
    """Bad use of `tlpmesh key`: one line naming what is wrong, nothing changed."""

    def test_refusals(self):
        m = Mesh()
        try:
            a = m.add("a", "CERT-A")
            key = a.dir + "/node.key"
            r = tlpmesh("key", "rotate")
            self.assertEqual(r.rc, 2, r)
            self.assertEqual(len(r.err.strip().splitlines()), 1, r)
            r = tlpmesh("key", "spin", "-c", a.conf)
            self.assertEqual(r.rc, 2, r)
            rec = m.tmp.join("rec.key")
            ok("key", "recovery-init", "-o", rec)
            r = tlpmesh("key", "recovery-init", "-o", rec)  # never overwritten
            self.assertEqual(r.rc, 1, r)
            r = tlpmesh("key", "recover", "-c", a.conf, "--recovery-key", rec, "--since",
                        "yesterday")
            self.assertEqual(r.rc, 2, r)
            self.assertIn("--since 'yesterday'", r.err)
            self.assertEqual(ok("pubkey", key).out.strip(), a.key)
            new = ok("key", "rotate", "-c", a.conf).out.splitlines()[0]
            self.assertEqual(ok("pubkey", key).out.strip(), new)
            self.assertEqual(ok("pubkey", key + ".prev").out.strip(), a.key)
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            self.assertEqual(os.stat(key + ".prev").st_mode & 0o777, 0o600)
            r = tlpmesh("key", "rotate", "-c", a.conf)  # the last rotation is in its grace
            self.assertEqual(r.rc, 1, r)
            self.assertIn("grace", r.err)
            self.assertEqual(ok("pubkey", key).out.strip(), new)
            self.assertFalse(os.path.exists(key + ".next"))
        finally:
            m.close(False)


class RootKeepsOwner(unittest.TestCase):
    """`key rotate` and `restore` run as root for a node whose files are another user's (the
    packaged tlpmesh user): the files they write keep that owner, so the node can restart."""

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give files to another user")
    def test_rotate_and_restore(self):
        m = Mesh()
        try:
            a = m.add("a", "CERT-A")
            a.publish("domain", "owner.example", "green")  # creates the store
            ok("backup", "-c", a.conf, m.tmp.join("a.bak"))
            for root, dirs, files in os.walk(a.dir):
                for name in dirs + files:
                    os.chown(os.path.join(root, name), 65534, 65534)
            os.chown(a.dir, 65534, 65534)
            ok("key", "rotate", "-c", a.conf)
            ok("restore", "-c", a.conf, m.tmp.join("a.bak"))
            for rel in ("node.key", "node.key.prev", "data/store.mdb"):
                st = os.stat(os.path.join(a.dir, rel))
                self.assertEqual((st.st_uid, st.st_gid), (65534, 65534), rel)
        finally:
            m.close(False)


if __name__ == "__main__":
    unittest.main()
