"""The web console's defences (issue 16 point 1), over plain HTTP (http.client, no browser), against
two real `tlpmesh run` processes: A (console users ana, publisher, and rex, reader, of CERT-A) and
B (bob, publisher of CERT-B), linked as partners. The URLs, forms and headers are those of the
console contract (docs/OPERATIONS.md "Console").

- no session, or a forged, malformed, ended (signed out) or other node's session cookie: 303 to
  /ui/login on every page;
- a POST without the csrf field, with a wrong one, or with another session's: 403, nothing
  published, revoked or signed out; a sign-in without the token bound to its tlpm_pre cookie: 403
  (login CSRF), no session made;
- a form body over LIMIT_CONSOLE_FORM_BYTES (Content-Length, a claimed one never sent, chunked):
  413, and the node keeps serving /healthz on both listeners, its console and gossip;
- a value, comment or tag holding <script> or an attribute break, published here or arriving from
  B, is shown escaped on the record page, in search results and echoed in forms;
- a reader: 403 on publish and revoke;
- LIMIT_CONSOLE_SIGNIN_FAILS failed sign-ins from one address: the next is 429 even with the right
  password; each failure is a console_signin_failed log line (without the password tried); another
  address still signs in;
- every answer under /ui/ (pages, redirects, 403, 404, 413, 429, the stylesheet) carries exactly the
  Content-Security-Policy, X-Content-Type-Options, Referrer-Policy and Cache-Control of the contract
  (checked on each answer by Agent.request);
- /ui/ is not served on the MetricsListen listener (404).
The limits come from proto/limits.h (tlpm.limit). Each source address 127.0.0.x is a client of its
own: the sign-in tests use addresses of their own so that their failures count apart.
"""
import html
import html.parser
import os
import re
import secrets
import socket
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import DEADLINE_S, Mesh, converge, ok  # noqa: E402
from tlpm import add_http, free_port, http_request, limit, store_snapshot, wait_for  # noqa: E402

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
UI_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
              "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
SIGNIN_FAILS = limit("LIMIT_CONSOLE_SIGNIN_FAILS")
SIGNIN_ADDR_FAILS = limit("LIMIT_CONSOLE_SIGNIN_ADDR_FAILS")
FORM_BYTES = limit("LIMIT_CONSOLE_FORM_BYTES")
TOKEN_HEX = 2 * limit("LIMIT_CONSOLE_TOKEN_BYTES")
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'

# (name, organisation, secret, max_tlp, console role): tlpm.add_http's [Client]s
ANA = ("ana", "CERT-A", "ana-secret-0123456789", "amber", "publisher")
REX = ("rex", "CERT-A", "rex-secret-0123456789", "amber", "reader")
BOB = ("bob", "CERT-B", "bob-secret-0123456789", "amber", "publisher")
EVE = ("eve", "CERT-B", "eve-secret-0123456789", "amber", "reader")  # of another org, on A
RECORD_PATH = r"^/ui/record/[0-9a-f]{64}$"


class Inputs(html.parser.HTMLParser):
    """Of a page: values, name -> value of the first <input> of each name (hidden ones
    included); forms, id -> the attributes of that <form>."""

    def __init__(self, text):
        super().__init__()
        self.values, self.forms = {}, {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.values.setdefault(a["name"], a.get("value") or "")
        if tag == "form" and a.get("id"):
            self.forms[a["id"]] = a


def cookie_attrs(set_cookie):
    """The attributes of a Set-Cookie value after name=value, lower case: {"httponly", ...}."""
    return {a.strip().lower() for a in set_cookie.split(";")[1:]}


class Agent:
    """A user agent over plain HTTP: a cookie jar, a source address. Every answer under /ui/ is
    checked for the console's security headers, exactly."""

    def __init__(self, test, port, src="127.0.0.1"):
        self.test, self.port, self.src = test, port, src
        self.jar, self.set_cookies = {}, {}  # name -> value; name -> last Set-Cookie header

    def request(self, method, path, form=None, body=None, headers=None):
        h = dict(headers or {})
        if self.jar:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        r = http_request(self.port, method, path, headers=h, body=body, src=self.src)
        for c in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = c.partition("=")
            value = rest.split(";")[0]
            self.set_cookies[name] = c
            if value and "max-age=0" not in cookie_attrs(c):
                self.jar[name] = value
            else:
                self.jar.pop(name, None)
        if path.startswith("/ui/"):
            self.test.assert_ui_headers(r, f"{method} {path}")
        return r

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, form):
        return self.request("POST", path, form=form)

    def csrf(self, path="/ui/search"):
        """The csrf token the page at path carries (the sign-in form, or any signed-in page)."""
        r = self.get(path)
        self.test.assertEqual(r.status, 200, r)
        return Inputs(r.text).values["csrf"]

    def sign_in(self, client):
        return self.post("/ui/login", {"user": client[0], "password": client[2],
                                       "csrf": self.csrf("/ui/login")})

    def signed_in(self, client):
        self.test.assert_redirect(self.sign_in(client), "/ui/search")
        return self


class ConsoleAttacks(unittest.TestCase):
    failed = False

    @classmethod
    def setUpClass(cls):
        cls.mesh = Mesh()
        try:
            cls.a, cls.b = cls.mesh.add("a", "CERT-A"), cls.mesh.add("b", "CERT-B")
            cls.mesh.link("a", "b")
            # a peer of A's never started, its ceiling green: an amber record to it is warned of
            cls.c = cls.mesh.add("c", "CERT-C")
            cls.a.add_peer(cls.c, "green")
            cls.ui, cls.metrics, cls.ui_b = free_port(), free_port(), free_port()
            add_http(cls.a.conf, cls.ui, [ANA, REX, EVE], extra=f"MetricsListen = 127.0.0.1:{cls.metrics}\n")
            add_http(cls.b.conf, cls.ui_b, [BOB])
            cls.mesh.start(["a", "b"])
            cls.mesh.wait_links()
            for port in (cls.ui, cls.metrics, cls.ui_b):
                wait_for(lambda: http_request(port, "GET", "/healthz").status == 200,
                         timeout=DEADLINE_S, what=f"/healthz on port {port}")
        except BaseException:
            cls.mesh.close(True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.mesh.close(cls.failed)

    def run(self, result=None):
        result = super().run(result)
        if result is not None and not result.wasSuccessful():
            type(self).failed = True
        return result

    # --- assertions ---
    def assert_ui_headers(self, r, what):
        got = {k: r.headers.get(k) for k in UI_HEADERS}
        self.assertEqual(got, UI_HEADERS, f"{what}: {r!r}")
        self.assertEqual(len(r.headers.get_all("Content-Security-Policy")), 1, what)

    def assert_redirect(self, r, location):
        self.assertEqual((r.status, r.headers.get("Location")), (303, location), r)

    def assert_to_login(self, agent, paths):
        for path in paths:
            self.assert_redirect(agent.get(path), "/ui/login")

    def assert_error_page(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertRegex(r.text, r'<p id="error"[^>]*>[^<]+</p>', r)

    def agent(self, src="127.0.0.1", port=None):
        return Agent(self, port or self.ui, src)

    def published(self, node, type_, value, tlp="green", tags=(), comment=None):
        args = ["publish", "-c", node.conf, "--type", type_, "--value", value, "--tlp", tlp,
                "--json"]
        for t in tags:
            args += ["--tag", t]
        if comment is not None:
            args += ["--comment", comment]
        return re.search(r'"id":"([0-9a-f]{64})"', ok(*args).out).group(1)

    def arrives(self, node, rid):
        converge(lambda: None if rid in node.records() else f"{rid} not at {node.name}",
                 DEADLINE_S, f"record {rid[:8]} at {node.name}")

    def pages(self, rid):
        return ["/ui/", "/ui/search", "/ui/search?q=x", f"/ui/record/{rid}", "/ui/publish",
                "/ui/peers", "/ui/activity"]

    # --- sessions ---
    def test_no_session_redirects_to_login(self):
        rid = self.published(self.a, "domain", "nosession.example")
        self.assert_to_login(self.agent(), self.pages(rid))
        r = self.agent().get("/ui/login")
        self.assertEqual(r.status, 200, r)
        page = Inputs(r.text)
        login = {k: page.forms["login"].get(k) for k in ("method", "action")}
        self.assertEqual(login, {"method": "post", "action": "/ui/login"})
        self.assertTrue(set(page.values) >= {"user", "password", "csrf"}, r.text)

    def test_bad_session_cookies_redirect_to_login(self):
        rid = self.published(self.a, "domain", "badsession.example")
        bob = self.agent(port=self.ui_b).signed_in(BOB)
        self.assertEqual(bob.get("/ui/search").status, 200)  # a live session, on B
        ended = self.agent().signed_in(ANA)
        old = ended.jar["tlpm_session"]
        self.assert_redirect(ended.post("/ui/logout", {"csrf": ended.csrf()}), "/ui/login")
        forged = {"forged": secrets.token_hex(TOKEN_HEX // 2), "short": old[:-1],
                  "long": old + "0", "not hex": "z" * TOKEN_HEX, "empty": "",
                  "huge": "a" * 3000, "ended": old, "other node's": bob.jar["tlpm_session"]}
        for what, value in forged.items():
            with self.subTest(cookie=what):
                agent = self.agent()
                agent.jar["tlpm_session"] = value
                self.assert_to_login(agent, self.pages(rid))

    def test_session_cookie_flags(self):
        agent = self.agent()
        r = agent.get("/ui/login")
        self.assertTrue({"httponly", "samesite=strict", "path=/ui/"}
                        <= cookie_attrs(agent.set_cookies["tlpm_pre"]), r)
        self.assert_redirect(agent.sign_in(ANA), "/ui/search")
        attrs = cookie_attrs(agent.set_cookies["tlpm_session"])
        self.assertTrue({"httponly", "samesite=strict", "path=/ui/"} <= attrs, attrs)
        self.assertNotIn("secure", attrs)  # plain HTTP, no [HTTP] SecureCookie = yes
        self.assertRegex(agent.jar["tlpm_session"], rf"^[0-9a-f]{{{TOKEN_HEX}}}$")

    def test_sign_in_makes_a_new_session_and_drops_the_pre_cookie(self):
        agent = self.agent("127.0.0.7")
        old = self.agent("127.0.0.7").signed_in(REX).jar["tlpm_session"]
        token, pre = agent.csrf("/ui/login"), agent.jar["tlpm_pre"]
        agent.jar["tlpm_session"] = old  # a live session the request comes with (planted)
        r = agent.post("/ui/login", {"user": ANA[0], "password": ANA[2], "csrf": token})
        self.assert_redirect(r, "/ui/search")
        self.assertRegex(agent.jar["tlpm_session"], rf"^[0-9a-f]{{{TOKEN_HEX}}}$")
        self.assertNotEqual(agent.jar["tlpm_session"], old)
        self.assertIn("max-age=0", cookie_attrs(agent.set_cookies["tlpm_pre"]), r)
        self.assertNotIn("tlpm_pre", agent.jar)
        planted = self.agent("127.0.0.7")
        planted.jar["tlpm_session"] = old
        self.assert_to_login(planted, ["/ui/search"])  # the old session ended
        self.assertEqual(agent.get("/ui/search").status, 200)
        fresh = self.agent("127.0.0.7")
        fresh.csrf("/ui/login")
        self.assertNotEqual(fresh.jar["tlpm_pre"], pre)

    # --- CSRF ---
    def test_post_without_valid_csrf_is_403(self):
        ana = self.agent().signed_in(ANA)
        other = self.agent().signed_in(ANA).csrf()  # the same user's other session
        mine = ana.csrf()
        self.assertNotEqual(mine, other)
        own = self.published(self.a, "domain", "csrf-revoke.example")
        form = {"type": "domain", "value": "csrf.example", "tlp": "green"}
        before = store_snapshot(self.a.conf)
        for what, csrf in {"none": None, "empty": "", "wrong": secrets.token_hex(TOKEN_HEX // 2),
                           "other session's": other, "truncated": mine[:-1]}.items():
            with self.subTest(csrf=what):
                extra = {} if csrf is None else {"csrf": csrf}
                self.assert_error_page(ana.post("/ui/publish", {**form, **extra}), 403)
                r = ana.post(f"/ui/record/{own}/revoke", {"reason": "csrf", **extra})
                self.assert_error_page(r, 403)
                self.assert_error_page(ana.post("/ui/logout", extra), 403)
        self.assertEqual(store_snapshot(self.a.conf), before, "a refused POST changed the store")
        self.assertEqual(ana.get("/ui/search").status, 200, "a refused logout ended the session")
        # the same forms with the session's own token do what they say
        r = ana.post("/ui/publish", {**form, "csrf": mine})
        self.assertEqual(r.status, 303, r)
        self.assertRegex(r.headers["Location"], RECORD_PATH)
        r = ana.post(f"/ui/record/{own}/revoke", {"reason": "csrf test", "csrf": mine})
        self.assert_redirect(r, f"/ui/record/{own}")
        self.assertIn('id="revocation"', ana.get(f"/ui/record/{own}").text)

    def test_login_csrf_is_403(self):
        user = {"user": ANA[0], "password": ANA[2]}
        first, second = self.agent("127.0.0.2"), self.agent("127.0.0.2")
        token = first.csrf("/ui/login")
        second.csrf("/ui/login")  # a tlpm_pre of its own, not the one token is bound to
        cases = {"no token, no tlpm_pre": (self.agent("127.0.0.2"), {}),
                 "token without its tlpm_pre": (self.agent("127.0.0.2"), {"csrf": token}),
                 "token of another tlpm_pre": (second, {"csrf": token})}
        for what, (agent, extra) in cases.items():
            with self.subTest(what):
                self.assert_error_page(agent.post("/ui/login", {**user, **extra}), 403)
                self.assertNotIn("tlpm_session", agent.jar)
        forged = self.agent("127.0.0.2")
        forged.jar["tlpm_pre"] = secrets.token_hex(TOKEN_HEX // 2)
        self.assert_error_page(forged.post("/ui/login", {**user, "csrf": token}), 403)
        self.assertNotIn("tlpm_session", forged.jar)
        self.assert_redirect(first.post("/ui/login", {**user, "csrf": token}), "/ui/search")

    # --- sizes ---
    def raw_post(self, head_lines, chunks=()):
        """A POST to /ui/publish on a raw socket: the head, then chunks (the server may answer
        and close before they are all sent); the status line and headers of the answer."""
        s = socket.create_connection(("127.0.0.1", self.ui), timeout=DEADLINE_S)
        try:
            s.sendall(("POST /ui/publish HTTP/1.1\r\nHost: tlpmesh\r\n" + "".join(
                f"{h}\r\n" for h in head_lines) + "\r\n").encode())
            try:
                for c in chunks:
                    s.sendall(c)
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer = b""
            while b"\r\n\r\n" not in answer:
                part = s.recv(4096)
                if not part:
                    break
                answer += part
            return answer.decode("latin-1")
        finally:
            s.close()

    def test_oversized_form_is_413_and_node_serves_on(self):
        ana = self.agent().signed_in(ANA)
        csrf = ana.csrf()
        big = {"type": "domain", "value": "big.example", "tlp": "green", "csrf": csrf}
        pad = FORM_BYTES + 1 - len(urllib.parse.urlencode({**big, "comment": ""}))
        body = urllib.parse.urlencode({**big, "comment": "x" * pad}).encode()
        self.assertEqual(len(body), FORM_BYTES + 1)
        before = store_snapshot(self.a.conf)
        for _ in range(20):
            self.assertEqual(ana.request("POST", "/ui/publish", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded"}).status, 413)
        cookie = f"Cookie: tlpm_session={ana.jar['tlpm_session']}"
        form = "Content-Type: application/x-www-form-urlencoded"
        claimed = self.raw_post([cookie, form, "Content-Length: 1000000000"])
        self.assertRegex(claimed, r"^HTTP/1\.1 413 ")
        self.assertIn(f"Content-Security-Policy: {CSP}\r\n", claimed)
        piece = b"comment=" + b"x" * 4096
        chunked = self.raw_post([cookie, form, "Transfer-Encoding: chunked"],
                                [b"%x\r\n%s\r\n" % (len(piece), piece)] * 8 + [b"0\r\n\r\n"])
        self.assertRegex(chunked, r"^HTTP/1\.1 413 ")
        # at the limit the form is read: its comment is too long for a record (400, named)
        at = body[:-1]
        r = ana.request("POST", "/ui/publish", body=at, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        self.assert_error_page(r, 400)
        self.assertIn("comment", re.search(r'<p id="error"[^>]*>([^<]*)<', r.text).group(1))
        self.assertEqual(store_snapshot(self.a.conf), before)
        for port in (self.ui, self.metrics):
            self.assertEqual(http_request(port, "GET", "/healthz").status, 200)
        self.assertEqual(ana.get("/ui/search").status, 200)
        self.arrives(self.a, self.published(self.b, "domain", "after-413.example"))

    # --- escaping ---
    def test_script_in_data_is_escaped(self):
        own = self.published(self.a, "user-agent", f"Mozilla/5.0 {SCRIPT}", tags=[SCRIPT],
                             comment=IMG)
        peer = self.published(self.b, "email-subject", IMG, tags=[IMG], comment=SCRIPT)
        self.arrives(self.a, peer)
        ana = self.agent().signed_in(ANA)
        pages = {f"/ui/record/{own}": [SCRIPT, IMG], f"/ui/record/{peer}": [SCRIPT, IMG],
                 "/ui/search?type=user-agent": [SCRIPT], "/ui/search?type=email-subject": [IMG],
                 "/ui/search?" + urllib.parse.urlencode({"q": SCRIPT}): [SCRIPT]}  # q echoed
        for path, shown in pages.items():
            with self.subTest(page=path):
                r = ana.get(path)
                self.assertEqual(r.status, 200, r)
                self.assert_no_markup_from_data(r.text)
                for text in shown:
                    self.assertIn(html.escape(text), r.text)
        for rid, value, comment in ((own, f"Mozilla/5.0 {SCRIPT}", IMG), (peer, IMG, SCRIPT)):
            page = ana.get(f"/ui/record/{rid}").text
            self.assertEqual(self.element_text(page, "value"), html.escape(value))
            self.assertEqual(self.element_text(page, "comment"), html.escape(comment))
            self.assertIn(html.escape(IMG if rid == peer else SCRIPT), page)
        r = ana.post("/ui/publish", {"type": "domain", "value": IMG, "tlp": "green",
                                      "comment": SCRIPT, "csrf": ana.csrf()})
        self.assert_error_page(r, 400)  # not a domain: the form comes back, escaped
        self.assert_no_markup_from_data(r.text)

    def test_rule_from_a_textarea_is_the_cli_s_record(self):
        """A browser submits a textarea's line breaks as CRLF: the console keeps the rule with
        LF, so the rule file given to `tlpmesh publish --value-file` and the same rule pasted
        in the form are one record, not two."""
        rule = "rule Textarea_Test\n{\n  condition:\n    true\n}\n"
        path = self.mesh.tmp.join("textarea.yar")
        with open(path, "w") as f:
            f.write(rule)
        cli = re.search(r'"id":"([0-9a-f]{64})"',
                        ok("publish", "-c", self.a.conf, "--type", "yara", "--value-file", path,
                           "--tlp", "green", "--json").out).group(1)
        ana = self.agent().signed_in(ANA)
        r = ana.post("/ui/publish", {"type": "yara", "value": rule.replace("\n", "\r\n"),
                                      "tlp": "green", "csrf": ana.csrf()})
        self.assert_redirect(r, f"/ui/record/{cli}")

    def assert_no_markup_from_data(self, page):
        self.assertNotRegex(page, r"(?i)<script", "raw <script from data")
        self.assertNotRegex(page, r"(?i)<img src=x", "raw <img from data")
        self.assertNotRegex(page, r"(?i)<[a-z]+[^>]*\son[a-z]+=", "an event handler from data")

    @staticmethod
    def element_text(page, eid):
        m = re.search(rf'id="{eid}"[^>]*>([^<]*)<', page)
        assert m, f'no id="{eid}" element'
        return m.group(1)

    # --- roles ---
    def test_reader_may_not_publish_or_revoke(self):
        own = self.published(self.a, "domain", "reader-revoke.example")
        rex = self.agent().signed_in(REX)
        csrf = rex.csrf()
        self.assertEqual(rex.get(f"/ui/record/{own}").status, 200)
        before = store_snapshot(self.a.conf)
        self.assert_error_page(rex.get("/ui/publish"), 403)
        self.assert_error_page(rex.post("/ui/publish", {
            "type": "domain", "value": "reader.example", "tlp": "green", "csrf": csrf}), 403)
        self.assert_error_page(rex.post(f"/ui/record/{own}/revoke",
                                        {"reason": "reader", "csrf": csrf}), 403)
        self.assertEqual(store_snapshot(self.a.conf), before)
        self.assertNotIn('id="revocation"', rex.get(f"/ui/record/{own}").text)

    def test_peers_page_is_for_this_node_s_own_organisation(self):
        eve = self.agent().signed_in(EVE)
        r = eve.get("/ui/peers")
        self.assert_error_page(r, 403)
        self.assertIn("this page is for this node&#39;s own organisation", r.text)
        for word in ("CERT-A", 'id="peers"', 'id="mesh"'):
            self.assertNotIn(word, r.text)
        page = eve.get("/ui/activity")
        self.assertEqual(page.status, 200, page)
        self.assertNotIn('href="/ui/peers"', page.text)
        self.assertIn('href="/ui/activity"', page.text)
        rex = self.agent().signed_in(REX)
        own = rex.get("/ui/peers")
        self.assertEqual(own.status, 200, own)
        self.assertIn('<table id="peers">', own.text)
        self.assertIn('href="/ui/peers"', rex.get("/ui/activity").text)

    def test_publish_above_own_ceiling_is_refused(self):
        ana = self.agent().signed_in(ANA)  # MaxTLP amber
        form = ana.get("/ui/publish").text
        select = re.search(r'<select id="tlp" name="tlp">(.*?)</select>', form).group(1)
        self.assertEqual(re.findall(r'<option value="([^"]*)"', select),
                         ["clear", "green", "amber"])
        self.assertIn('<option value="amber" selected>', select)
        before = store_snapshot(self.a.conf)
        csrf = ana.csrf("/ui/publish")
        for tlp in ("amber+strict", "red", "TLP:RED"):
            r = ana.post("/ui/publish", {"type": "domain", "value": "over-ceiling.example",
                                         "tlp": tlp, "to": self.b.key, "csrf": csrf,
                                         "confirm": "1"})
            self.assert_error_page(r, 400)
            self.assertIn('<p id="error"', r.text)
            self.assertIn("tlp: above your ceiling amber", r.text, tlp)
        self.assertEqual(store_snapshot(self.a.conf), before)

    def test_form_errors_and_warnings_are_in_the_form_s_words(self):
        ana = self.agent().signed_in(ANA)
        csrf = ana.csrf("/ui/publish")
        base = {"type": "domain", "value": "words.example", "tlp": "amber", "csrf": csrf}
        before = store_snapshot(self.a.conf)
        for extra, words in [({"confidence": "x"}, "confidence 'x' is not a whole number"),
                             ({"to": "nokey"}, "to 'nokey' is not a node public key"),
                             ({"valid_until": "soon"}, "valid_until 'soon' is not a future"),
                             ({"type": "nosuch"}, "type 'nosuch' is not a supported type")]:
            r = ana.post("/ui/publish", {**base, **extra})
            self.assert_error_page(r, 400)
            error = html.unescape(re.search(r'<p id="error">([^<]*)</p>', r.text).group(1))
            self.assertIn(words, error)
            self.assertNotIn("--", error)
        self.assertEqual(store_snapshot(self.a.conf), before)
        r = ana.post("/ui/publish", {**base, "to": self.c.key, "community": "nobody-here"})
        self.assertEqual(r.status, 200, r)
        warnings = html.unescape(re.search(r'<ul id="warnings">(.*?)</ul>', r.text).group(1))
        self.assertIn("community nobody-here", warnings)
        self.assertIn("this node's configuration", warnings)
        self.assertNotIn(self.a.conf, warnings)
        self.assertNotIn("--", warnings)

    # --- sign-in limit ---
    def signin_failures_logged(self, addr):
        return [l for l in self.a.log_text().splitlines()
                if "console_signin_failed" in l and addr in l]

    def test_brute_force_is_429_and_logged(self):
        addr = "127.0.0.3"
        guesses = [f"guess-{i}-{secrets.token_hex(4)}" for i in range(SIGNIN_FAILS)]
        for g in guesses:
            self.assert_error_page(self.agent(addr).sign_in((ANA[0], None, g)), 403)
        wait_for(lambda: len(self.signin_failures_logged(addr)) == SIGNIN_FAILS,
                 timeout=DEADLINE_S, what=f"{SIGNIN_FAILS} console_signin_failed lines")
        r = self.agent(addr).sign_in(ANA)  # the right password, past the limit
        self.assertEqual(r.status, 429, r)
        self.assertNotIn("tlpm_session", r.headers.get("Set-Cookie", ""))
        log = self.a.log_text()
        for g in guesses:
            self.assertNotIn(g, log, "a password tried is in the log")
        self.agent("127.0.0.4").signed_in(ANA)  # the limit is per address and name
        self.agent(addr).signed_in(REX)  # behind a proxy everyone shares one address

    def test_spraying_names_from_one_address_is_429(self):
        addr = "127.0.0.5"
        for i in range(SIGNIN_ADDR_FAILS):
            self.assert_error_page(self.agent(addr).sign_in((f"spray{i}", None, "x")), 403)
        r = self.agent(addr).sign_in(REX)  # a name never tried, past the address cap
        self.assertEqual(r.status, 429, r)
        self.assertNotIn("tlpm_session", r.headers.get("Set-Cookie", ""))
        self.agent("127.0.0.6").signed_in(REX)

    # --- listeners ---
    def test_not_on_metrics_listener(self):
        for method, path in [("GET", "/ui/"), ("GET", "/ui/login"), ("GET", "/ui/search"),
                             ("GET", "/ui/static/console.css"), ("POST", "/ui/login")]:
            with self.subTest(path=path):
                r = http_request(self.metrics, method, path, body=b"" if method == "POST" else None)
                self.assertEqual(r.status, 404, r)
                self.assertNotIn("tlpm_", r.headers.get("Set-Cookie", ""))
        self.assertEqual(http_request(self.metrics, "GET", "/healthz").status, 200)

    def test_headers_on_other_answers(self):
        """Agent.request checks the headers of every /ui/ answer; these are the kinds of answer
        the other tests do not make."""
        agent = self.agent()
        css = agent.get("/ui/static/console.css")
        self.assertEqual(css.status, 200, css)
        self.assertTrue(css.headers["Content-Type"].startswith("text/css"), css)
        ana = self.agent().signed_in(ANA)
        self.assertEqual(ana.get(f"/ui/record/{'0' * 64}").status, 404)
        self.assertEqual(ana.get("/ui/no-such-page").status, 404)


if __name__ == "__main__":
    unittest.main()
