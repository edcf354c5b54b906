"""`tlpmesh export` end to end: records at every TLP published on a node, every format exported,
exact contents, the ceiling, STIX validated against the OASIS schemas (local files, no network),
atomic replacement, and --every following the store until SIGTERM."""
import base64
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tlpm import BIN, DATA, NodeTest, tlpmesh, wait_for  # noqa: E402

SCHEMAS = os.path.join(DATA, "stix2-json-schemas", "schemas")
SCHEMA_BASE = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"
LANTERN = os.path.join(DATA, "samples", "misp-event-paper-lantern.json")

# (type, value, tlp) published once each; RED goes to this node itself.
RECORDS = [
    ("ip-dst", "203.0.113.7", "clear"),
    ("domain", "green.example", "green"),
    ("url", "http://amber.example/x", "amber"),
    ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "amber+strict"),
    ("ip-src", "192.0.2.9", "red"),
]


def read_text(path):
    with open(path) as f:
        return f.read()


class ExportCliTest(NodeTest):
    def setUp(self):
        super().setUp()
        for t, v, tlp in RECORDS:
            args = ["--type", t, "--value", v, "--tlp", tlp]
            if tlp == "red":
                args += ["--to", self.pub]
            r = tlpmesh("publish", "-c", self.conf, *args)
            self.assertEqual(r.rc, 0, r)

    def export(self, fmt, out, *args):
        return tlpmesh("export", "-c", self.conf, "--format", fmt, "-o", out, *args)

    def read(self, *p):
        return read_text(self.tmp.join(*p))

    def test_text_and_ceilings(self):
        out = self.tmp.join("list.txt")
        r = self.export("text", out)
        self.assertEqual(r.rc, 0, r)
        # default ceiling amber: AMBER+STRICT and RED stay in
        self.assertEqual(self.read("list.txt"), "203.0.113.7\ngreen.example\nhttp://amber.example/x\n")
        self.assertEqual(self.export("text", out, "--max-tlp", "green").rc, 0)
        self.assertEqual(self.read("list.txt"), "203.0.113.7\ngreen.example\n")
        self.assertEqual(self.export("text", out, "--max-tlp", "red").rc, 0)
        self.assertEqual(self.read("list.txt").splitlines(),
                         [v for _, v, _ in RECORDS])
        self.assertEqual(self.export("text", out, "--max-tlp", "red", "--type", "ip-src",
                                     "--type", "ip-dst").rc, 0)
        self.assertEqual(self.read("list.txt"), "203.0.113.7\n192.0.2.9\n")

    def test_revoked_never_exported(self):
        ids = tlpmesh("list", "-c", self.conf, "--json").json_lines()
        green = next(i["id"] for i in ids if i["value"] == "green.example")
        self.assertEqual(tlpmesh("revoke", "-c", self.conf, green).rc, 0)
        self.assertEqual(self.export("text", self.tmp.join("l.txt")).rc, 0)
        self.assertEqual(self.read("l.txt"), "203.0.113.7\nhttp://amber.example/x\n")

    def test_line_formats(self):
        self.assertEqual(self.export("zeek", self.tmp.join("intel.txt")).rc, 0)
        lines = self.read("intel.txt").splitlines()
        self.assertEqual(lines[0], "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc"
                                   "\tmeta.url\tmeta.do_notice\tmeta.if_in")
        rows = [l.split("\t") for l in lines[1:]]
        self.assertEqual([(r[0], r[1], r[3], r[4], r[5], r[6]) for r in rows], [
            ("203.0.113.7", "Intel::ADDR", "TLP:CLEAR", "-", "T", "-"),
            ("green.example", "Intel::DOMAIN", "TLP:GREEN", "-", "T", "-"),
            ("amber.example/x", "Intel::URL", "TLP:AMBER", "-", "T", "-")])
        self.assertTrue(all(r[2].startswith("tlpmesh:") and len(r[2]) == 8 + 64 for r in rows))

        self.assertEqual(self.export("hosts", self.tmp.join("hosts")).rc, 0)
        h = self.read("hosts").splitlines()
        self.assertEqual(h[0], "# Blocklist in the HOSTS format")
        self.assertEqual(h[2:], ["0.0.0.0 green.example"])

        self.assertEqual(self.export("csv", self.tmp.join("m.csv"), "--max-tlp", "green").rc, 0)
        c = self.read("m.csv").splitlines()
        self.assertEqual(c[0], "uuid,event_id,category,type,value,comment,to_ids,date,"
                               "object_relation,attribute_tag,object_uuid,object_name,"
                               "object_meta_category,origin_organisation,origin_key,"
                               "record_id,audience")
        self.assertEqual(len(c), 3)
        self.assertIn('"Network activity","domain","green.example","","1"', c[2])
        self.assertIn('"tlp:green"', c[2])

    def test_suricata_dirs(self):
        d = self.tmp.join("sur")
        self.assertEqual(self.export("suricata", d, "--max-tlp", "red").rc, 0)
        self.assertEqual(self.read("sur", "ip.lst"), "203.0.113.7\n192.0.2.9\n")
        self.assertEqual(self.read("sur", "domains.lst"),
                         base64.b64encode(b"green.example").decode() + "\n")
        self.assertEqual(self.read("sur", "urls.lst"),
                         base64.b64encode(b"http://amber.example/x").decode() + "\n")
        self.assertEqual(self.read("sur", "sha256.lst"), RECORDS[3][1] + "\n")
        self.assertIn("load domains.lst", self.read("sur", "tlpmesh.rules"))
        self.assertEqual(sorted(os.listdir(d)), sorted([
            "ip.lst", "domains.lst", "urls.lst", "emails.lst", "filenames.lst", "md5.lst",
            "sha1.lst", "sha256.lst", "useragents.lst", "ja3.lst", "certs.lst", "ports.rules",
            "shared.rules", "tlpmesh.rules"]))
        d = self.tmp.join("iprep")
        self.assertEqual(self.export("suricata-iprep", d, "--max-tlp", "red").rc, 0)
        self.assertEqual(self.read("iprep", "reputation.list"),
                         "203.0.113.7,2,64\n192.0.2.9,1,64\n")  # confidence 50 -> 64
        self.assertTrue(self.read("iprep", "categories.txt").startswith("1,tlpmesh-src,"))

    def test_misp_feed(self):
        d = self.tmp.join("feed")
        self.assertEqual(self.export("misp-feed", d, "--max-tlp", "red").rc, 0)
        manifest = json.loads(self.read("feed", "manifest.json"))
        # one event per TLP level, tagged with exactly that level, holding only its records
        levels = {}
        for uuid, meta in manifest.items():
            self.assertEqual(meta["Orgc"]["name"], "CERT-A")
            (tag,) = [t["name"] for t in meta["Tag"]]
            ev = json.loads(self.read("feed", uuid + ".json"))["Event"]
            self.assertEqual((ev["uuid"], [t["name"] for t in ev["Tag"]]), (uuid, [tag]))
            for a in ev["Attribute"]:
                self.assertEqual(a["Tag"][0]["name"], tag)
            levels[tag] = (uuid, [a["value"] for a in ev["Attribute"]])
        self.assertEqual({tag: values for tag, (_, values) in levels.items()},
                         {"tlp:" + tlp: [v] for _, v, tlp in RECORDS})
        event_of = {v: levels["tlp:" + tlp][0] for _, v, tlp in RECORDS}
        self.assertEqual(self.read("feed", "hashes.csv").splitlines(),
                         [hashlib.md5(v.encode()).hexdigest() + "," + event_of[v]
                          for _, v, _ in RECORDS])
        self.assertEqual(sorted(os.listdir(d)),
                         sorted([u + ".json" for u in manifest] + ["hashes.csv", "manifest.json"]))

        # a re-export under the default ceiling updates the same events and empties those above
        # it: the earlier export's RED and AMBER+STRICT records do not stay on disk
        self.assertEqual(self.export("misp-feed", d).rc, 0)
        again = json.loads(self.read("feed", "manifest.json"))
        self.assertEqual(sorted(again), sorted(levels[t][0] for t in
                                               ("tlp:clear", "tlp:green", "tlp:amber")))
        for tag in ("tlp:amber+strict", "tlp:red"):
            ev = json.loads(self.read("feed", levels[tag][0] + ".json"))["Event"]
            self.assertEqual((ev["Tag"], ev["Attribute"]), ([{"name": tag}], []))
        self.assertEqual(len(os.listdir(d)), 7)
        # a revoked record stays in its event as MISP's deletion (MISP deletes nothing absent)
        ids = tlpmesh("list", "-c", self.conf, "--json").json_lines()
        green = next(i["id"] for i in ids if i["value"] == "green.example")
        self.assertEqual(tlpmesh("revoke", "-c", self.conf, green).rc, 0)
        self.assertEqual(self.export("misp-feed", d).rc, 0)
        gone = levels["tlp:green"][0]
        self.assertIn(gone, json.loads(self.read("feed", "manifest.json")))
        self.assertEqual([(a["value"], a["deleted"], a["to_ids"]) for a in json.loads(
            self.read("feed", gone + ".json"))["Event"]["Attribute"]],
            [("green.example", True, False)])
        self.assertNotIn(hashlib.md5(b"green.example").hexdigest(),
                         self.read("feed", "hashes.csv"))

    def validate_stix(self, bundle):
        """Every object against its OASIS schema and the bundle against bundle.json (local files
        only: a $ref to the network fails the test)."""
        try:
            import jsonschema
        except ImportError:
            self.skipTest("python3-jsonschema is not installed (scripts/setup.sh installs it)")
        self.assertTrue(os.path.isfile(os.path.join(SCHEMAS, "common", "bundle.json")), SCHEMAS)
        store = {}
        for root, _, files in os.walk(SCHEMAS):
            for f in files:
                with open(os.path.join(root, f)) as fh:
                    s = json.load(fh)
                store[s.get("$id", SCHEMA_BASE + os.path.relpath(os.path.join(root, f), SCHEMAS))] = s
        bundle_schema = store[SCHEMA_BASE + "common/bundle.json"]
        cls = jsonschema.validators.validator_for(bundle_schema)
        def offline(uri):  # every $ref must resolve to a file of tests/data, never the network
            raise AssertionError(f"schema {uri} is not in {SCHEMAS}")
        no_net = {"http": offline, "https": offline}
        resolver = jsonschema.RefResolver(base_uri=SCHEMA_BASE + "common/bundle.json",
                                          referrer=bundle_schema, store=store, handlers=no_net)
        for obj in bundle["objects"]:
            schema = store[SCHEMA_BASE + {"identity": "sdos/identity.json",
                                          "indicator": "sdos/indicator.json",
                                          "vulnerability": "sdos/vulnerability.json",
                                          "marking-definition": "common/marking-definition.json"}[obj["type"]]]
            cls(schema, resolver=jsonschema.RefResolver(base_uri=schema["$id"], referrer=schema,
                                                        store=store, handlers=no_net)).validate(obj)
        cls(bundle_schema, resolver=resolver).validate(bundle)

    def test_stix_validates(self):
        out = self.tmp.join("b.json")
        self.assertEqual(self.export("stix", out, "--max-tlp", "red").rc, 0)
        bundle = json.loads(self.read("b.json"))
        self.validate_stix(bundle)
        types = [o["type"] for o in bundle["objects"]]
        self.assertEqual(types.count("indicator"), 5)
        self.assertEqual(types.count("marking-definition"), 5)
        red = [o for o in bundle["objects"] if o["type"] == "indicator" and "192.0.2.9" in o["pattern"]]
        self.assertEqual(red[0]["object_marking_refs"],
                         ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"])
        r = self.export("stix", out, "--stix-tlp1")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", self.read("b.json"))

    def test_stix_new_types_validate(self):
        """issue 16: the MISP fixture with every type, exported as STIX, against the schemas."""
        r = tlpmesh("import", "-c", self.conf, "--format", "misp", LANTERN)
        self.assertEqual(r.rc, 0, r)
        out = self.tmp.join("lantern.json")
        r = self.export("stix", out, "--type", "yara", "--type", "sigma", "--type", "snort",
                        "--type", "vulnerability", "--type", "ip-dst|port", "--type", "AS",
                        "--type", "regkey|value", "--type", "user-agent", "--type", "tlsh",
                        "--type", "ja3-fingerprint-md5")
        self.assertEqual(r.rc, 0, r)
        # STIX has no JA3 object: counted, not guessed
        self.assertEqual(r.err, "tlpmesh export: left out 1 records the stix format cannot carry: "
                                "1 no STIX pattern for the type\n")
        bundle = json.loads(self.read("lantern.json"))
        self.validate_stix(bundle)
        by_type = {}
        for o in bundle["objects"]:
            by_type.setdefault(o["type"], []).append(o)
        self.assertEqual([v["name"] for v in by_type["vulnerability"]], ["CVE-2023-4966"])
        self.assertEqual(sorted(i["pattern_type"] for i in by_type["indicator"]),
                         ["sigma", "snort", "stix", "stix", "stix", "stix", "stix", "yara"])
        with open(LANTERN, encoding="utf-8") as f:
            yara = next(a["value"] for a in json.load(f)["Event"]["Attribute"] if a["type"] == "yara")
        self.assertEqual(next(i["pattern"] for i in by_type["indicator"]
                              if i["pattern_type"] == "yara"), yara)  # byte for byte

    def test_bad_arguments(self):
        out = self.tmp.join("x")
        for args in [["--format", "yaml", "-o", out], ["--format", "text"],
                     ["--format", "text", "-o", out, "--max-tlp", "purple"],
                     ["--format", "text", "-o", out, "--type", "impfuzzy"],
                     ["--format", "text", "-o", out, "--since", "yesterday"],
                     ["--format", "text", "-o", out, "--every", "0s"],
                     ["--format", "text", "-o", out, "--stix-tlp1"],
                     ["--format", "text", "-o", out, "--bogus"]]:
            r = tlpmesh("export", "-c", self.conf, *args)
            self.assertEqual(r.rc, 2, (args, r))
            self.assertEqual(r.err.count("\n"), 1, r)
            self.assertTrue(r.err.startswith("tlpmesh export: "), r)
        self.assertFalse(os.path.exists(out))

    def test_atomic_replace(self):
        out = self.tmp.join("out", "b.json")
        os.mkdir(self.tmp.join("out"))
        self.assertEqual(self.export("stix", out).rc, 0)
        before = self.read("out", "b.json")

        def small_files():  # writes past 2 KiB fail with EFBIG (SIGXFSZ ignored)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

        p = subprocess.run([BIN, "export", "-c", self.conf, "--format", "stix", "--max-tlp", "red",
                            "-o", out], capture_output=True, text=True, preexec_fn=small_files)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn(out, p.stderr)
        self.assertEqual(self.read("out", "b.json"), before)
        self.assertEqual(os.listdir(self.tmp.join("out")), ["b.json"])  # no temporary left
        # a directory format over a regular file: refused, file intact
        r = self.export("suricata", out)
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(self.read("out", "b.json"), before)
        r = self.export("text", self.tmp.join("missing-dir", "x.txt"))
        self.assertEqual(r.rc, 1, r)

    def test_every_follows_store(self):
        out = self.tmp.join("every.txt")
        p = subprocess.Popen([BIN, "export", "-c", self.conf, "--format", "text", "--every", "1s",
                              "-o", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: os.path.exists(out) and "203.0.113.7" in read_text(out),
                     what="first export")
            r = tlpmesh("publish", "-c", self.conf, "--type", "domain", "--value", "late.example",
                        "--tlp", "green")
            self.assertEqual(r.rc, 0, r)
            wait_for(lambda: "late.example\n" in read_text(out), timeout=20,
                     what="re-export with the new record")
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=10), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()


if __name__ == "__main__":
    unittest.main()
