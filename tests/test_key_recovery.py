#!/usr/bin/python3
"""test_key_recovery.py - a stolen node key against its recovery key (issue 13 point 6): a, b, c
linked in a triangle; b and c hold a's RecoveryKey (from `tlpmesh key recovery-init`). A thief
copies a's node (key, config, store), a goes down, the thief runs it elsewhere, publishes a record
with the stolen key, rotates the stolen key to its own (`key rotate`: b and c accept it, as they
must accept any rotation signed by the key they trust) and publishes with that. a's operator
runs `key recover --since T` (T: the theft) and starts a again: a dials with its new key, is
refused, dials with the stolen one, which b and c still accept for the thief's rotation's grace,
and delivers the recovery. Then b and c name a by the recovered key, refuse the thief's key and
the stolen one, keep a's record from before T and hide the thief's records (list, query, TAXII); d,
peered with b alone and started afterwards, receives a's old record and none of the thief's.

test_recovery_relayed: the same theft, but c accepts a rotated-away key for 1 s only
(KeyGraceSeconds = 1), b for the default 7 days. After c's grace the owner recovers: a's new key
is unknown to c and the stolen key is past c's grace, so c never hears the recovery from a. b
takes it over the stolen key and relays it (docs/PROTOCOL.md "Key succession", relay); c then
names a by the recovered key, connects to a and refuses the thief's key.
Real processes on 127.0.0.1; every wait polls against a deadline.
"""
import base64
import datetime
import json
import os
import shutil
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import DEADLINE_S, Mesh, converge, free_port, ok  # noqa: E402
from tlpm import add_http, tlpmesh, wait_for  # noqa: E402

TAXII = "application/taxii+json;version=2.1"
C_GRACE_S = 1  # test_recovery_relayed: c's KeyGraceSeconds


def taxii_patterns(port):
    """The patterns of every indicator b's TAXII server gives its client."""
    auth = "Basic " + base64.b64encode(b"soc:s3cret-soc-reader").decode()

    def get(path):
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     headers={"Accept": TAXII, "Authorization": auth})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())
    cid = get("/tlpmesh/collections/")["collections"][0]["id"]
    objs = get(f"/tlpmesh/collections/{cid}/objects/").get("objects", [])
    return " ".join(o.get("pattern", "") for o in objs)


def live_ids(node):
    return {o["id"] for o in ok("list", "-c", node.conf, "--json").json_lines()}


def peer_key_of_a(node, key):
    return any(p["key"] == key for p in node.status()["peers"])


def wait_taken(partners, key, what):
    """Waits, with the deadline, until every partner names a by key (it took a statement)."""
    for n in partners:
        converge(lambda: None if peer_key_of_a(n, key) else "not yet", DEADLINE_S,
                 f"{n.name} to {what}")


def steal(m, a):
    """The theft: a goes down, a copy of its node (key, config, store) is made on another port
    as node t, not started; returns t."""
    a.stop()
    t = m.add("t", "THIEF")  # a node entry for the mesh helpers; its dir is replaced
    shutil.rmtree(t.dir)
    shutil.copytree(a.dir, t.dir)
    t.conf = os.path.join(t.dir, "tlpmesh.conf")
    t.log = os.path.join(t.dir, "node.log")
    t.rewrite_conf(f"127.0.0.1:{a.port}\n", f"127.0.0.1:{t.port}\n")
    t.key = a.key
    return t


def rfc3339_ms(when):
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def thief_refused(t):
    """converge check: every partner has closed t's handshake."""
    errs = {p["name"]: p.get("last_error") for p in t.status()["peers"]}
    bad = {k: v for k, v in errs.items() if not v or "handshake closed" not in v}
    return f"not refused yet: {bad}" if bad else None


class KeyRecovery(unittest.TestCase):
    def setUp(self):
        self.mesh = Mesh()
        self.failed = True

    def tearDown(self):
        self.mesh.close(self.failed)

    def triangle(self):
        """a, b, c linked in a triangle, b and c holding a's RecoveryKey; returns them and the
        recovery key's file."""
        m = self.mesh
        a, b, c = m.add("a", "CERT-A"), m.add("b", "CERT-B"), m.add("c", "CERT-C")
        m.link("a", "b"), m.link("a", "c"), m.link("b", "c")
        rec_file = m.tmp.join("recovery.key")
        line = ok("key", "recovery-init", "-o", rec_file).out.strip()
        self.assertTrue(line.startswith("RecoveryKey = "))
        for n in (b, c):
            n.rewrite_conf(f"PublicKey = {a.key}\n", f"PublicKey = {a.key}\n{line}\n")
        return a, b, c, rec_file

    def test_recovery_beats_stolen_key(self):
        m = self.mesh
        a, b, c, rec_file = self.triangle()
        for n in (b, c):
            ok("check-config", "-c", n.conf)
        http_port = free_port()
        add_http(b.conf, http_port, [("soc", "CERT-B", "s3cret-soc-reader", None)])
        m.start()
        m.wait_links()
        r1 = a.publish("ip-dst", "192.0.2.21", "green")
        for n in (b, c):
            wait_for(lambda: r1 in live_ids(n), DEADLINE_S, what=f"r1 on {n.name}")

        # the theft: a copy of a's node, run from another port; a goes down
        stolen = a.key
        t = steal(m, a)
        t_theft = int(time.time() * 1000)
        since = datetime.datetime.fromtimestamp(t_theft / 1000, datetime.timezone.utc)
        time.sleep(0.01)  # a clock rule (created after T), not a synchronisation
        r3 = ok("publish", "-c", t.conf, "--type", "ip-dst", "--value", "192.0.2.23",
                "--tlp", "green").out.strip()
        t.start()
        wait_for(t.answering, DEADLINE_S, what="t's control socket")
        for n in (b, c):
            wait_for(lambda: r3 in live_ids(n), DEADLINE_S, what=f"r3 on {n.name}")
        thief = ok("key", "rotate", "-c", t.conf).out.splitlines()[0].strip()
        wait_taken((b, c), thief, "take the thief's rotation")
        t.stop()
        t.key = thief
        t.start()
        wait_for(t.answering, DEADLINE_S, what="t's control socket (thief key)")
        r4 = ok("publish", "-c", t.conf, "--type", "ip-dst", "--value", "192.0.2.24",
                "--tlp", "green").out.strip()
        for n in (b, c):
            wait_for(lambda: r4 in live_ids(n), DEADLINE_S, what=f"r4 on {n.name}")

        # the recovery
        rec = ok("key", "recover", "-c", a.conf, "--recovery-key", rec_file, "--since",
                 rfc3339_ms(since))
        recovered = rec.out.splitlines()[0].strip()
        self.assertNotIn(recovered, (stolen, thief))
        a.key = recovered
        a.start()
        wait_for(a.answering, DEADLINE_S, what="a's control socket")
        wait_taken((b, c), recovered, "take the recovery")
        m.links = [("a", "b"), ("a", "c"), ("b", "c")]
        m.wait_links(["a", "b", "c"])
        for n in (b, c):
            st = ok("status", "-c", n.conf).out
            self.assertIn(f"peer a: key recovered to {recovered}", st)
            live = live_ids(n)
            self.assertIn(r1, live)
            self.assertNotIn(r3, live)
            self.assertNotIn(r4, live)
            q = tlpmesh("query", "-c", n.conf, "192.0.2.23")
            self.assertEqual(q.rc, 1, q)  # hidden: no live record for the thief's value
            self.assertIn("no live record", q.err)
            self.assertIn(r1[:16], ok("query", "-c", n.conf, "192.0.2.21").out)
        patterns = taxii_patterns(http_port)  # TAXII hides them too
        self.assertIn("192.0.2.21", patterns)
        self.assertNotIn("192.0.2.23", patterns)
        self.assertNotIn("192.0.2.24", patterns)

        # the thief is refused with its key and with the stolen one
        t.stop()
        os.rename(t.dir + "/node.key.prev", t.dir + "/stolen.key")
        t.start()
        wait_for(t.answering, DEADLINE_S, what="t's control socket")
        converge(lambda: thief_refused(t), DEADLINE_S, "b and c to refuse the thief's key")
        t.stop()
        os.rename(t.dir + "/stolen.key", t.dir + "/node.key")
        t.start()
        wait_for(t.answering, DEADLINE_S, what="t's control socket (stolen key)")
        converge(lambda: thief_refused(t), DEADLINE_S, "b and c to refuse the stolen key")
        for n in (b, c):
            self.assertIn(r1, live_ids(n))

        # a third node that never knew a: a's old record reaches it, the thief's never do
        d = m.add("d", "CERT-D")
        m.link("b", "d")
        ok("reload", "-c", b.conf)
        d.start()
        wait_for(d.answering, DEADLINE_S, what="d's control socket")
        wait_for(lambda: r1 in d.records(), DEADLINE_S, what="r1 on d")
        r5 = b.publish("ip-dst", "192.0.2.25", "green")  # later than any round that could
        wait_for(lambda: r5 in d.records(), DEADLINE_S, what="r5 on d")  # have carried r3/r4
        held = d.records()
        self.assertNotIn(r3, held)
        self.assertNotIn(r4, held)
        self.failed = False

    def test_recovery_right_after_a_rotation(self):
        """A key stolen right after a rotation: `key recover` works while node.key.prev (the key
        before the stolen one) is still kept, and partners distrust that older key from T too:
        a thief with the machine holds it, and partners still accept it in its grace."""
        m = self.mesh
        a, b, c, rec_file = self.triangle()
        m.start()
        m.wait_links()
        r0 = a.publish("ip-dst", "192.0.2.40", "green")
        for n in (b, c):
            wait_for(lambda: r0 in live_ids(n), DEADLINE_S, what=f"r0 on {n.name}")
        k1 = ok("key", "rotate", "-c", a.conf).out.splitlines()[0].strip()
        wait_taken((b, c), k1, "take a's rotation")

        t = steal(m, a)  # node.key (K1) and node.key.prev (K0) both taken
        since = datetime.datetime.now(datetime.timezone.utc)
        time.sleep(0.01)  # a clock rule (created after T), not a synchronisation
        k0_conf = t.conf + ".k0"
        with open(t.conf) as f, open(k0_conf, "w") as g:
            g.write(f.read().replace("KeyFile = node.key\n", "KeyFile = node.key.prev\n"))
        os.chmod(k0_conf, 0o600)
        r_old = ok("publish", "-c", k0_conf, "--type", "ip-dst", "--value", "192.0.2.41",
                   "--tlp", "green").out.strip()  # signed by K0 after T
        t.start()
        wait_for(t.answering, DEADLINE_S, what="t's control socket")
        for n in (b, c):
            wait_for(lambda: r_old in live_ids(n), DEADLINE_S, what=f"K0's record on {n.name}")
        t.stop()

        self.assertTrue(os.path.exists(a.dir + "/node.key.prev"))
        rec = ok("key", "recover", "-c", a.conf, "--recovery-key", rec_file, "--since",
                 rfc3339_ms(since))
        recovered = rec.out.splitlines()[0].strip()
        a.key = recovered
        a.start()
        wait_for(a.answering, DEADLINE_S, what="a's control socket")
        wait_taken((b, c), recovered, "take the recovery")
        for n in (b, c):
            live = live_ids(n)
            self.assertIn(r0, live)         # K0's record from before T stays
            self.assertNotIn(r_old, live)   # K0's record from after T is hidden
        self.failed = False

    def test_recovery_relayed(self):
        m = self.mesh
        a, b, c, rec_file = self.triangle()
        c.rewrite_conf("[Node]\n", f"[Node]\nKeyGraceSeconds = {C_GRACE_S}\n")
        ok("check-config", "-c", c.conf)
        m.start()
        m.wait_links()

        # the theft and the thief's rotation, which b and c take from the stolen key
        since = datetime.datetime.now(datetime.timezone.utc)
        t = steal(m, a)
        t.start()
        wait_for(t.answering, DEADLINE_S, what="t's control socket")
        thief = ok("key", "rotate", "-c", t.conf).out.splitlines()[0].strip()
        rotated_by = time.time()
        wait_taken((b, c), thief, "take the thief's rotation")
        t.stop()
        t.key = thief
        # a clock rule, not a synchronisation: c's grace for the stolen key must be over
        converge(lambda: None if time.time() > rotated_by + C_GRACE_S + 1 else "in grace",
                 DEADLINE_S, "c's grace for the stolen key to end")

        rec = ok("key", "recover", "-c", a.conf, "--recovery-key", rec_file, "--since",
                 rfc3339_ms(since))
        recovered = rec.out.splitlines()[0].strip()
        a.key = recovered
        a.start()
        wait_for(a.answering, DEADLINE_S, what="a's control socket")
        wait_taken((b, c), recovered, "take the recovery")  # b over the stolen key, c by relay
        self.assertIn(f"peer a: key recovered to {recovered}", ok("status", "-c", c.conf).out)
        self.assertIn(f"peer a: key recovered to {recovered}", c.log_text())
        m.links = [("a", "b"), ("a", "c"), ("b", "c")]
        m.wait_links(["a", "b", "c"])  # c accepts a's recovered key

        t.start()  # the thief's key: refused by c (and b)
        wait_for(t.answering, DEADLINE_S, what="t's control socket (thief key)")
        converge(lambda: thief_refused(t), DEADLINE_S, "b and c to refuse the thief's key")
        self.assertNotIn("t", c.connected())
        self.failed = False


if __name__ == "__main__":
    unittest.main()
