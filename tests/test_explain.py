"""Sharing an operator can audit (issue 11, points 3-6): a node refuses its own key as a peer,
`explain` says why a record does or does not reach a party (through the gate itself), `publish`
warns of audiences it cannot reach, and refusals are counted and logged. Real tlpmesh processes
in temporary directories; every input is built here."""
import json
import os
import re
import signal
import socket
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import Mesh  # noqa: E402
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


def append_section(conf, lines):
    """Appends a section by hand; returns the line number of each of its lines."""
    with open(conf) as f:
        old = f.read().splitlines()
    with open(conf, "w") as f:
        f.write("\n".join(old + [""] + lines) + "\n")
    return {line: len(old) + 2 + i for i, line in enumerate(lines)}


class ExplainBase(NodeTest):
    """Node a of CERT-EE with peer CERT-FI (MaxTLP amber), peer CERT-LV (MaxTLP red,
    Name lv), a TAXII client soc (Relation client) and the roster energy-isac (v2, by a) that
    lists CERT-FI."""

    ORG = "CERT-EE"

    def setUp(self):
        super().setUp()
        self.fi_conf, self.fi = init_node(self.tmp, "fi", "CERT-FI")
        _, self.lv = init_node(self.tmp, "lv", "CERT-LV")
        ok("peer", "add", "-c", self.conf, "--key", self.fi, "--endpoint", "127.0.0.1:1",
           "--org", "CERT-FI", "--max-tlp", "amber")
        with open(self.conf) as f:
            self.fi_max_line = f.read().splitlines().index("MaxTLP = amber") + 1
        ok("peer", "add", "-c", self.conf, "--key", self.lv, "--endpoint", "127.0.0.1:2",
           "--org", "CERT-LV", "--max-tlp", "red", "--name", "lv")
        self.client_lines = append_section(self.conf, [
            "[Client]", "Name = soc", "Organisation = Hospital-K",
            "Secret = 0123456789abcdef0123", "Relation = client",
            "MaxTLP = amber+strict"])
        ok("community", "create", "-c", self.conf, "energy-isac", "--member", f"{self.lv}=CERT-LV")
        ok("community", "add-member", "-c", self.conf, "energy-isac", "--key", self.fi,
           "--org", "CERT-FI")
        ok("community", "remove-member", "-c", self.conf, "energy-isac", "--key", self.lv)

    def publish(self, *args):
        return ok("publish", "-c", self.conf, "--type", "ip-dst", *args).out.strip()

    def explain(self, *args):
        return tlpmesh("explain", "-c", self.conf, *args)



class Explain(ExplainBase):
    """Point 5: the gate's verdict towards one party, or every party, and the rule."""

    def test_ceiling_names_the_maxtlp_line(self):
        rid = self.publish("--value", "203.0.113.9", "--tlp", "red", "--to", self.fi)
        r = self.explain(rid, "--peer", "CERT-FI")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out.splitlines()[0], "deny: link ceiling amber < red (MaxTLP in "
                         f"{self.conf} line {self.fi_max_line})")
        self.assertEqual(r.out.splitlines()[1], "holds it: unknown (node not running)")

    def test_red_not_among_recipients_by_name_and_key(self):
        rid = self.publish("--value", "203.0.113.9", "--tlp", "red", "--to", self.fi)
        for who in ("lv", self.lv):
            r = self.explain(rid[:8], "--peer", who)
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(r.out.splitlines()[0],
                             "deny: TLP:RED and CERT-LV's key is not among the 1 recipient")
        rid2 = self.publish("--value", "203.0.113.10", "--tlp", "red", "--to", self.lv)
        r = self.explain(rid2, "--peer", "lv")
        self.assertEqual((r.rc, r.out.splitlines()[0]),
                         (0, "allow: RED, CERT-LV's key is among the 1 recipient"))

    def test_community_names_the_roster(self):
        rid = self.publish("--value", "203.0.113.11", "--tlp", "amber", "--community",
                           "energy-isac")
        r = self.explain(rid, "--peer", self.fi)
        self.assertEqual((r.rc, r.out.splitlines()[0]), (0, "allow: AMBER, CERT-FI is in "
                         "community energy-isac (roster v3 by CERT-EE)"), r)
        r = self.explain(rid, "--peer", "lv")  # removed in v3
        self.assertEqual(r.rc, 1, r)
        self.assertIn("deny: TLP:AMBER for community energy-isac: CERT-LV is not in that audience",
                      r.out)
        # The TAXII client: a declared client, and a is in the audience (a roster member).
        r = self.explain(rid, "--client", "soc")
        self.assertEqual((r.rc, r.out.splitlines()[0]), (0, "allow: AMBER, soc is a declared "
                         "client of CERT-EE and this node is in the audience"), r)
        r = self.explain(rid, "--export")
        self.assertEqual((r.rc, r.out.strip()),
                         (0, "allow: AMBER, CERT-EE is in this node's organisation CERT-EE"), r)

    def test_every_party_and_show_explain(self):
        rid = self.publish("--value", "203.0.113.12", "--tlp", "amber+strict", "--community",
                           "energy-isac")
        r = self.explain(rid)
        self.assertEqual(r.rc, 1, r)  # nobody: CERT-FI's ceiling is amber, soc is a client
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 3, r)
        self.assertTrue(lines[0].startswith("peer   CERT-FI ") and "link ceiling amber < "
                        "amber+strict" in lines[0], lines)
        self.assertTrue(lines[2].startswith("client soc ") and "clients count for AMBER only"
                        in lines[2], lines)
        objs = self.explain(rid, "--json").json_lines()
        self.assertEqual([(o["party"], o["name"], o["verdict"], o["rule"]) for o in objs],
                         [("peer", "CERT-FI", "deny", "ceiling"),
                          ("peer", "CERT-LV", "deny", "not-in-audience"),
                          ("client", "soc", "deny", "not-in-audience")])
        self.assertEqual(objs[0]["key"], self.fi)
        self.assertEqual([o["reason"] for o in objs], [l.split(None, 2)[2] for l in lines])
        shown = ok("show", "-c", self.conf, rid, "--explain").out
        self.assertIn("explain\n" + r.out, shown)
        obj = json.loads(ok("show", "-c", self.conf, rid, "--explain", "--json").out)
        self.assertEqual(obj["explain"], objs)
        self.assertNotIn("explain", json.loads(ok("show", "-c", self.conf, rid, "--json").out))

    def test_usage(self):
        rid = self.publish("--value", "203.0.113.13", "--tlp", "green")
        for args in ([rid, "--peer", "lv", "--export"], [], [rid, "--peer", "nobody"],
                     [rid, "--client", "nobody"], [rid, "--max-tlp", "red"],
                     [rid, "--export", "--max-tlp", "purple"], [rid, "--bogus"]):
            r = self.explain(*args)
            self.assertEqual(r.rc, 2, (args, r))
            self.assertTrue(r.err.startswith("tlpmesh explain: "), r)
        r = self.explain(rid, "--export", "--max-tlp", "red", "--json")
        o = r.json_lines()[0]
        self.assertEqual((r.rc, o["party"], o["verdict"], o["ground"]),
                         (0, "export", "allow", "default-audience"))

    def test_holds_as_the_running_node_knows_it(self):
        """A record delivered from A to B over a real link: A's running node knows it sent it,
        B's that it received it; a record B may not have is not known to be held by B."""
        mesh = Mesh()
        failed = True
        try:
            a, b = mesh.add("a", "CERT-A"), mesh.add("b", "CERT-B")
            mesh.link("a", "b")
            mesh.start()
            rid = a.publish("domain", "c2.example", "green")
            held_back = a.publish("domain", "c3.example", "amber", communities=("energy-isac",))
            wait_for(lambda: rid in b.records(), what="the record at b")
            r = tlpmesh("explain", "-c", a.conf, rid, "--peer", "CERT-B")
            self.assertEqual((r.rc, r.out.splitlines()[1]), (0, "holds it: yes (sent to it)"), r)
            r = tlpmesh("explain", "-c", a.conf, rid, "--peer", "CERT-B", "--json")
            o = r.json_lines()[0]
            self.assertEqual((o["holds"], o["holds_how"]), ("yes", "sent"), r)
            r = tlpmesh("explain", "-c", b.conf, rid, "--peer", "CERT-A", "--json")
            o = r.json_lines()[0]
            self.assertEqual((r.rc, o["verdict"], o["ground"], o["holds"], o["holds_how"]),
                             (0, "allow", "default-audience", "yes", "received"), r)
            r = tlpmesh("explain", "-c", b.conf, rid)
            self.assertIn("; it holds it already (received from it)", r.out)
            r = tlpmesh("show", "-c", a.conf, rid, "--explain")
            self.assertIn("; it holds it already (sent to it)", r.out)
            r = tlpmesh("explain", "-c", a.conf, held_back, "--peer", "CERT-B")
            self.assertEqual((r.rc, r.out.splitlines()[1]), (1, "holds it: not known"), r)
            o = tlpmesh("explain", "-c", a.conf, held_back, "--peer", "CERT-B",
                        "--json").json_lines()[0]
            self.assertEqual((o["holds"], o["holds_how"]), ("not-known", "not-known"))
            a.stop()
            b.stop()
            r = tlpmesh("explain", "-c", a.conf, rid, "--peer", "CERT-B")
            self.assertEqual(r.out.splitlines()[1], "holds it: unknown (node not running)")
            r = tlpmesh("explain", "-c", b.conf, rid, "--peer", "CERT-A")
            self.assertEqual(r.out.splitlines()[1], "holds it: yes (its origin)")
            failed = False
        finally:
            mesh.close(failed)

class PublishWarnsUnreachable(ExplainBase):
    """Point 3: the record is published as asked, with one warning per audience part that cannot
    receive it today, and why."""

    def publish_json(self, *args):
        r = ok("publish", "-c", self.conf, "--type", "ip-dst", *args, "--json")
        return r, r.json_lines()[0]

    def test_red_to_a_peer_below_red(self):
        r, o = self.publish_json("--value", "198.51.100.1", "--tlp", "red", "--to", self.fi)
        want = (f"recipient CERT-FI ({self.fi}) cannot receive it: link ceiling amber < red "
                f"(MaxTLP in {self.conf} line {self.fi_max_line})")
        self.assertEqual(o["warnings"], [want])
        self.assertEqual(r.err, f"tlpmesh publish: warning: {want}\n")
        self.assertEqual(len(ok("query", "-c", self.conf, "198.51.100.1", "--json").json_lines()), 1)

    def test_unknown_recipient_reachable_only_through_an_allowed_peer(self):
        _, stranger = init_node(self.tmp, "x", "CERT-X")
        _, o = self.publish_json("--value", "198.51.100.2", "--tlp", "red", "--to", stranger)
        self.assertEqual(o["warnings"], [f"recipient {stranger} is not a configured peer, and no "
                                         "peer may receive this record to pass it on"])
        # With CERT-LV (MaxTLP red) among the recipients, the record can travel on through it.
        _, o = self.publish_json("--value", "198.51.100.3", "--tlp", "red", "--to", stranger,
                                 "--to", self.lv)
        self.assertEqual(o["warnings"], [])

    def test_undefined_community(self):
        r, o = self.publish_json("--value", "198.51.100.4", "--tlp", "amber", "--community",
                                 "energy-isac", "--community", "nowhere")
        self.assertEqual(o["warnings"], ["community nowhere: no [Peer] or [Client] Community "
                                         "line and no trusted roster defines it, so nobody is in "
                                         "it"])
        self.assertTrue(o["new"])
        r = ok("publish", "-c", self.conf, "--type", "ip-dst", "--value", "198.51.100.5",
               "--tlp", "green")
        self.assertEqual(r.err, "")  # a reachable audience: no warning, output unchanged
        self.assertRegex(r.out, "^[0-9a-f]{64}\n$")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RefusalsVisible(unittest.TestCase):
    """Point 6: a (CERT-A) lets b have GREEN at most; b believes a is in community x, a does not (GREEN: no client ground to take in b's favour).
    a's AMBER record is refused towards b (ceiling); b's record for x is refused by a's inbound
    gate. Both show per peer in status --json and /metrics, and a's debug log names the record,
    the peer and the verdict."""

    def test_status_metrics_and_debug_log(self):
        mesh = Mesh()
        failed = True
        try:
            a, b = mesh.add("a", "CERT-A"), mesh.add("b", "CERT-B")
            a.add_peer(b, "green")
            ok("peer", "add", "-c", b.conf, "--key", a.key, "--endpoint", f"127.0.0.1:{a.port}",
               "--org", "CERT-A", "--name", "a", "--community", "x")
            mport = free_port()
            with open(a.conf, "a") as f:
                f.write(f"\n[HTTP]\nListen = 127.0.0.1:{free_port()}\n"
                        f"MetricsListen = 127.0.0.1:{mport}\n")
            a.start("--log-level", "debug")
            b.start()
            wait_for(lambda: a.connected() == {"b"}, what="a and b connected")
            amber = a.publish("ip-dst", "203.0.113.20", "amber")
            b.publish("ip-dst", "203.0.113.21", "green", communities=["x"])

            def gossip_of_b():
                return a.peer_stats()["b"]["gossip"]
            wait_for(lambda: gossip_of_b()["refused"].get("ceiling", 0) >= 1
                     and gossip_of_b()["refused_inbound"] >= 1, what="both refusals counted")
            self.assertGreaterEqual(a.status()["gossip"]["refused_inbound"], 1)
            line = wait_for(lambda: [l for l in a.log_text().splitlines()
                                     if f"record {amber[:16]}: not sent: ceiling" in l],
                            what="the debug line")[0]
            self.assertIn(" debug tlpmesh: gossip peer=" + b.key, line)
            self.assertNotIn("not sent", b.log_text())  # info level: no debug lines

            with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=10) as resp:
                text = resp.read().decode()
            self.assertRegex(text, r'tlpmesh_peer_gate_refusals_total\{peer="%s",'
                             r'reason="ceiling"\} [1-9]' % re.escape(b.key))
            self.assertRegex(text, r'tlpmesh_peer_refused_inbound_total\{peer="%s"\} [1-9]'
                             % re.escape(b.key))
            self.assertRegex(text, r"\ntlpmesh_gate_refusals_inbound_total [1-9]")
            failed = False
        finally:
            mesh.close(failed)


if __name__ == "__main__":
    unittest.main()
