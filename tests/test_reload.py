"""Reload (issue 13, point 3): SIGHUP and `tlpmesh reload -c CONF` make a running node re-read
peers, ceilings, communities, trusted roster owners, clients and log settings at once; what needs
a restart is named in one line; every outcome reaches the log file as well as stderr. Real
`tlpmesh run` processes."""
import base64
import json
import os
import signal
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import DEADLINE_S, Mesh, converge, free_port, ok  # noqa: E402
from tlpm import tlpmesh  # noqa: E402


def values(node):
    return {r.get("value") for r in node.records().values()}


def file_text(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Reload(unittest.TestCase):
    def setUp(self):
        self.mesh = Mesh()
        self.failed = True
        self.a = self.mesh.add("a", "CERT-A")
        self.b = self.mesh.add("b", "CERT-B")
        self.mesh.link("a", "b", ceiling_ab="green")

    def tearDown(self):
        self.mesh.close(self.failed)

    def arrives(self, node, value, what):
        converge(lambda: None if value in values(node) else f"{value} not at {node.name}",
                 DEADLINE_S, what)

    def test_ceiling_and_community_apply_at_once(self):
        a, b = self.a, self.b
        self.mesh.start()
        self.mesh.wait_links()
        a.publish("domain", "amber.example", "amber")
        a.publish("domain", "community.example", "amber", communities=["energy"])
        a.publish("domain", "green.example", "green")
        self.arrives(b, "green.example", "the GREEN record")
        self.assertNotIn("amber.example", values(b), "ceiling green keeps AMBER from b")

        a.rewrite_conf("\nMaxTLP = green\n", "\nMaxTLP = amber\n")
        r = ok("reload", "-c", a.conf)
        self.assertEqual(r.out, f"reloaded {a.conf}: 1 peers\n")
        self.arrives(b, "amber.example", "the AMBER record after the ceiling was raised")
        self.assertNotIn("community.example", values(b), "b is in no community energy")

        a.rewrite_conf("\nMaxTLP = amber\n", "\nMaxTLP = amber\nCommunity = energy\n")
        a.proc.send_signal(signal.SIGHUP)
        self.arrives(b, "community.example", "the community's record after b joined it")
        self.failed = False

    def test_trusted_roster_owner(self):
        """B's roster puts B in community isac; A counts it only once its config trusts B."""
        a, b = self.a, self.b
        ok("community", "create", "-c", b.conf, "isac", "--member", f"{a.key}=CERT-A")
        self.mesh.start()
        self.mesh.wait_links()
        converge(lambda: None if "isac" in ok("community", "show", "-c", a.conf).out
                 else "no roster at A", DEADLINE_S, "B's roster at A")
        a.rewrite_conf("\nMaxTLP = green\n", "\nMaxTLP = amber\n")
        ok("reload", "-c", a.conf)
        a.publish("domain", "isac.example", "amber", communities=["isac"])
        a.publish("domain", "marker.example", "amber")
        self.arrives(b, "marker.example", "an AMBER record for every partner")
        self.assertNotIn("isac.example", values(b), "A does not trust B's roster yet")

        a.trust_roster_owner(b.key)
        ok("reload", "-c", a.conf)
        self.arrives(b, "isac.example", "the community's record once A trusts B's roster")
        self.failed = False

    def test_peers_clients_logs_and_restart_line(self):
        a = self.a
        http, logfile = free_port(), self.mesh.tmp.join("a", "later.log")
        secret = self.mesh.tmp.join("a", "misp.secret")
        with open(secret, "w") as f:
            f.write("s3cret-s3cret-s3cret-s3cret\n")
        os.chmod(secret, 0o600)
        with open(a.conf, "a") as f:
            f.write(f"\n[HTTP]\nListen = 127.0.0.1:{http}\n")
        self.mesh.start(["a"])
        converge(lambda: None if a.answering() else "no control socket", DEADLINE_S, "start")

        def taxii_status():
            auth = base64.b64encode(b"misp:s3cret-s3cret-s3cret-s3cret").decode()
            req = urllib.request.Request(f"http://127.0.0.1:{http}/taxii2/",
                                         headers={"Authorization": "Basic " + auth})
            try:
                with urllib.request.urlopen(req, timeout=DEADLINE_S) as resp:
                    return resp.status
            except urllib.error.HTTPError as e:
                return e.code
        self.assertEqual(taxii_status(), 401)

        # peers, clients and the log settings at once; Listen and DataDir named, kept
        port = a.port
        a.rewrite_conf(f"Listen = 127.0.0.1:{port}\n",
                       f"Listen = 127.0.0.1:{port + 1}\nLogFile = {logfile}\nLogFormat = json\n")
        a.rewrite_conf("Network = test-mesh ", "Network = other-mesh ")
        ok("peer", "remove", "-c", a.conf, self.b.key)
        with open(a.conf, "a") as f:
            f.write(f"\n[Client]\nName = misp\nOrganisation = CERT-A\nSecretFile = {secret}\n")
        r = ok("reload", "-c", a.conf)
        self.assertEqual(r.out, f"reloaded {a.conf}: 0 peers\n"
                         "needs a restart to take effect: Listen, Network\n")
        self.assertEqual(taxii_status(), 200, "the new [Client] is accepted")
        st = a.status()
        self.assertEqual(st["peers"], [])
        self.assertEqual(st["listen"], f"127.0.0.1:{port}", "the running address stays")
        lines = [json.loads(l) for l in file_text(logfile).splitlines()]
        events = [l["event"] for l in lines]
        self.assertIn("reloaded", events, "the outcome is in the new log file, as JSON")
        needs = [l for l in lines if l["event"] == "reload_needs_restart"]
        # `peer remove` asked for a reload too: one restart line per reload
        self.assertEqual(len(needs), events.count("reloaded"), lines)
        self.assertIn("reload: Listen, Network changed: takes effect at the next restart",
                      needs[0]["detail"])
        self.assertIn("reload: Listen, Network changed", a.log_text(), "and on stderr")

        # a config with problems: the CLI says them and asks nothing; SIGHUP is refused, logged
        with open(a.conf, "a") as f:
            f.write("NoSuchKey = 1\n")
        r = tlpmesh("reload", "-c", a.conf)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("NoSuchKey", r.err)
        a.proc.send_signal(signal.SIGHUP)
        converge(lambda: None if "reload_refused" in file_text(logfile) else "no refusal",
                 DEADLINE_S, "the refusal in the log file")
        self.assertIn("reload refused, keeping the running configuration", a.log_text())
        self.assertEqual(taxii_status(), 200, "the running config stays")

        a.rewrite_conf("NoSuchKey = 1\n", "")
        a.stop()
        r = tlpmesh("reload", "-c", a.conf)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("no node answers on", r.err)
        self.failed = False


if __name__ == "__main__":
    unittest.main(verbosity=2)
