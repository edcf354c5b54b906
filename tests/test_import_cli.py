"""`tlpmesh import` end to end: the samples of tests/data into a node, exact store contents, dedupe,
--dry-run, bad files that change nothing, warninglists (issue: speak the SOC's languages)."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tlpm import DATA, NodeTest, store_snapshot, tlpmesh  # noqa: E402

SAMPLES = os.path.join(DATA, "samples")
MISP = os.path.join(SAMPLES, "misp-event-57c4445b-c548-4654-af0b-4be3950d210f.json")
STIX = os.path.join(SAMPLES, "stix21-bundle-using-marking-definitions.json")
RFC1918 = os.path.join(SAMPLES, "warninglist-rfc1918.json")

MISP_WANT = [
    ("filename", "3Z4wnG9603it23y.exe", "clear"),
    ("md5", "0749bae92ca336a02c83d126e04ec628", "clear"),
    ("regkey|value",
     "Software\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Run|%TEMP%\\3Z4wnG9603it23y.exe",
     "clear"),
    ("sha1", "77b0c41b7d340b8a3d903f21347bbf06aa766b5b", "clear"),
    ("sha256", "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68", "clear"),
]
STIX_WANT = [("ip-dst", "10.0.0.0", "amber")]


class ImportCliTest(NodeTest):
    def imp(self, *args):
        return tlpmesh("import", "-c", self.conf, *args)

    def listed(self):
        r = tlpmesh("list", "-c", self.conf, "--json")
        self.assertEqual(r.rc, 0, r)
        return sorted((o["type"], o["value"], o["tlp"]) for o in r.json_lines())

    def summary(self, r):
        self.assertEqual(r.rc, 0, r)
        lines = r.json_lines()
        self.assertEqual(len(lines), 1, r)
        return lines[0]

    def test_samples_exact_then_already_present(self):
        s = self.summary(self.imp("--format", "misp", MISP, "--json"))
        self.assertEqual((s["candidates"], s["imported"], s["already_present"], s["invalid"]),
                         (9, 5, 0, 0))
        # link, link, comment, text: the event's description, nothing to detect
        self.assertEqual(s["skipped"]["not an indicator"], 4)
        self.assertEqual(s["skipped_total"], 4)
        s = self.summary(self.imp("--format", "stix", STIX, "--json"))
        self.assertEqual((s["imported"], s["skipped_total"]), (1, 0))
        self.assertEqual(self.listed(), sorted(MISP_WANT + STIX_WANT))
        # the MISP comment carries the event info; tags the event's non-TLP tags
        md5 = [o for o in tlpmesh("list", "-c", self.conf, "--json", "--type", "md5").json_lines()]
        self.assertEqual(md5[0]["comment"],
                         "Ransomware - Xorist: Imported via the Freetext Import Tool")
        self.assertEqual(len(md5[0]["tags"]), 3)
        snap = store_snapshot(self.conf)
        s = self.summary(self.imp("--format", "misp", MISP, "--json"))
        self.assertEqual((s["imported"], s["already_present"]), (0, 5))
        s = self.summary(self.imp("--format", "stix", STIX, "--json"))
        self.assertEqual((s["imported"], s["already_present"]), (0, 1))
        self.assertEqual(store_snapshot(self.conf), snap)

    def test_human_summary(self):
        r = self.imp("--format", "misp", MISP)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err, f"tlpmesh import: {MISP}: imported 5, already present 0, "
                                "skipped 4 (not an indicator: 4), invalid 0\n")

    def test_dry_run_stores_nothing(self):
        r = tlpmesh("publish", "-c", self.conf, "--type", "md5", "--value", "1" * 32, "--tlp",
                    "clear")
        self.assertEqual(r.rc, 0, r)
        snap = store_snapshot(self.conf)
        s = self.summary(self.imp("--format", "misp", MISP, "--dry-run", "--json"))
        self.assertEqual((s["imported"], s["dry_run"]), (5, True))
        self.assertEqual(store_snapshot(self.conf), snap)

    def test_tlp_floor_and_no_tlp(self):
        # the source says clear; --tlp amber is a floor: amber wins
        self.summary(self.imp("--format", "misp", MISP, "--tlp", "amber", "--json"))
        self.assertEqual({t for (_, _, t) in self.listed()}, {"amber"})
        # the source says amber; --tlp green cannot lower it
        self.summary(self.imp("--format", "stix", STIX, "--tlp", "green", "--json"))
        self.assertIn(("ip-dst", "10.0.0.0", "amber"), self.listed())
        text = self.tmp.join("ips.txt")
        with open(text, "w") as f:
            f.write("# c2\n198.51.100.7\n\nnot-an-ip\n")
        snap = store_snapshot(self.conf)
        r = self.imp("--format", "text", "--type", "ip-dst", text)
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.err, f"tlpmesh import: no TLP in {text} and no --tlp given\n")
        self.assertEqual(store_snapshot(self.conf), snap)
        s = self.summary(self.imp("--format", "text", "--type", "ip-dst", text, "--tlp", "green",
                                  "--json"))
        self.assertEqual((s["imported"], s["invalid"]), (1, 1))
        self.assertEqual(s["invalid_values"][0]["value"], "not-an-ip")
        self.assertEqual(s["invalid_values"][0]["where"], f"{text}:4")

    def test_bad_files_exit_2_store_unchanged(self):
        self.summary(self.imp("--format", "misp", MISP, "--json"))
        snap = store_snapshot(self.conf)
        bad = self.tmp.join("bad.json")
        with open(bad, "w") as f:
            f.write('{"Event": {\n "Attribute": [1,]}}')
        r = self.imp("--format", "misp", bad, "--tlp", "green")
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.err.count("\n"), 1)
        self.assertTrue(r.err.startswith(f"tlpmesh import: {bad}: not valid JSON at line 2"), r)
        r = self.imp("--format", "stix", MISP, "--tlp", "green")
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.err, f"tlpmesh import: {MISP}: not a STIX bundle (no \"objects\" array)\n")
        missing = self.tmp.join("missing.json")
        r = self.imp("--format", "misp", missing)
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.err, f"tlpmesh import: {missing}: No such file or directory\n")
        r = self.imp("--format", "yaml", MISP)
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(store_snapshot(self.conf), snap)

    def test_warninglist_skips_then_force(self):
        r = self.imp("--format", "stix", STIX, "--warninglist", RFC1918, "--json")
        s = self.summary(r)
        self.assertEqual((s["imported"], s["skipped"]["on warninglist"]), (0, 1))
        self.assertEqual(s["warninglists"], {"List of RFC 1918 CIDR blocks": 1})
        self.assertIn("  on warninglist 'List of RFC 1918 CIDR blocks': 1\n", r.err)
        self.assertEqual(self.listed(), [])
        s = self.summary(self.imp("--format", "stix", STIX, "--warninglist", RFC1918, "--force",
                                  "--json"))
        self.assertEqual(s["imported"], 1)
        self.assertEqual(self.listed(), STIX_WANT)

    def test_default_warninglist_dir_and_publish(self):
        self.assertEqual(tlpmesh("publish", "-c", self.conf, "--type", "md5", "--value", "1" * 32,
                                 "--tlp", "clear").rc, 0)
        wdir = self.tmp.join("a", "warninglists")  # DataDir is a/data: DataDir/../warninglists
        os.mkdir(wdir)
        with open(RFC1918) as src, open(os.path.join(wdir, "rfc1918.json"), "w") as dst:
            dst.write(src.read())
        snap = store_snapshot(self.conf)
        r = tlpmesh("publish", "-c", self.conf, "--type", "ip-dst", "--value", "192.168.1.1",
                    "--tlp", "green")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.err, "tlpmesh publish: value 192.168.1.1 is on warninglist 'List of "
                                "RFC 1918 CIDR blocks'; use --force to publish anyway\n")
        self.assertEqual(store_snapshot(self.conf), snap)
        r = tlpmesh("publish", "-c", self.conf, "--type", "ip-dst", "--value", "192.168.1.1",
                    "--tlp", "green", "--force")
        self.assertEqual(r.rc, 0, r)
        s = self.summary(self.imp("--format", "stix", STIX, "--json"))
        self.assertEqual(s["skipped"]["on warninglist"], 1)

    def test_csv_column_and_red_needs_to(self):
        csv = self.tmp.join("misp.csv")
        with open(csv, "w") as f:
            f.write("uuid,type,value,to_ids\n1,domain|ip,evil.example|203.0.113.9,1\n"
                    "2,ip-dst,203.0.113.10,0\n")
        s = self.summary(self.imp("--format", "csv", "--column", "value", csv, "--tlp", "amber",
                                  "--community", "energy-isac", "--json"))
        self.assertEqual((s["imported"], s["skipped"]["not to_ids"]), (2, 1))
        self.assertEqual(self.listed(), [("domain", "evil.example", "amber"),
                                         ("ip-dst", "203.0.113.9", "amber")])
        s = self.summary(self.imp("--format", "csv", "--column", "value", csv, "--tlp", "red",
                                  "--json"))
        self.assertEqual((s["imported"], s["skipped"]["red without --to"]), (0, 2))


if __name__ == "__main__":
    unittest.main(verbosity=2)
