"""Community rosters and sightings from the command line (issue: the mesh, items 3 and 5): exact
outputs, exit codes, and refusals that change nothing.

Nodes B, C and D share node A's data directory (their configs point DataDir at it), so that
rosters and sightings signed by other keys are in A's store without running the network."""
import base64
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tlpm import TempDir, init_node, store_snapshot, tlpmesh  # noqa: E402

HEX64 = re.compile(r"^[0-9a-f]{64}\n$")


def compact(obj):
    return json.dumps(obj, separators=(",", ":")) + "\n"


def by_key(members):
    """Members as the roster orders them: by the key's bytes."""
    return sorted(members, key=lambda m: base64.b64decode(m["key"]))


class CommunityCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.conf_a, self.pub_a = init_node(self.tmp, "a", "CERT-A")
        self.others = {}
        for name, org in [("b", "CERT-B"), ("c", "CERT-C"), ("d", "CERT-D")]:
            conf, pub = init_node(self.tmp, name, org)
            self.share_store_of_a(conf)
            self.others[name] = (conf, pub)
        self.conf_b, self.pub_b = self.others["b"]
        self.conf_c, self.pub_c = self.others["c"]
        self.conf_d, self.pub_d = self.others["d"]

    def tearDown(self):
        self.tmp.cleanup()

    def share_store_of_a(self, conf):
        with open(conf) as f:
            text = f.read()
        self.assertIn("DataDir = data\n", text)
        with open(conf, "w") as f:
            f.write(text.replace("DataDir = data\n", "DataDir = ../a/data\n"))

    def community(self, *args):
        return tlpmesh("community", *args)

    def roster(self, rid, version, members, name="eu-energy", owner=None, trusted=True,
               tlp="green"):
        owner = owner or self.pub_a
        return {"name": name, "owner": owner, "self": owner == self.pub_a, "trusted": trusted,
                "version": version, "tlp": tlp, "id": rid, "conflict": False,
                "members": by_key(members)}

    def test_create_add_remove_show(self):
        a, b, c = ({"key": self.pub_a, "organisation": "CERT-A"},
                   {"key": self.pub_b, "organisation": "CERT-B"},
                   {"key": self.pub_c, "organisation": "Hospital C"})
        r = self.community("create", "-c", self.conf_a, "eu-energy", "--member",
                           self.pub_b + "=CERT-B")
        self.assertEqual((r.rc, r.err), (0, ""), r)
        self.assertRegex(r.out, HEX64)
        v1 = r.out.strip()
        r = self.community("show", "-c", self.conf_a, "--json")
        self.assertEqual(r.out, compact(self.roster(v1, 1, [a, b])), r)

        r = self.community("add-member", "-c", self.conf_a, "eu-energy", "--key", self.pub_c,
                           "--org", "Hospital C")
        self.assertEqual(r.rc, 0, r)
        v2 = r.out.strip()
        r = self.community("remove-member", "-c", self.conf_a, "eu-energy", "--key", self.pub_b)
        self.assertEqual(r.rc, 0, r)
        v3 = r.out.strip()
        self.assertEqual(len({v1, v2, v3}), 3)
        r = self.community("show", "-c", self.conf_a, "eu-energy", "--json")
        self.assertEqual((r.rc, r.out), (0, compact(self.roster(v3, 3, [a, c]))), r)

        # Text form: the winning version, its owner and members.
        r = self.community("show", "-c", self.conf_a)
        lines = r.out.splitlines()
        self.assertEqual(lines[0], "community eu-energy")
        self.assertEqual(lines[1], f"  owner    {self.pub_a} (this node)")
        self.assertEqual(lines[2:5], ["  version  3", "  tlp      green", f"  id       {v3}"])
        self.assertEqual(sorted(lines[5:]), sorted([f"  member   {self.pub_a}  CERT-A",
                                                    f"  member   {self.pub_c}  Hospital C"]))

        # The roster record itself goes to the community it defines.
        [o] = tlpmesh("show", "-c", self.conf_a, v3, "--json").json_lines()
        self.assertEqual((o["kind"], o["tlp"], o["communities"], o["recipients"]),
                         ("roster", "green", ["eu-energy"], []))

    def test_refusals_change_nothing(self):
        r = self.community("create", "-c", self.conf_a, "eu-energy", "--tlp", "amber")
        self.assertEqual(r.rc, 0, r)
        snap = store_snapshot(self.conf_a)
        shown = self.community("show", "-c", self.conf_a, "--json").out
        cases = [
            (["create", "-c", self.conf_a, "eu-energy"], 1, "exists (version 1)"),
            (["create", "-c", self.conf_a, "x", "--tlp", "red"], 2, "--tlp 'red'"),
            (["create", "-c", self.conf_a, "x", "--member", "nokey"], 2, "PUBKEY=ORGANISATION"),
            (["create", "-c", self.conf_a, "x", "--member", self.pub_b + "="], 2,
             "organisation '' must be"),
            (["create", "-c", self.conf_a, "y" * 65], 2, "must be 1 to 64 bytes"),
            (["add-member", "-c", self.conf_a, "eu-energy", "--key", self.pub_a, "--org", "X"], 1,
             "already a member of eu-energy (as CERT-A)"),
            (["add-member", "-c", self.conf_a, "eu-energy", "--key", "abc", "--org", "X"], 2,
             "'abc' is not a node public key"),
            (["add-member", "-c", self.conf_a, "eu-energy", "--key", self.pub_b], 2, "expected"),
            (["remove-member", "-c", self.conf_a, "eu-energy", "--key", self.pub_b], 1,
             "is not a member of eu-energy"),
            (["remove-member", "-c", self.conf_a, "nope", "--key", self.pub_b], 1,
             "no community nope owned by this node"),
            (["show", "-c", self.conf_a, "nope"], 1, "no roster of community nope is known"),
            (["frobnicate"], 2, "expected 'create'"),
        ]
        for args, rc, msg in cases:
            r = self.community(*args)
            self.assertEqual(r.rc, rc, (args, r))
            self.assertEqual(r.err.count("\n"), 1, (args, r))
            self.assertIn(msg, r.err, (args, r))
            self.assertEqual(r.out, "", (args, r))
        self.assertEqual(store_snapshot(self.conf_a), snap)
        self.assertEqual(self.community("show", "-c", self.conf_a, "--json").out, shown)

    def test_only_the_owner_changes_a_roster_and_trust_is_shown(self):
        r = self.community("create", "-c", self.conf_b, "finance")
        self.assertEqual(r.rc, 0, r)
        rid = r.out.strip()
        b = {"key": self.pub_b, "organisation": "CERT-B"}
        r = self.community("add-member", "-c", self.conf_a, "finance", "--key", self.pub_c,
                           "--org", "CERT-C")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.err, f"tlpmesh community add-member: community finance is owned by "
                                f"{self.pub_b}: only its owner can change it\n")
        # A does not trust B's rosters: shown, marked, ignored.
        r = self.community("show", "-c", self.conf_a, "--json")
        self.assertEqual(r.out, compact(self.roster(rid, 1, [b], "finance", self.pub_b, False)))
        self.assertIn("(not trusted: ignored)", self.community("show", "-c", self.conf_a).out)
        with open(self.conf_a, "a") as f:
            f.write(f"TrustRosterOwner = {self.pub_b}\n")
        r = self.community("show", "-c", self.conf_a, "--json")
        self.assertEqual(r.out, compact(self.roster(rid, 1, [b], "finance", self.pub_b, True)))

    def test_sight_and_show_per_organisation(self):
        # C is known to A from A's roster, B from A's config, D from nowhere.
        self.assertEqual(self.community("create", "-c", self.conf_a, "eu-energy", "--member",
                                        self.pub_c + "=CERT-C (roster)").rc, 0)
        r = tlpmesh("peer", "add", "-c", self.conf_a, "--key", self.pub_b, "--endpoint",
                    "127.0.0.1:9", "--org", "CERT-B (config)")
        self.assertEqual(r.rc, 0, r)
        r = tlpmesh("publish", "-c", self.conf_a, "--type", "domain", "--value", "evil.example",
                    "--tlp", "amber", "--community", "eu-energy")
        self.assertEqual(r.rc, 0, r)
        target = r.out.strip()
        day = ["--first-seen", "2026-01-01T00:00:00Z", "--last-seen", "2026-01-02T00:00:00Z"]
        sightings = [
            (self.conf_a, ["--count", "3"] + day),
            (self.conf_b, ["--count", "2", "--first-seen", "2025-12-31T00:00:00Z",
                           "--last-seen", "2026-01-01T00:00:00Z"]),
            (self.conf_b, ["--count", "5", "--first-seen", "2026-01-03T00:00:00Z",
                           "--last-seen", "2026-01-04T00:00:00Z"]),
            (self.conf_c, day),
            (self.conf_d, ["--count", "7"] + day),
        ]
        ids = []
        for conf, args in sightings:
            r = tlpmesh("sight", "-c", conf, target, *args)
            self.assertEqual((r.rc, r.err), (0, ""), r)
            self.assertRegex(r.out, HEX64)
            ids.append(r.out.strip())
        [o] = tlpmesh("show", "-c", self.conf_a, ids[0], "--json").json_lines()
        self.assertEqual((o["kind"], o["tlp"], o["communities"], o["target"], o["count"],
                          o["first_seen"], o["last_seen"], o["origin"]),
                         ("sighting", "amber", ["eu-energy"], target, 3,
                          "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", self.pub_a))
        self.assertEqual(o["sightings"], [])

        def group(org, reports, count, first, last):
            return {"organisation": org, "reports": reports, "count": count,
                    "first_seen": first + "T00:00:00.000Z", "last_seen": last + "T00:00:00.000Z"}
        want = [group("CERT-A", 1, 3, "2026-01-01", "2026-01-02"),
                group("CERT-B (config)", 2, 7, "2025-12-31", "2026-01-04"),
                group("CERT-C (roster)", 1, 1, "2026-01-01", "2026-01-02"),
                group(f"unknown ({self.pub_d[:8]}...)", 1, 7, "2026-01-01", "2026-01-02")]
        [o] = tlpmesh("show", "-c", self.conf_a, target, "--json").json_lines()
        self.assertEqual(o["sightings"], want)
        text = tlpmesh("show", "-c", self.conf_a, target).out.splitlines()
        self.assertEqual([l for l in text if l.startswith("sighting")], [
            "sighting     CERT-A: 3 times in 1 reports, 2026-01-01T00:00:00.000Z .. "
            "2026-01-02T00:00:00.000Z",
            "sighting     CERT-B (config): 7 times in 2 reports, 2025-12-31T00:00:00.000Z .. "
            "2026-01-04T00:00:00.000Z",
            "sighting     CERT-C (roster): 1 times in 1 reports, 2026-01-01T00:00:00.000Z .. "
            "2026-01-02T00:00:00.000Z",
            f"sighting     unknown ({self.pub_d[:8]}...): 7 times in 1 reports, "
            "2026-01-01T00:00:00.000Z .. 2026-01-02T00:00:00.000Z"])

    def test_sight_refusals(self):
        r = tlpmesh("publish", "-c", self.conf_a, "--type", "md5", "--value", "a" * 32, "--tlp",
                    "clear")
        target = r.out.strip()
        rev = tlpmesh("revoke", "-c", self.conf_a, target).out.strip()
        live = tlpmesh("publish", "-c", self.conf_a, "--type", "md5", "--value", "b" * 32,
                       "--tlp", "clear").out.strip()
        snap = store_snapshot(self.conf_a)
        cases = [
            ([target], 1, "is not a live indicator"),
            ([rev], 1, "is not a live indicator"),
            (["0" * 64], 1, "no record " + "0" * 64),
            (["xyz"], 2, "'xyz' is not a record id"),
            ([live, "--count", "0"], 2, "--count '0'"),
            ([live, "--count", "-1"], 2, "--count '-1'"),
            ([live, "--first-seen", "1h", "--last-seen", "2h"], 2, "--first-seen is after"),
            ([live, "--last-seen", "2999-01-01T00:00:00Z"], 2, "--last-seen is in the future"),
            ([live, "--first-seen", "yesterday"], 2, "--first-seen 'yesterday'"),
            ([], 2, "expected -c CONF ID"),
        ]
        for args, rc, msg in cases:
            r = tlpmesh("sight", "-c", self.conf_a, *args)
            self.assertEqual(r.rc, rc, (args, r))
            self.assertEqual(r.err.count("\n"), 1, (args, r))
            self.assertIn(msg, r.err, (args, r))
        self.assertEqual(store_snapshot(self.conf_a), snap)


if __name__ == "__main__":
    unittest.main(verbosity=2)
