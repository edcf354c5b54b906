"""Process-level test of the live MISP feed (issue 16 point 2): node A serves /misp/feed/ from its
store; the test fetches it as MISP's feed code does (app/Model/Feed.php: manifest.json, then each
event by uuid, then hashes.csv, with the headers MISP sends and the Authorization header its feed
settings add) and imports the files with `tlpmesh import --format misp-feed` on node B, which
then holds exactly the indicators, at exactly the TLPs, that A's gate gives that [Client].
"""
import base64
import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tlpm import BIN, NodeTest, add_http, free_port, init_node, tlpmesh, wait_for  # noqa: E402

SECRET = "misp-secret-0123456789abc"
MISP = "Basic " + base64.b64encode(f"misp:{SECRET}".encode()).decode()
CLEAR_ONLY = "Basic " + base64.b64encode(f"clearonly:{SECRET}".encode()).decode()
MISP_HEADERS = {"Accept": "application/json", "Content-Type": "application/json",
                "MISP-version": "2.4.190"}



class MispFeed(NodeTest):
    def setUp(self):
        super().setUp()
        self.port = free_port()
        add_http(self.conf, self.port, [("misp", "CERT-B", SECRET, None),
                                        ("clearonly", "CERT-C", SECRET, "clear")])
        _, self.other = init_node(self.tmp, "other", "CERT-Z")
        self.ids = {}
        for tlp, value in (("clear", "clear.example.org"), ("green", "green.example.org"),
                           ("amber", "amber.example.org"), ("amber+strict", "strict.example.org"),
                           ("clear", "revoked.example.org")):
            self.ids[value] = self.publish("--type", "domain", "--value", value, "--tlp", tlp)
        self.publish("--type", "ip-dst", "--value", "203.0.113.9", "--tlp", "amber",
                     "--tag", "c2", "--comment", "seen in campaign X")
        self.publish("--type", "md5", "--value", "d41d8cd98f00b204e9800998ecf8427e", "--tlp",
                     "green")
        self.publish("--type", "domain", "--value", "red.example.org", "--tlp", "red",
                     "--to", self.other)
        r = tlpmesh("revoke", "-c", self.conf, self.ids["revoked.example.org"])
        self.assertEqual(r.rc, 0, r)
        self.stderr = open(self.tmp.join("stderr.log"), "a")
        self.proc = subprocess.Popen([BIN, "run", "-c", self.conf], stderr=self.stderr)
        wait_for(lambda: self.get("/healthz", None)[0] == 200, what="/healthz")

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.assertEqual(self.proc.wait(timeout=30), 0, "node exit code")
        self.stderr.close()
        super().tearDown()

    def publish(self, *args, stdin=None):
        r = tlpmesh("publish", "-c", self.conf, *args, "--json", stdin=stdin)
        self.assertEqual(r.rc, 0, r)
        return json.loads(r.out)["id"]

    def get(self, path, auth=MISP, method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = dict(MISP_HEADERS)
            if auth:
                headers["Authorization"] = auth
            c.request(method, path, headers=headers)
            r = c.getresponse()
            return r.status, r.getheader("Content-Type"), r.read()
        except OSError:
            return None, None, b""
        finally:
            c.close()

    def fetch_like_misp(self, feed_url, auth, out):
        """manifest.json, then every event by uuid, then hashes.csv, into directory out."""
        os.makedirs(out)
        st, ctype, body = self.get(feed_url + "/manifest.json", auth)
        self.assertEqual((st, ctype), (200, "application/json"), body)
        manifest = json.loads(body)
        with open(os.path.join(out, "manifest.json"), "wb") as f:
            f.write(body)
        events = {}
        for uuid in manifest:
            st, ctype, body = self.get(f"{feed_url}/{uuid}.json", auth)
            self.assertEqual((st, ctype), (200, "application/json"), body)
            events[uuid] = json.loads(body)["Event"]
            with open(os.path.join(out, uuid + ".json"), "wb") as f:
                f.write(body)
        st, ctype, body = self.get(feed_url + "/hashes.csv", auth)
        self.assertEqual((st, ctype), (200, "text/csv; charset=utf-8"), body)
        with open(os.path.join(out, "hashes.csv"), "wb") as f:
            f.write(body)
        return manifest, events, body.decode()

    def test_fetched_as_misp_does_and_imported_on_another_node(self):
        manifest, events, hashes = self.fetch_like_misp("/misp/feed", MISP,
                                                        self.tmp.join("feed"))
        # one event per origin organisation and TLP level, each tagged with its level
        self.assertEqual(sorted(e["Tag"][0]["name"] for e in manifest.values()),
                         ["tlp:amber", "tlp:clear", "tlp:green"])
        for uuid, m in manifest.items():
            e = events[uuid]
            self.assertEqual(e["uuid"], uuid)
            self.assertEqual((m["Orgc"]["name"], e["Orgc"]["name"]), ("CERT-A", "CERT-A"))
            self.assertEqual(m["Tag"], e["Tag"])
            self.assertTrue(m["timestamp"].isdigit() and m["info"] == e["info"], m)
            for a in e["Attribute"]:
                self.assertIn(e["Tag"][0], a["Tag"])  # each attribute keeps its own level
        attrs = {(a["type"], a["value"]): (uuid, a) for uuid, e in events.items()
                 for a in e["Attribute"] if not a.get("deleted")}
        want = {("domain", "clear.example.org"): "clear", ("domain", "green.example.org"): "green",
                ("domain", "amber.example.org"): "amber", ("ip-dst", "203.0.113.9"): "amber",
                ("md5", "d41d8cd98f00b204e9800998ecf8427e"): "green"}
        self.assertEqual(set(attrs), set(want))  # no AMBER+STRICT, no RED, nothing revoked
        # the revoked record is there as MISP's deletion, and only that
        gone = [a for e in events.values() for a in e["Attribute"] if a.get("deleted")]
        self.assertEqual([(a["value"], a["deleted"], a["to_ids"]) for a in gone],
                         [("revoked.example.org", True, False)])
        self.assertEqual(sorted(hashes.splitlines()), sorted(
            f"{hashlib.md5(v.encode()).hexdigest()},{attrs[(t, v)][0]}" for t, v in want))

        # node B imports the fetched files: the same indicators at the same TLPs
        b_conf, _ = init_node(self.tmp, "b", "CERT-B")
        r = tlpmesh("import", "-c", b_conf, "--format", "misp-feed", self.tmp.join("feed"),
                    "--json")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("revoked in source: 1)", r.err)
        got = tlpmesh("list", "-c", b_conf, "--json").json_lines()
        self.assertEqual({(o["type"], o["value"]): o["tlp"] for o in got}, want)
        ip = [o for o in got if o["value"] == "203.0.113.9"][0]
        self.assertEqual((ip["tags"], ip["comment"].endswith("seen in campaign X")), (["c2"], True))

        # a feed URL written with a final "/" (MISP then asks for //manifest.json) is the same
        st, _, body = self.get("/misp/feed//manifest.json")
        self.assertEqual((st, json.loads(body).keys()), (200, manifest.keys()))

    def test_a_revocation_reaches_misp_as_a_deleted_attribute(self):
        """MISP edits a feed event with what it receives and deletes nothing that is absent
        (Feed.php __updateEventFromFeed): a revocation must come as a newer, deleted attribute."""
        rid = self.publish("--type", "domain", "--value", "later.example.org", "--tlp", "green")
        before, events, hashes = self.fetch_like_misp("/misp/feed", MISP, self.tmp.join("one"))
        (uuid, live), = [(u, a) for u, e in events.items() for a in e["Attribute"]
                         if a["value"] == "later.example.org"]
        self.assertEqual((live.get("deleted", False), live["to_ids"]), (False, True))
        self.assertIn(hashlib.md5(b"later.example.org").hexdigest(), hashes)
        r = tlpmesh("revoke", "-c", self.conf, rid)
        self.assertEqual(r.rc, 0, r)
        # the event's timestamp is the request's second: the next pull must be a later one
        wait_for(lambda: int(time.time()) > int(before[uuid]["timestamp"]), what="a new second")
        after, events, hashes = self.fetch_like_misp("/misp/feed", MISP, self.tmp.join("two"))
        self.assertGreater(int(after[uuid]["timestamp"]), int(before[uuid]["timestamp"]))
        self.assertEqual(int(events[uuid]["timestamp"]), int(after[uuid]["timestamp"]))
        gone, = [a for a in events[uuid]["Attribute"] if a["value"] == "later.example.org"]
        self.assertEqual((gone["uuid"], gone["deleted"], gone["to_ids"]),
                         (live["uuid"], True, False))
        self.assertGreater(int(gone["timestamp"]), int(live["timestamp"]))
        self.assertNotIn(hashlib.md5(b"later.example.org").hexdigest(), hashes)
        # a reader the record never went to gets no deletion of it either
        _, clear, _ = self.fetch_like_misp("/misp/feed", CLEAR_ONLY, self.tmp.join("clear"))
        self.assertEqual([(a["value"], a.get("deleted", False)) for e in clear.values()
                          for a in e["Attribute"]],
                         [("clear.example.org", False), ("revoked.example.org", True)])
        # another node importing the second pull does not take the deleted attribute as live
        b_conf, _ = init_node(self.tmp, "b", "CERT-B")
        r = tlpmesh("import", "-c", b_conf, "--format", "misp-feed", self.tmp.join("two"))
        self.assertEqual(r.rc, 0, r)
        self.assertIn("revoked in source: 2)", r.err)
        got = {o["value"] for o in tlpmesh("list", "-c", b_conf, "--json").json_lines()}
        self.assertNotIn("later.example.org", got)
        self.assertNotIn("revoked.example.org", got)
        self.assertIn("green.example.org", got)

    def test_every_rule_kind_round_trips_exactly(self):
        """MISP has no suricata type: a suricata rule goes out as "snort" with the attribute tag
        tlpmesh:rule="suricata", which the importer reads back (and keeps out of the tags)."""
        rules = {
            "yara": 'rule demo : loader\r\n{\r\n  strings:\r\n    $a = "lantern"\r\n'
                    '  condition:\r\n    $a\r\n}\r\n',
            "sigma": "title: t\nlogsource:\n  product: linux\ndetection:\n  s: {a: b}\n"
                     "  condition: s\n",
            "snort": 'alert tcp any any -> any 80 (msg:"snort demo"; sid:1000001; rev:1;)',
            "suricata": 'alert http any any -> any any (msg:"suricata demo"; '
                        'http.host; content:"x.example"; sid:1000002; rev:1;)',
        }
        for kind, rule in rules.items():
            self.publish("--type", kind, "--value-file", "-", "--tlp", "green", stdin=rule)
        _, events, _ = self.fetch_like_misp("/misp/feed", MISP, self.tmp.join("rules"))
        out = {a["value"]: (a["type"], [t["name"] for t in a["Tag"]])
               for e in events.values() for a in e["Attribute"] if a["value"] in rules.values()}
        self.assertEqual(out, {rules["yara"]: ("yara", ["tlp:green"]),
                               rules["sigma"]: ("sigma", ["tlp:green"]),
                               rules["snort"]: ("snort", ["tlp:green"]),
                               rules["suricata"]: ("snort", ["tlp:green",
                                                             'tlpmesh:rule="suricata"'])})
        b_conf, _ = init_node(self.tmp, "b", "CERT-B")
        r = tlpmesh("import", "-c", b_conf, "--format", "misp-feed", self.tmp.join("rules"))
        self.assertEqual(r.rc, 0, r)
        got = {o["value"]: (o["type"], o["tlp"], o["tags"]) for o in
               tlpmesh("list", "-c", b_conf, "--json").json_lines() if o["value"] in rules.values()}
        self.assertEqual(got, {v: (k, "green", []) for k, v in rules.items()})

    def test_gated_for_the_client_that_asks(self):
        manifest, events, _ = self.fetch_like_misp("/misp/feed", CLEAR_ONLY,
                                                   self.tmp.join("clear"))
        self.assertEqual([e["Tag"][0]["name"] for e in manifest.values()], ["tlp:clear"])
        self.assertEqual([a["value"] for e in events.values() for a in e["Attribute"]
                          if not a.get("deleted")], ["clear.example.org"])
        # an event of another level exists, but not for this reader
        full, _, _ = self.fetch_like_misp("/misp/feed", MISP, self.tmp.join("full"))
        amber = [u for u, m in full.items() if m["Tag"][0]["name"] == "tlp:amber"][0]
        st, _, _ = self.get(f"/misp/feed/{amber}.json", CLEAR_ONLY)
        self.assertEqual(st, 404)
        st, _, body = self.get(f"/misp/feed/{amber}.json")
        self.assertEqual(st, 200, body)
        # the Authorization handling of TAXII: none or wrong is 401, other methods 405
        for auth in (None, "Basic " + base64.b64encode(b"misp:wrong-secret-00000").decode(),
                     "Bearer " + SECRET):
            st, _, _ = self.get("/misp/feed/manifest.json", auth)
            self.assertEqual(st, 401, auth)
        self.assertEqual(self.get("/misp/feed/manifest.json", method="POST")[0], 405)
        for bad in ("/misp/feed/", "/misp/feed/nope.json", "/misp/feed/../manifest.json",
                    "/misp/feed/" + "0" * 36 + ".json"):
            self.assertEqual(self.get(bad)[0], 404, bad)
        # not the feed's: TAXII answers, and refuses MISP's Accept: application/json
        self.assertEqual(self.get("/misp/feedx/manifest.json")[0], 406)
        self.assertEqual(self.get("/healthz", None)[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
