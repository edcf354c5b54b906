"""The command line of a single node (issue: single-node core): exact outputs, exit codes, and
bad input that changes nothing."""
import hashlib
import os
import re
import stat
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tlpm import NodeTest, store_snapshot, tlpmesh  # noqa: E402

HEX64 = re.compile(r"^[0-9a-f]{64}$")
B64KEY = re.compile(r"^[A-Za-z0-9+/]{43}=$")


class CliTest(NodeTest):
    def publish(self, *args):
        return tlpmesh("publish", "-c", self.conf, *args)

    # --- help, version, usage ---
    def test_help_version_usage(self):
        r = tlpmesh("--help")
        self.assertEqual(r.rc, 0)
        for cmd in ["keygen", "pubkey", "init", "check-config", "publish", "query", "show", "list",
                    "revoke", "run", "status", "peer"]:
            self.assertIn(cmd, r.out)
        r = tlpmesh("publish", "--help")
        self.assertEqual(r.rc, 0)
        self.assertIn("example:", r.out)
        r = tlpmesh("--version")
        self.assertEqual(r.rc, 0)
        self.assertRegex(r.out, r"^tlpmesh \d+\.\d+\.\d+\n$")
        r = tlpmesh("frobnicate")
        self.assertEqual(r.rc, 2)
        self.assertEqual(r.err, "tlpmesh: unknown command 'frobnicate' (try tlpmesh --help)\n")
        r = tlpmesh("list", "-c", self.conf, "--bogus")
        self.assertEqual(r.rc, 2)
        self.assertEqual(r.err.count("\n"), 1)
        self.assertIn("--bogus", r.err)

    # --- keys ---
    def test_keygen_pubkey_never_overwrites(self):
        path = self.tmp.join("k.key")
        r = tlpmesh("keygen", "-o", path)
        self.assertEqual(r.rc, 0, r)
        pub = r.out.strip()
        self.assertRegex(pub, B64KEY)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        before = open(path, "rb").read()
        r = tlpmesh("keygen", "-o", path)
        self.assertEqual(r.rc, 1)
        self.assertIn(path, r.err)
        self.assertEqual(open(path, "rb").read(), before)
        self.assertEqual(tlpmesh("pubkey", path).out.strip(), pub)

    def test_group_readable_key_refused_with_fix(self):
        key = self.tmp.join("a", "node.key")
        self.assertEqual(self.publish("--type", "md5", "--value", "0" * 32, "--tlp", "clear").rc, 0)
        snap = store_snapshot(self.conf)
        os.chmod(key, 0o640)
        r = tlpmesh("pubkey", key)
        self.assertEqual(r.rc, 1)
        self.assertIn("chmod 600", r.err)
        r = self.publish("--type", "md5", "--value", "1" * 32, "--tlp", "clear")
        self.assertEqual(r.rc, 2)
        self.assertIn("chmod 600", r.err)
        self.assertEqual(store_snapshot(self.conf), snap)

    def test_corrupt_key_refused(self):
        key = self.tmp.join("a", "node.key")
        snap = store_snapshot(self.conf)
        for junk in [b"", b"not base64 at all", b"A" * 43 + b"\n", os.urandom(64)]:
            with open(key, "wb") as f:
                f.write(junk)
            r = self.publish("--type", "md5", "--value", "1" * 32, "--tlp", "clear")
            self.assertEqual(r.rc, 2, junk)
            self.assertIn(key, r.err)
            self.assertEqual(r.err.count("\n"), 1)
        self.assertEqual(store_snapshot(self.conf), snap)

    # --- init and config ---
    def test_init_never_overwrites(self):
        conf_bytes = open(self.conf, "rb").read()
        r = tlpmesh("init", self.tmp.join("a"), "--org", "X", "--network", "y")
        self.assertEqual(r.rc, 1)
        self.assertIn("not overwriting", r.err)
        self.assertEqual(open(self.conf, "rb").read(), conf_bytes)
        self.assertEqual(tlpmesh("check-config", "-c", self.conf).rc, 0)

    def test_missing_and_bad_config(self):
        r = tlpmesh("list", "-c", self.tmp.join("nope.conf"))
        self.assertEqual(r.rc, 2)
        self.assertIn("nope.conf", r.err)
        bad = self.tmp.join("bad.conf")
        with open(bad, "w") as f:
            f.write("[Node]\nKeyFile = k\nDataDir = d\nNetwork = n\nOrganisation = o\n"
                    "[Peer]\nPublicKey = short\nMaxTLP = purple\n")
        r = tlpmesh("check-config", "-c", bad)
        self.assertEqual(r.rc, 2)
        self.assertIn("bad.conf:7:", r.err)
        self.assertIn("bad.conf:8:", r.err)
        self.assertIn("purple", r.err)

    # --- publish ---
    def test_publish_dedupe_and_distinct(self):
        args = ["--type", "domain", "--value", "Evil.Example.COM.", "--tlp", "green"]
        r1 = self.publish(*args)
        self.assertEqual(r1.rc, 0, r1)
        self.assertRegex(r1.out.strip(), HEX64)
        r2 = self.publish("--type", "domain", "--value", "evil.example.com", "--tlp", "green")
        self.assertEqual(r2.out, r1.out)
        r3 = self.publish("--type", "domain", "--value", "evil.example.com", "--tlp", "amber")
        self.assertNotEqual(r3.out, r1.out)
        r4 = self.publish(*args, "--community", "energy-isac")
        self.assertNotEqual(r4.out, r1.out)
        lines = tlpmesh("list", "-c", self.conf, "--json").json_lines()
        self.assertEqual(len(lines), 3)
        self.assertEqual({l["value"] for l in lines}, {"evil.example.com"})

    def test_publish_bad_input_changes_nothing(self):
        self.assertEqual(self.publish("--type", "sha1", "--value", "a" * 40, "--tlp", "red",
                                      "--to", self.pub).rc, 0)
        snap = store_snapshot(self.conf)
        cases = [
            (["--type", "ip-dst", "--value", "10.0.0.300", "--tlp", "green"], "10.0.0.300"),
            (["--type", "ip-dst", "--value", "192.0.2.5/24", "--tlp", "green"], "192.0.2.0/24"),
            (["--type", "domain", "--value", "bad_domain!.com", "--tlp", "green"], "bad_domain!.com"),
            (["--type", "md5", "--value", "abc", "--tlp", "green"], "abc"),
            (["--type", "nosuch", "--value", "x", "--tlp", "green"], "nosuch"),
            (["--type", "url", "--value", "http://x.example", "--tlp", "purple"], "purple"),
            (["--type", "url", "--value", "http://x.example", "--tlp", "red"], "--to"),
            (["--type", "url", "--value", "http://x.example", "--tlp", "red", "--to", "xyz"], "xyz"),
            (["--type", "url", "--value", "http://x.example", "--tlp", "green", "--confidence",
              "101"], "101"),
            (["--type", "url", "--value", "http://x.example", "--tlp", "green", "--valid-until",
              "2001-01-01T00:00:00Z"], "2001-01-01"),
            (["--type", "url", "--tlp", "green"], "--value"),
        ]
        for args, needle in cases:
            r = self.publish(*args)
            self.assertEqual(r.rc, 2, (args, r))
            self.assertIn(needle, r.err, args)
            self.assertEqual(r.err.count("\n"), 1, r.err)
            self.assertEqual(r.out, "")
        self.assertEqual(store_snapshot(self.conf), snap)

    def test_publish_rules_and_new_types(self):
        """issue 16: MISP's type names, a rule from a file or standard input byte for byte, one
        list row per rule, and a rule file too large or holding a NUL refused."""
        rule = ('rule demo : loader\r\n{\r\n  strings:\r\n    $a = "lantern"\r\n'
                '  condition:\r\n    $a\r\n}\r\n')
        path = self.tmp.join("demo.yar")
        with open(path, "w", newline="") as f:
            f.write(rule)
        r = self.publish("--type", "yara", "--value-file", path, "--tlp", "green")
        self.assertEqual(r.rc, 0, r)
        sigma = "title: t\nlogsource:\n  product: linux\ndetection:\n  s: {a: b}\n  condition: s\n"
        r = tlpmesh("publish", "-c", self.conf, "--type", "sigma", "--value-file", "-", "--tlp",
                    "green", stdin=sigma)
        self.assertEqual(r.rc, 0, r)
        for t, v in [("ip-dst|port", "203.0.113.9:443"), ("AS", "AS64500"),
                     ("vulnerability", "cve-2021-44228"), ("regkey", "HKLM\\Software\\x")]:
            self.assertEqual(self.publish("--type", t, "--value", v, "--tlp", "green").rc, 0, t)
        got = {l["type"]: l["value"] for l in tlpmesh("list", "-c", self.conf, "--json").json_lines()}
        self.assertEqual(got, {"yara": rule, "sigma": sigma, "ip-dst|port": "203.0.113.9|443",
                               "AS": "64500", "vulnerability": "CVE-2021-44228",
                               "regkey": "HKEY_LOCAL_MACHINE\\Software\\x"})
        rows = tlpmesh("list", "-c", self.conf).out.splitlines()
        self.assertEqual(len(rows), 1 + 6)
        self.assertTrue(any(r.endswith("rule demo : loader ... (%d bytes)" % len(rule)) for r in rows))
        snap = store_snapshot(self.conf)
        big = self.tmp.join("big.yar")
        with open(big, "w") as f:
            f.write("rule big { condition: true }" + "\n" * 7000)
        nul = self.tmp.join("nul.yar")
        with open(nul, "wb") as f:
            f.write(b"rule x {\0}")
        for p, why in [(big, "larger than 6144 bytes"), (nul, "holds a NUL byte"),
                       (self.tmp.join("none"), "No such file")]:
            r = self.publish("--type", "yara", "--value-file", p, "--tlp", "green")
            self.assertEqual(r.rc, 2, r)
            self.assertIn(why, r.err)
            self.assertEqual(r.err.count("\n"), 1, r.err)
        self.assertEqual(store_snapshot(self.conf), snap)

    # --- reading ---
    def test_query_show_list(self):
        ip = self.publish("--type", "ip-dst", "--value", "2001:DB8::0:1", "--tlp", "amber",
                          "--tag", "c2", "--tag", "apt-x", "--comment", "seen in logs",
                          "--confidence", "90", "--valid-until", "7d").out.strip()
        h = self.publish("--type", "sha256", "--value", "AB" * 32, "--tlp", "clear").out.strip()
        r = tlpmesh("query", "-c", self.conf, "2001:db8::1", "--json")
        self.assertEqual(r.rc, 0, r)
        [o] = r.json_lines()
        self.assertEqual(o["id"], ip)
        self.assertEqual((o["type"], o["value"], o["tlp"], o["confidence"], o["tags"], o["comment"]),
                         ("ip-dst", "2001:db8::1", "amber", 90, ["apt-x", "c2"], "seen in logs"))
        self.assertEqual(o["origin"], self.pub)
        self.assertFalse(o["revoked"])
        r = tlpmesh("query", "-c", self.conf, "198.51.100.1")
        self.assertEqual(r.rc, 1)
        self.assertEqual(r.out, "")
        r = tlpmesh("show", "-c", self.conf, h)
        self.assertEqual(r.rc, 0)
        self.assertIn("ab" * 32, r.out)
        self.assertEqual(tlpmesh("show", "-c", self.conf, "0" * 64).rc, 1)
        self.assertEqual(tlpmesh("show", "-c", self.conf, "xyz").rc, 2)
        self.assertEqual([l["id"] for l in tlpmesh("list", "-c", self.conf, "--type", "sha256",
                                                   "--json").json_lines()], [h])
        self.assertEqual([l["id"] for l in tlpmesh("list", "-c", self.conf, "--tlp", "amber",
                                                   "--json").json_lines()], [ip])
        self.assertEqual(len(tlpmesh("list", "-c", self.conf, "--since", "1h",
                                     "--json").json_lines()), 2)
        self.assertEqual(tlpmesh("list", "-c", self.conf, "--since", "2999-01-01T00:00:00Z",
                                 "--json").out, "")
        text = tlpmesh("list", "-c", self.conf).out.splitlines()
        self.assertTrue(text[0].startswith("ID"))
        self.assertEqual(len(text), 3)

    def test_query_finds_composite_records(self):
        """issue 16: an address or host pasted from an alert finds the ip-dst|port, ip-src|port
        and hostname|port records that carry exactly it, never a longer address."""
        pub = {}
        for t, v in [("ip-dst|port", "192.0.2.1|443"), ("ip-src|port", "[2001:db8::10]:443"),
                     ("hostname|port", "mail.example.org|25"), ("ip-dst", "192.0.2.10")]:
            r = self.publish("--type", t, "--value", v, "--tlp", "green")
            self.assertEqual(r.rc, 0, r)
            pub[t] = r.out.strip()

        def query(value):
            r = tlpmesh("query", "-c", self.conf, value, "--json")
            return r.rc, [(o["id"], o["type"], o["value"]) for o in r.json_lines()]

        self.assertEqual(query("192.0.2.1"),
                         (0, [(pub["ip-dst|port"], "ip-dst|port", "192.0.2.1|443")]))
        self.assertEqual(query("192.0.2.1|443"),
                         (0, [(pub["ip-dst|port"], "ip-dst|port", "192.0.2.1|443")]))
        self.assertEqual(query("2001:DB8::10"),
                         (0, [(pub["ip-src|port"], "ip-src|port", "2001:db8::10|443")]))
        self.assertEqual(query("mail.example.org"),
                         (0, [(pub["hostname|port"], "hostname|port", "mail.example.org|25")]))
        self.assertEqual(query("192.0.2.10"), (0, [(pub["ip-dst"], "ip-dst", "192.0.2.10")]))
        for miss in ["2001:db8::1", "192.0.2.100", "example.org", "192.0.2.1|444"]:
            r = tlpmesh("query", "-c", self.conf, miss)
            self.assertEqual((r.rc, r.out), (1, ""), miss)
            self.assertIn("no live record", r.err)

    def test_revoke(self):
        rid = self.publish("--type", "hostname", "--value", "c2.example.org", "--tlp",
                           "green").out.strip()
        r = tlpmesh("revoke", "-c", self.conf, rid, "--reason", "false positive")
        self.assertEqual(r.rc, 0, r)
        rev = r.out.strip()
        self.assertRegex(rev, HEX64)
        self.assertEqual(tlpmesh("query", "-c", self.conf, "c2.example.org").rc, 1)
        self.assertEqual(tlpmesh("list", "-c", self.conf, "--json").out, "")
        [o] = tlpmesh("list", "-c", self.conf, "--all", "--json").json_lines()
        self.assertTrue(o["revoked"])
        self.assertEqual(tlpmesh("revoke", "-c", self.conf, rid).out.strip(), rev)
        r = tlpmesh("show", "-c", self.conf, rev, "--json")
        [o] = r.json_lines()
        self.assertEqual((o["kind"], o["target"], o["reason"]), ("revocation", rid, "false positive"))
        r = tlpmesh("revoke", "-c", self.conf, rev)
        self.assertEqual(r.rc, 1)
        # Re-publishing the revoked indicator makes a new, live record.
        nid = self.publish("--type", "hostname", "--value", "c2.example.org", "--tlp",
                           "green").out.strip()
        self.assertNotEqual(nid, rid)
        self.assertEqual(tlpmesh("query", "-c", self.conf, "c2.example.org").rc, 0)

    def test_corrupt_store_is_refused_and_untouched(self):
        self.assertEqual(self.publish("--type", "md5", "--value", "f" * 32, "--tlp", "clear").rc, 0)
        path = self.tmp.join("a", "data", "store.mdb")
        with open(path, "r+b") as f:
            f.seek(0)
            f.write(os.urandom(8192))
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        for cmd in (["list", "-c", self.conf],
                    ["publish", "-c", self.conf, "--type", "md5", "--value", "e" * 32, "--tlp",
                     "clear"]):
            r = tlpmesh(*cmd)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("store.mdb", r.err)
            self.assertEqual(r.err.count("\n"), 1)
        self.assertEqual(hashlib.sha256(open(path, "rb").read()).hexdigest(), digest)


if __name__ == "__main__":
    unittest.main(verbosity=2)
