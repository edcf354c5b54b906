"""tests/lib/browser.py against a two-page site of its own (http.server on 127.0.0.1): a form is
filled and submitted by clicking, the answer read back, a cookie seen with its flags, a
screenshot written at the fixed window size, and JavaScript really off when asked."""
import html
import http.server
import os
import struct
import sys
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from browser import WINDOW, Browser  # noqa: E402
from tlpm import TempDir  # noqa: E402

FORM = (b"<!doctype html><title>f</title><p id='js'>off</p>"
        b"<script>document.getElementById('js').textContent='on'</script>"
        b"<form id='f' method='post' action='/echo'><input name='a'><select name='s'>"
        b"<option value='x'>x</option><option value='y'>y</option></select>"
        b"<button type='submit'>go</button></form>")


class Site(http.server.BaseHTTPRequestHandler):
    def _send(self, body, cookie=None):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send(FORM, cookie="k=v; HttpOnly; SameSite=Strict; Path=/")

    def do_POST(self):
        n = int(self.headers["Content-Length"])
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        self._send(f"<p id='got'>{html.escape(form['a'][0])}/{form['s'][0]}</p>".encode())

    def log_message(self, *args):
        pass


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


class BrowserTest(unittest.TestCase):
    def setUp(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.tmp = TempDir()

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()
        self.tmp.cleanup()

    def test_form_cookie_screenshot(self):
        with Browser() as b:
            b.open(self.url)
            self.assertEqual(b.text("#js"), "on")
            c = b.cookies()["k"]
            self.assertEqual((c["value"], c["httpOnly"], c["sameSite"]), ("v", True, "Strict"))
            b.fill("f", {"a": "<b>1</b>", "s": "y"})
            b.submit("f")
            self.assertEqual(b.wait_for(lambda: b.text("#got")), "<b>1</b>/y")
            self.assertEqual(png_size(b.screenshot(self.tmp.join("p.png"))), WINDOW)

    def test_javascript_off(self):
        with Browser(javascript=False) as b:
            b.open(self.url)
            self.assertEqual(b.text("#js"), "off")
            b.fill("f", {"a": "z"})
            b.submit("f")
            self.assertEqual(b.wait_for(lambda: b.text("#got")), "z/x")


if __name__ == "__main__":
    unittest.main()
