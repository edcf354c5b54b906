"""Monitoring (issue 13, point 7): a live node's /metrics passes `promtool check metrics`, the
alerting rules pass `promtool check rules`, and the rules and the Grafana dashboard name only
metrics the node exports. Real `tlpmesh run` processes: two linked nodes, so that the per-peer
series exist too."""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import DEADLINE_S, Mesh, converge, free_port  # noqa: E402

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RULES = os.path.join(SRC, "docs/monitoring/tlpmesh.rules.yml")
DASHBOARD = os.path.join(SRC, "docs/monitoring/tlpmesh-dashboard.json")
PROMTOOL = shutil.which("promtool")
NO_PROMTOOL = "promtool absent (scripts/setup.sh installs Debian's prometheus)"
METRIC = re.compile(r"\btlpmesh_[a-z0-9_]+")


def metric_names(text):
    """The metric names an exposition text defines (# TYPE lines)."""
    return set(re.findall(r"(?m)^# TYPE (\S+) ", text))


class LiveMetrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mesh = Mesh()
        cls.failed = True
        a, _ = cls.mesh.add("a", "CERT-A"), cls.mesh.add("b", "CERT-B")
        cls.mesh.link("a", "b")
        port = free_port()
        with open(a.conf, "a") as f:
            f.write(f"\n[HTTP]\nListen = 127.0.0.1:{free_port()}\nMetricsListen = 127.0.0.1:{port}\n")
        cls.mesh.start()
        cls.mesh.wait_links()
        a.publish("domain", "metrics.example", "green")
        converge(lambda: None if len(cls.mesh.nodes["b"].records()) == 1 else "not at b",
                 DEADLINE_S, "the record at b")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=DEADLINE_S) as r:
            cls.text = r.read().decode()
        cls.names = metric_names(cls.text)

    @classmethod
    def tearDownClass(cls):
        cls.mesh.close(cls.failed)

    def test_exported(self):
        self.assertIn("tlpmesh_peer_gate_refusals_total", self.names)
        self.assertIn("tlpmesh_verify_jobs_pending", self.names)
        self.assertRegex(self.text, r'(?m)^tlpmesh_peers\{state="connected"\} 1$')
        LiveMetrics.failed = False

    @unittest.skipUnless(PROMTOOL, NO_PROMTOOL)
    def test_promtool_check_metrics(self):
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=self.text, capture_output=True,
                           text=True)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_rules_and_dashboard_use_exported_metrics(self):
        with open(RULES) as f:
            rules = f.read()
        with open(DASHBOARD) as f:
            dash = json.load(f)
        exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
        self.assertGreaterEqual(len(dash["panels"]), 10)
        for where, text in [("rules", rules), ("dashboard", "\n".join(exprs))]:
            used = set(METRIC.findall(text))
            self.assertTrue(used, where)
            self.assertEqual(sorted(used - self.names), [], f"{where} names unexported metrics")
        # every exported metric is on the dashboard
        self.assertEqual(sorted(self.names - set(METRIC.findall("\n".join(exprs)))), [],
                         "exported metrics without a dashboard panel")


class Rules(unittest.TestCase):
    @unittest.skipUnless(PROMTOOL, NO_PROMTOOL)
    def test_promtool_check_rules(self):
        r = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS: 12 rules found", r.stdout)

    def test_alerts_cover_the_issue(self):
        with open(RULES) as f:
            rules = f.read()
        for alert in ["TlpmeshPeerDown", "TlpmeshInboundRefusalsRising", "TlpmeshStoreNearMapSize",
                      "TlpmeshVerifyBacklog", "TlpmeshStoreDiskFull"]:
            self.assertIn(f"- alert: {alert}\n", rules)


if __name__ == "__main__":
    unittest.main(verbosity=2)
