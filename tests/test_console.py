"""The web console in a real browser (issue 16 point 1): Debian's headless Chromium, with
JavaScript off, signs in to node A's /ui/, searches (an address finds the range that contains
it, and the ip-dst|port record that carries it), opens a record, publishes one, revokes it, reads the peers and activity pages; node B, a
`tlpmesh run` peer of A, then holds the published record. A reader signs in too and sees only
what the TAXII gate gives it, and cannot publish. Screenshots of every page go to the build
directory (console-*.png next to build/tlpmesh).

The browser is consolekit's kit (tests/lib/browser.py); the security checks over plain HTTP
(bad sessions, CSRF, oversized forms, script in values) are tests/test_console_attacks.py.
"""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import Mesh, converge  # noqa: E402
from tlpm import BIN, free_port, tlpmesh  # noqa: E402

try:
    from browser import Browser  # noqa: E402
except ImportError:  # the kit comes with consolekit's branch
    Browser = None

SHOTS = os.path.dirname(os.path.abspath(BIN))
ALICE = ("alice", "alice-secret-0123456789")  # CERT-A, publisher
BOB = ("bob", "bob-secret-0123456789abc")      # CERT-B, reader, MaxTLP green
PUBLISHED = "console-published.example.org"


def console_config(port):
    return (f"\n[HTTP]\nListen = 127.0.0.1:{port}\n"
            f"\n[Client]\nName = {ALICE[0]}\nOrganisation = CERT-A\nSecret = {ALICE[1]}\n"
            "Console = publisher\n"
            f"\n[Client]\nName = {BOB[0]}\nOrganisation = CERT-B\nSecret = {BOB[1]}\n"
            "MaxTLP = green\nConsole = reader\n")


@unittest.skipIf(Browser is None, "tests/lib/browser.py (consolekit's browser kit) is not here")
class Console(unittest.TestCase):
    def setUp(self):
        self.failed = True
        self.mesh = Mesh()
        self.a = self.mesh.add("a", "CERT-A")
        self.b = self.mesh.add("b", "CERT-B")
        self.mesh.link("a", "b", ceiling_ab="amber", ceiling_ba="amber")
        self.port = free_port()
        with open(self.a.conf, "a") as f:
            f.write(console_config(self.port))
        self.range_id = self.a.publish("ip-dst", "198.51.100.0/24", "amber")
        self.green_id = self.a.publish("domain", "green.example.org", "green")
        self.port_id = self.a.publish("ip-dst|port", "192.0.2.1|443", "green")
        self.a.publish("ip-dst", "203.0.113.9", "amber+strict")  # the gate withholds it from B
        self.script_id = tlpmesh("publish", "-c", self.a.conf, "--type", "domain", "--value",
                                 "script.example.org", "--tlp", "green", "--comment",
                                 "<script>document.title='owned'</script>").out.strip()
        pages = self.mesh.tmp.join("pages.txt")  # 60 more green domains: two search pages
        with open(pages, "w") as f:
            f.write("".join(f"host{i}.pages.example\n" for i in range(60)))
        r = tlpmesh("import", "-c", self.a.conf, "--format", "text", "--type", "domain", "--tlp",
                    "green", pages)
        self.assertEqual(r.rc, 0, r)
        self.mesh.start()
        self.mesh.wait_links()
        self.url = f"http://127.0.0.1:{self.port}"

    def tearDown(self):
        try:
            if not self.failed:  # a clean exit (code 0; under ASan: no leak, no error)
                for n in (self.a, self.b):
                    n.stop()
        finally:
            self.mesh.close(self.failed)

    def shot(self, b, name):
        b.screenshot(os.path.join(SHOTS, f"console-{name}.png"))

    def sign_in(self, b, who):
        b.open(self.url + "/ui/")
        b.wait_for(lambda: b.url.endswith("/ui/login"), what="the redirect to the sign-in page")
        b.fill("login", {"user": who[0], "password": who[1]})
        b.submit("login")
        b.wait_for(lambda: b.url.endswith("/ui/search"), what="the search page after sign-in")

    def search(self, b, q):
        b.fill("search", {"q": q})
        b.submit("search")
        rows = b.driver.find_elements("css selector", "#results tr.rec")
        return {r.find_element("css selector", "a").get_attribute("href").rsplit("/", 1)[1]
                for r in rows}

    def test_publisher_flow_reaches_the_other_node(self):
        with Browser(javascript=False) as b:
            b.open(self.url + "/ui/login")
            self.shot(b, "login")
            self.sign_in(b, ALICE)
            cookie = b.cookies()["tlpm_session"]
            self.assertEqual((cookie["httpOnly"], cookie["sameSite"], cookie["path"]),
                             (True, "Strict", "/ui/"))

            # an address finds the range that contains it; the record page says why
            self.assertEqual(self.search(b, "198.51.100.7"), {self.range_id})
            self.shot(b, "search")
            b.driver.find_element("css selector", "#results tr.rec a").click()
            b.wait_for(lambda: b.text("#value") == "198.51.100.0/24", what="the record page")
            self.assertEqual((b.text("#type"), b.text("#tlp"), b.attr("#tlp", "class")),
                             ("ip-dst", "TLP:AMBER", "tlp tlp-amber"))
            self.assertIn("CERT-A", b.text("#origin"))
            explain = b.text("#explain")
            self.assertIn("allow", explain)
            self.assertIn("b", explain)
            self.shot(b, "record")

            # script in a value is text on the page, never a script
            b.open(f"{self.url}/ui/record/{self.script_id}")
            self.assertEqual(b.text("#comment"), "<script>document.title='owned'</script>")
            self.assertEqual(b.driver.find_elements("tag name", "script"), [])
            self.assertNotEqual(b.driver.title, "owned")

            # publish; the record page of the new record follows; node B receives it
            b.open(self.url + "/ui/publish")
            b.fill("publish", {"type": "domain", "value": PUBLISHED, "tlp": "green",
                               "tags": "c2, console", "comment": "published from the console"})
            self.shot(b, "publish")
            b.submit("publish")
            b.wait_for(lambda: b.text("#value") == PUBLISHED, what="the published record's page")
            self.assertEqual((b.text("#tlp"), b.text("#tags")), ("TLP:GREEN", "c2, console"))
            new_id = b.url.rsplit("/", 1)[1]
            converge(lambda: None if new_id in self.b.records() else "not on B yet",
                     what="the published record on node B")
            self.assertEqual(self.b.records()[new_id]["value"], PUBLISHED)

            # revoke it; the page says so
            b.fill("revoke", {"reason": "test over"})
            b.submit("revoke")
            b.wait_for(lambda: "test over" in b.text("#revocation"), what="the revocation")
            converge(lambda: None if self.b.records()[new_id]["revoked"] else "not revoked on B",
                     what="the revocation on node B")

            # the peers page and its picture of the mesh, each refusal with its reason and
            # count; the activity chart with its totals
            def withheld():
                b.open(self.url + "/ui/peers")
                cell = b.text("#peers tr.peer ul.refused")
                return re.search(r"withheld [a-z_+-]+: [1-9]\d*", cell)
            b.wait_for(withheld, what="the amber+strict record withheld from B on the peers page")
            rows = b.driver.find_elements("css selector", "#peers tr.peer")
            self.assertEqual(len(rows), 1)
            self.assertIn("connected", rows[0].text)
            self.assertIn("CERT-B", rows[0].text)
            self.assertNotIn("peer-has", rows[0].text)  # dedupe, not a refusal
            self.assertEqual(len(b.driver.find_elements("css selector", "#mesh circle.peer")), 1)
            self.shot(b, "peers")
            b.open(self.url + "/ui/activity")
            self.assertTrue(b.driver.find_elements("css selector", "svg#activity"))
            self.assertEqual(b.text("#activity-totals caption"), "last 60 minutes")
            self.shot(b, "activity")
        self.failed = False

    def test_reader_sees_what_taxii_gives_it_pages_and_cannot_publish(self):
        with Browser(javascript=False) as b:
            self.sign_in(b, BOB)
            self.assertEqual(self.search(b, "198.51.100.7"), set())  # AMBER: above its green
            self.assertEqual(self.search(b, "green.example.org"), {self.green_id})
            self.assertEqual(self.search(b, "192.0.2.1"), {self.port_id})  # the address|port one
            self.assertEqual(self.search(b, "192.0.2.10"), set())
            # the type and TLP fields choose from every type and TLP, and "any"
            types = b.driver.find_elements("css selector", "form#search select[name=type] option")
            tlps = b.driver.find_elements("css selector", "form#search select[name=tlp] option")
            self.assertEqual((types[0].get_attribute("value"), len(types) > 30),
                             ("", True))
            self.assertIn("ja3-fingerprint-md5", [o.get_attribute("value") for o in types])
            self.assertEqual([o.get_attribute("value") for o in tlps],
                             ["", "clear", "green", "amber", "amber+strict", "red"])
            # a filter without a value walks by time, 50 a page
            b.fill("search", {"q": "", "type": "domain", "tlp": "green"})
            b.submit("search")
            self.assertEqual((b.attr("select[name=type] option:checked", "value"),
                              b.attr("select[name=tlp] option:checked", "value")),
                             ("domain", "green"))
            first = b.driver.find_elements("css selector", "#results tr.rec")
            self.assertEqual((len(first), b.driver.find_elements("id", "prev")), (50, []))
            old = b.driver.find_element("css selector", "html")
            b.driver.find_element("id", "next").click()
            b.wait_for(lambda: b._stale(old), what="the second page")
            self.assertEqual(len(b.driver.find_elements("css selector", "#results tr.rec")), 12)
            self.assertEqual((b.driver.find_elements("id", "next"), b.text("#prev")),
                             ([], "\u2190 previous"))
            b.open(f"{self.url}/ui/record/{self.range_id}")
            self.assertIn("no such record", b.text("#error"))  # 404, not 403: no hint it exists
            b.open(f"{self.url}/ui/record/{self.green_id}")
            self.assertEqual(b.text("#value"), "green.example.org")
            self.assertEqual(b.driver.find_elements("css selector", "#explain"), [])  # not CERT-A
            self.assertEqual(b.driver.find_elements("css selector", "form#revoke"), [])
            b.open(self.url + "/ui/publish")
            self.assertIn("only publishers", b.text("#error"))
            b.open(self.url + "/ui/search")
            b.submit("logout")
            b.wait_for(lambda: b.url.endswith("/ui/login"), what="the sign-in page after sign-out")
            b.open(self.url + "/ui/search")
            b.wait_for(lambda: b.url.endswith("/ui/login"), what="no session after sign-out")
        self.failed = False


if __name__ == "__main__":
    unittest.main()
