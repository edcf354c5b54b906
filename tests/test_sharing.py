"""Sharing an operator can audit (issue 11), as a CERT operator meets it on the command line:
round trips through exports never widen an audience (point 1). Real tlpmesh processes and LMDB
stores in temporary directories; every input is built here."""
import csv
import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import Mesh, converge  # noqa: E402
from tlpm import NodeTest, init_node, tlpmesh  # noqa: E402

NARROWER_HELD = "already held with a narrower audience"
NARROWER_SOURCE = "narrower audience in source"
AMBER_IP = "203.0.113.7"
GREEN_DOMAIN = "c2.example.net"


def ok(*args, **kw):
    r = tlpmesh(*args, **kw)
    if r.rc != 0:
        raise AssertionError(f"tlpmesh {' '.join(map(str, args))} -> {r!r}")
    return r


class Base(NodeTest):
    """Node "a" of CERT-EE (self.a, self.a_key) and more nodes on demand (node())."""

    ORG = "CERT-EE"

    def setUp(self):
        super().setUp()
        self.a, self.a_key = self.conf, self.pub
        self.n = 0

    def node(self, org):
        self.n += 1
        return init_node(self.tmp, f"n{self.n}", org)

    def imp(self, conf, *args):
        r = ok("import", "-c", conf, *args, "--json")
        return r.json_lines()[0]

    def query(self, conf, value):
        r = tlpmesh("query", "-c", conf, value, "--json")
        return r.json_lines() if r.rc == 0 else []

    def publish(self, conf, type_, value, tlp, *extra):
        return ok("publish", "-c", conf, "--type", type_, "--value", value, "--tlp", tlp,
                  *extra).out.strip()


class RoundTripNeverWidens(Base):
    """An AMBER record for energy-isac and a GREEN one for the network, exported and imported
    again on the same node: nothing is re-signed wider, nothing appears twice."""

    def setUp(self):
        super().setUp()
        self.amber_id = self.publish(self.a, "ip-dst", AMBER_IP, "amber", "--community",
                                     "energy-isac")
        self.green_id = self.publish(self.a, "domain", GREEN_DOMAIN, "green")

    def check_round_trip(self, fmt, out, *import_args):
        ok("export", "-c", self.a, "--format", fmt, "-o", out)
        s = self.imp(self.a, "--format", fmt, out, *import_args)
        self.assertEqual((s["imported"], s["already_present"]), (0, 1), s)
        self.assertEqual(s["skipped"][NARROWER_HELD], 1, s)
        got = self.query(self.a, AMBER_IP)
        self.assertEqual([(o["id"], o["communities"]) for o in got],
                         [(self.amber_id, ["energy-isac"])])
        self.assertEqual(len(self.query(self.a, GREEN_DOMAIN)), 1)
        # The flag that names the widening does it, and says so.
        s = self.imp(self.a, "--format", fmt, out, *import_args, "--widen-audience")
        self.assertEqual((s["imported"], s["widened"], s["already_present"]), (1, 1, 1), s)
        wide = [o for o in self.query(self.a, AMBER_IP) if o["id"] != self.amber_id]
        self.assertEqual([(o["communities"], o["origin"]) for o in wide], [([], self.a_key)])

    def test_misp_feed(self):
        feed = self.tmp.join("feed")
        self.check_round_trip("misp-feed", feed)
        with open(os.path.join(feed, "manifest.json")) as f:
            events = list(json.load(f))
        attrs = []
        for e in events:
            with open(os.path.join(feed, e + ".json")) as f:
                attrs += json.load(f)["Event"]["Attribute"]
        prov = {a["value"]: a["x_tlpmesh"] for a in attrs}
        self.assertEqual(prov[AMBER_IP], {
            "record_id": self.amber_id, "origin_key": self.a_key,
            "origin_organisation": "CERT-EE", "communities": ["energy-isac"], "recipients": []})

    def test_stix(self):
        out = self.tmp.join("bundle.json")
        self.check_round_trip("stix", out)
        with open(out) as f:
            objs = json.load(f)["objects"]
        ind = {o["name"]: o for o in objs if o["type"] == "indicator"}
        self.assertEqual(ind[GREEN_DOMAIN]["x_tlpmesh"]["record_id"], self.green_id)
        self.assertEqual(ind[AMBER_IP]["x_tlpmesh"]["communities"], ["energy-isac"])

    def test_csv(self):
        # The TLP comes from the attribute_tag column; --tlp clear is only a floor.
        out = self.tmp.join("export.csv")
        self.check_round_trip("csv", out, "--column", "value", "--tlp", "clear")
        with open(out, newline="") as f:
            rows = {r["value"]: r for r in csv.DictReader(f)}
        row = rows[AMBER_IP]
        self.assertEqual((row["origin_organisation"], row["origin_key"], row["record_id"]),
                         ("CERT-EE", self.a_key, self.amber_id))
        self.assertEqual(json.loads(row["audience"]),
                         {"communities": ["energy-isac"], "recipients": []})

    def test_lower_tlp_is_wider(self):
        # A plain list of the same value at a lower TLP would re-publish it wider.
        txt = self.tmp.join("list.txt")
        with open(txt, "w") as f:
            f.write(f"{AMBER_IP}\n")
        s = self.imp(self.a, "--format", "text", "--type", "ip-dst", txt, "--tlp", "green",
                     "--community", "energy-isac")
        self.assertEqual((s["imported"], s["skipped"][NARROWER_HELD]), (0, 1), s)
        # Higher TLP, same community: narrower, so it goes.
        s = self.imp(self.a, "--format", "text", "--type", "ip-dst", txt, "--tlp", "amber+strict",
                     "--community", "energy-isac")
        self.assertEqual(s["imported"], 1, s)

    def test_fresh_node_keeps_the_source_audience(self):
        out = self.tmp.join("bundle.json")
        ok("export", "-c", self.a, "--format", "stix", "-o", out)
        c, _ = self.node("CERT-LV")
        s = self.imp(c, "--format", "stix", out)
        self.assertEqual((s["imported"], s["skipped"][NARROWER_SOURCE]), (1, 1), s)
        self.assertEqual(self.query(c, AMBER_IP), [])
        # Named for energy-isac, both fit their sources (the GREEN one as a narrower copy).
        s = self.imp(c, "--format", "stix", out, "--community", "energy-isac")
        self.assertEqual((s["imported"], s["skipped_total"]), (2, 0), s)
        self.assertEqual([o["communities"] for o in self.query(c, AMBER_IP)], [["energy-isac"]])


class ShortIds(Base):
    """Point 9: the 16-hex ids list and query print are what show, revoke and sight take."""

    def test_prefixes(self):
        a = self.a
        rid = self.publish(a, "ip-dst", AMBER_IP, "amber")
        short = ok("list", "-c", a).out.splitlines()[1].split()[0]
        self.assertEqual(short, rid[:16])
        self.assertEqual(ok("query", "-c", a, AMBER_IP).out.splitlines()[1].split()[0], short)
        self.assertIn(f"id           {rid}", ok("show", "-c", a, rid[:8]).out)
        self.assertEqual(json.loads(ok("show", "-c", a, short.upper(), "--json").out)["id"], rid)
        sid = ok("sight", "-c", a, short).out.strip()
        self.assertEqual(json.loads(ok("show", "-c", a, sid[:9], "--json").out)["target"], rid)
        r = tlpmesh("show", "-c", a, rid[:7])
        self.assertEqual(r.rc, 2, r)
        self.assertIn("unique prefix of at least 8", r.err)
        r = tlpmesh("show", "-c", a, "0" * 8 if not rid.startswith("0" * 8) else "f" * 8)
        self.assertEqual(r.rc, 1, r)
        ok("revoke", "-c", a, short, "--reason", "test")
        self.assertEqual(json.loads(ok("show", "-c", a, rid[:12], "--json").out)["revoked"], True)


AMBER_MARKING = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"  # FIRST TLP 2.0


def stix_indicator(n, pattern, marking=None):
    o = {"type": "indicator", "spec_version": "2.1",
         "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
         "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}
    if marking:
        o["object_marking_refs"] = [marking]
    return o


class OperatorConveniences(Base):
    """Point 12: peer list, list --limit, text notes, MISP restSearch, partly marked STIX."""

    def write(self, name, text):
        path = self.tmp.join(name)
        with open(path, "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))
        return path

    def test_peer_list(self):
        _, fi = self.node("CERT-FI")
        _, el = self.node("Elering")
        ok("peer", "add", "-c", self.a, "--key", fi, "--endpoint", "192.0.2.10:7400", "--org",
           "CERT-FI", "--community", "energy-isac", "--max-tlp", "amber", "--name", "fi")
        ok("peer", "add", "-c", self.a, "--key", el, "--org", "Elering", "--relation", "client")
        peers = ok("peer", "list", "-c", self.a, "--json").json_lines()
        got = [(p["key"], p["name"], p["organisation"], p["endpoint"], p["relation"],
                p["max_tlp"], p["communities"]) for p in peers]
        self.assertEqual(got, [
            (fi, "fi", "CERT-FI", "192.0.2.10:7400", "partner", "amber", ["energy-isac"]),
            (el, "", "Elering", None, "client", "amber", [])])
        text = ok("peer", "list", "-c", self.a).out.splitlines()
        self.assertEqual(text[0].split()[:4], ["NAME", "ORGANISATION", "RELATION", "MAX-TLP"])
        self.assertEqual(text[1].split(), ["fi", "CERT-FI", "partner", "amber",
                                           "192.0.2.10:7400", fi, "energy-isac"])
        self.assertEqual(text[2].split(), ["-", "Elering", "client", "amber", "-", el, "-"])

    def test_list_limit(self):
        ids = [self.publish(self.a, "ip-dst", f"198.51.100.{i}", "green") for i in range(3)]
        r = ok("list", "-c", self.a, "--limit", "2", "--json")
        self.assertEqual([o["id"] for o in r.json_lines()], ids[:2])
        self.assertIn("more match", r.err)
        r = ok("list", "-c", self.a, "--limit", "3")
        self.assertEqual((len(r.out.splitlines()), r.err), (4, ""))
        for bad in ("0", "-1", "2x"):
            self.assertEqual(tlpmesh("list", "-c", self.a, "--limit", bad).rc, 2, bad)

    def test_text_trailing_comments(self):
        path = self.write("list.txt", "# feed of the day\n"
                                      "198.51.100.1   # scanner, seen twice\n"
                                      "http://drop.example/a#frag\n"
                                      "http://drop.example/b #  dropper  \n"
                                      "   # only a note\n")
        s = self.imp(self.a, "--format", "text", "--type", "ip-dst", path, "--tlp", "green")
        self.assertEqual((s["imported"], s["invalid"]), (1, 2), s)  # URLs are not ip-dst
        s = self.imp(self.a, "--format", "text", "--type", "url", path, "--tlp", "green")
        self.assertEqual((s["imported"], s["invalid"]), (2, 1), s)
        got = {o["value"]: o["comment"] for o in ok("list", "-c", self.a, "--json").json_lines()}
        self.assertEqual(got, {"198.51.100.1": "scanner, seen twice",
                               "http://drop.example/a#frag": "",
                               "http://drop.example/b": "dropper"})

    def test_misp_rest_search(self):
        def event(info, tlp, values):
            return {"Event": {"info": info, "Tag": [{"name": f"tlp:{tlp}"}], "Attribute": [
                {"type": "ip-dst", "value": v, "to_ids": True} for v in values]}}
        path = self.write("search.json", {"response": [
            event("one", "green", ["192.0.2.1", "192.0.2.2"]), event("two", "amber", ["192.0.2.3"])]})
        s = self.imp(self.a, "--format", "misp", path)
        self.assertEqual(s["imported"], 3, s)
        got = {o["value"]: o["tlp"] for o in ok("list", "-c", self.a, "--json").json_lines()}
        self.assertEqual(got, {"192.0.2.1": "green", "192.0.2.2": "green", "192.0.2.3": "amber"})
        bad = self.write("bad.json", {"response": {"Event": {}}})
        r = tlpmesh("import", "-c", self.a, "--format", "misp", bad)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("restSearch", r.err)

    def test_stix_partly_marked(self):
        path = self.write("bundle.json", {"type": "bundle", "id": "bundle--1", "objects": [
            stix_indicator(1, "[ipv4-addr:value = '192.0.2.10']", AMBER_MARKING),
            stix_indicator(2, "[ipv4-addr:value = '192.0.2.11']"),
            stix_indicator(3, "[domain-name:value = 'marked.example']", AMBER_MARKING)]})
        s = self.imp(self.a, "--format", "stix", path)
        self.assertEqual((s["imported"], s["skipped"]["no TLP in source"]), (2, 1), s)
        s = self.imp(self.a, "--format", "stix", path, "--tlp", "green")
        self.assertEqual((s["imported"], s["already_present"], s["skipped_total"]), (1, 2, 0), s)
        got = {o["value"]: o["tlp"] for o in ok("list", "-c", self.a, "--json").json_lines()}
        self.assertEqual(got, {"192.0.2.10": "amber", "192.0.2.11": "green",
                               "marked.example": "amber"})
        # No candidate with a TLP at all: still refused whole, before anything is stored.
        none = self.write("none.json", {"type": "bundle", "id": "bundle--2", "objects": [
            stix_indicator(4, "[ipv4-addr:value = '192.0.2.12']")]})
        r = tlpmesh("import", "-c", self.a, "--format", "stix", none)
        self.assertEqual(r.rc, 2, r)


class ExportOutput(Base):
    """Point 10: -o - is standard output; -o replaces regular files only; --mode and --group;
    what a format cannot carry is counted, with the reason."""

    def setUp(self):
        super().setUp()
        self.publish(self.a, "ip-dst", "198.51.100.0/24", "green")
        self.publish(self.a, "ip-dst", "192.0.2.1", "green")
        self.publish(self.a, "sha512", "ab" * 64, "green")

    def export(self, *args):
        return tlpmesh("export", "-c", self.a, *args)

    def test_stdout(self):
        # in the temp dir: a tlpmesh without -o - would write a file called "-" where it runs
        cwd = os.getcwd()
        os.chdir(self.tmp.path)
        self.addCleanup(os.chdir, cwd)
        r = self.export("--format", "text", "-o", "-")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out.splitlines(), ["198.51.100.0/24", "192.0.2.1", "ab" * 64])
        self.assertIn("standard output: 3 records (text)", r.err)
        for bad in (["--format", "suricata"], ["--format", "text", "--every", "5s"],
                    ["--format", "text", "--mode", "0644"]):
            r = self.export(*bad, "-o", "-")
            self.assertEqual((r.rc, r.out), (2, ""), (bad, r))

    def test_never_replaces_what_is_not_a_file(self):
        target = self.tmp.join("target")
        with open(target, "w") as f:
            f.write("keep\n")
        link, fifo = self.tmp.join("link"), self.tmp.join("fifo")
        os.symlink(target, link)
        os.mkfifo(fifo)
        sock_path = self.tmp.join("sock")
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(sock_path)
        self.addCleanup(sock.close)
        # No device here: a binary with the bug, run as root, would replace it (the check is the
        # same lstat for every kind that is not a regular file).
        for path, what in ((link, "a symbolic link"), (fifo, "a FIFO"),
                           (sock_path, "not a regular file")):
            r = self.export("--format", "zeek", "-o", path)
            self.assertEqual(r.rc, 1, r)
            self.assertIn(f"is {what}: an export replaces regular files only", r.err)
        self.assertTrue(os.path.islink(link))
        with open(target) as f:
            self.assertEqual(f.read(), "keep\n")
        # a symlink inside a directory export is refused too, and left as it was
        sur = self.tmp.join("sur")
        os.mkdir(sur)
        os.symlink(target, os.path.join(sur, "ip.lst"))
        r = self.export("--format", "suricata", "-o", sur)
        self.assertEqual(r.rc, 1, r)
        self.assertTrue(os.path.islink(os.path.join(sur, "ip.lst")))

    def test_mode_and_group(self):
        out = self.tmp.join("intel.dat")
        ok("export", "-c", self.a, "--format", "zeek", "-o", out, "--mode", "0644", "--group",
           str(os.getgid()))
        st = os.stat(out)
        self.assertEqual((st.st_mode & 0o777, st.st_gid), (0o644, os.getgid()))
        ok("export", "-c", self.a, "--format", "zeek", "-o", out)
        self.assertEqual(os.stat(out).st_mode & 0o077 & ~0o040, 0)  # default: group-read at most
        for bad in (["--mode", "0999"], ["--mode", "rw"], ["--group", "no-such-group-x"]):
            r = self.export("--format", "zeek", "-o", out, *bad)
            self.assertEqual(r.rc, 2, (bad, r))

    def test_left_out_is_counted(self):
        r = ok("export", "-c", self.a, "--format", "suricata", "-o", self.tmp.join("sur"))
        self.assertIn("1 records (suricata)", r.out)
        self.assertIn("left out 2 records the suricata format cannot carry: 1 CIDR ranges: "
                      "Suricata's ip dataset holds single addresses", r.err)
        self.assertIn("1 of type sha512 (no file of the format takes it)", r.err)
        r = ok("export", "-c", self.a, "--format", "suricata-iprep", "-o", self.tmp.join("rep"))
        self.assertIn("left out 1 records", r.err)
        r = ok("export", "-c", self.a, "--format", "zeek", "-o", self.tmp.join("z"))
        self.assertEqual(r.err, "")
        # what --type excludes was asked for, not left out
        r = ok("export", "-c", self.a, "--format", "hosts", "-o", self.tmp.join("h"), "--type",
               "domain")
        self.assertEqual(r.err, "")


class OtherOrigins(unittest.TestCase):
    """A record that came from another origin carries that origin in the export, and importing
    the export where the record is held finds it there instead of signing a copy."""

    def setUp(self):
        self.mesh = Mesh()
        self.failed = True

    def tearDown(self):
        self.mesh.close(self.failed)

    def test_export_names_the_origin_and_import_recognises_it(self):
        a = self.mesh.add("a", "CERT-EE")
        b = self.mesh.add("b", "CERT-FI")
        self.mesh.link("a", "b")
        self.mesh.start()
        rid = b.publish("domain", GREEN_DOMAIN, "green")
        converge(lambda: None if rid in a.records() else "a has not got b's record",
                 what="b's record at a")
        for fmt, out in (("stix", self.mesh.tmp.join("b.json")),
                         ("misp-feed", self.mesh.tmp.join("feed")),
                         ("csv", self.mesh.tmp.join("b.csv"))):
            ok("export", "-c", a.conf, "--format", fmt, "-o", out)
            extra = ["--column", "value"] if fmt == "csv" else []
            r = ok("import", "-c", a.conf, "--format", fmt, out, *extra, "--json")
            s = r.json_lines()[0]
            self.assertEqual((s["imported"], s["already_present"]), (0, 1), (fmt, s))
        with open(self.mesh.tmp.join("b.json")) as f:
            ind = [o for o in json.load(f)["objects"] if o["type"] == "indicator"]
        self.assertEqual([(o["x_tlpmesh"]["origin_key"], o["x_tlpmesh"]["origin_organisation"])
                          for o in ind], [(b.key, "CERT-FI")])
        r = ok("query", "-c", a.conf, GREEN_DOMAIN, "--json")
        self.assertEqual([o["id"] for o in r.json_lines()], [rid])
        self.check_provenance(a, b, rid)
        self.failed = False

    def stix_objects(self, node, name):
        out = self.mesh.tmp.join(name)
        ok("export", "-c", node.conf, "--format", "stix", "-o", out)
        with open(out) as f:
            return json.load(f)["objects"]

    def feed_events(self, node, feed, org):
        """Exports a MISP feed; the events the manifest names whose Orgc is org, by uuid."""
        ok("export", "-c", node.conf, "--format", "misp-feed", "-o", feed)
        with open(os.path.join(feed, "manifest.json")) as f:
            manifest = json.load(f)
        out = {}
        for uuid, entry in manifest.items():
            with open(os.path.join(feed, uuid + ".json")) as f:
                ev = json.load(f)["Event"]
            self.assertEqual(ev["Orgc"], entry["Orgc"])
            if ev["Orgc"]["name"] == org:
                out[uuid] = ev
        return out

    def check_provenance(self, a, b, rid):
        """Point 7: exports and show name the originator, not the exporter."""
        own = a.publish("ip-dst", AMBER_IP, "green")
        objs = self.stix_objects(a, "first.json")
        idents = {o["id"]: o for o in objs if o["type"] == "identity"}
        creator = {o["x_tlpmesh"]["record_id"]: idents[o["created_by_ref"]]["name"]
                   for o in objs if o["type"] == "indicator"}
        self.assertEqual(creator, {rid: "CERT-FI", own: "CERT-EE"})
        self.assertEqual({o["created"] for o in idents.values()}, {"2024-01-01T00:00:00.000Z"})
        # the same identities, byte for byte, in a later export (and from the other node)
        later = [o for o in self.stix_objects(a, "later.json") if o["type"] == "identity"]
        self.assertEqual(sorted(later, key=lambda o: o["id"]),
                         sorted(idents.values(), key=lambda o: o["id"]))
        at_b = {o["id"]: o for o in self.stix_objects(b, "b2.json") if o["type"] == "identity"}
        fi = [i for i, o in idents.items() if o["name"] == "CERT-FI"][0]
        self.assertEqual(at_b[fi], idents[fi])
        with open(self.mesh.tmp.join("b.csv"), newline="") as f:
            self.assertEqual([r["origin_organisation"] for r in csv.DictReader(f)], ["CERT-FI"])
        feed = self.mesh.tmp.join("feed2")
        fi_events = self.feed_events(a, feed, "CERT-FI")
        self.assertEqual([[x["x_tlpmesh"]["record_id"] for x in e["Attribute"]]
                          for e in fi_events.values()], [[rid]])
        self.assertEqual([[x["x_tlpmesh"]["record_id"] for x in e["Attribute"]]
                          for e in self.feed_events(a, feed, "CERT-EE").values()], [[own]])
        # show: the origin's organisation, then the revocation's reason and time, and sightings
        self.assertIn("organisation CERT-FI", ok("show", "-c", a.conf, rid[:8]).out)
        ok("sight", "-c", a.conf, rid[:8], "--count", "3")
        ok("revoke", "-c", b.conf, rid[:8], "--reason", "sinkholed")

        def revoked():
            o = json.loads(ok("show", "-c", a.conf, rid, "--json").out)
            return None if o["revoked"] else "a has not got the revocation"
        converge(revoked, what="b's revocation at a")
        o = json.loads(ok("show", "-c", a.conf, rid, "--json").out)
        self.assertEqual((o["origin_organisation"], o["revocation"]["reason"]),
                         ("CERT-FI", "sinkholed"))
        self.assertEqual([(g["organisation"], g["count"]) for g in o["sightings"]],
                         [("CERT-EE", 3)])
        # CERT-FI's event keeps its last record as MISP's deletion (MISP deletes nothing absent)
        gone = self.feed_events(a, feed, "CERT-FI")
        self.assertEqual(gone.keys(), fi_events.keys())
        self.assertEqual([[(x["x_tlpmesh"]["record_id"], x["deleted"], x["to_ids"])
                           for x in e["Attribute"]] for e in gone.values()], [[(rid, True, False)]])
        text = ok("show", "-c", a.conf, rid).out
        self.assertIn(f"revoked      {o['revocation']['time']} by its origin: sinkholed", text)
        self.assertIn("sighting     CERT-EE: 3 times", text)


if __name__ == "__main__":
    unittest.main()
