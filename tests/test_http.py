"""Process-level test of the HTTP side of `tlpmesh run` (node/shell/http.c, node/formats/taxii.c, node/shell/log.c).

A real node with [HTTP] enabled is driven with Debian's curl and with Python's urllib: TAXII 2.1
discovery, collections and objects with the exact media type; 401 without credentials; a poller
that pages with `next`, then polls with added_after = X-TAXII-Date-Added-Last and gets every
object exactly once; anonymous readers see CLEAR only; /metrics in the Prometheus text format and
/healthz; bad requests answered with JSON errors while the node keeps serving; JSON log lines and
SIGHUP reopening the log file.
"""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tlpm import BIN, TempDir, init_node, tlpmesh, wait_for  # noqa: E402

TAXII = "application/taxii+json;version=2.1"
SECRET = "partner-secret-0123456789"
TOKEN = "token-secret-0123456789ab"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, tmp):
        self.tmp = tmp
        self.conf, self.key = init_node(tmp, "n", "CERT-A")
        self.port, self.mport = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp.join("node.log")
        self.set_anonymous(False)
        self.proc = None

    def set_anonymous(self, anonymous):
        with open(self.conf) as f:
            text = f.read().split("\n[HTTP]")[0]
        text += (f"\n[HTTP]\nListen = 127.0.0.1:{self.port}\nMetricsListen = 127.0.0.1:{self.mport}\n"
                 f"Anonymous = {'yes' if anonymous else 'no'}\nMaxPageSize = 100\n"
                 f"\n[Client]\nName = partner\nOrganisation = CERT-B\nSecret = {SECRET}\n"
                 f"\n[Client]\nName = opencti\nOrganisation = CERT-C\nSecret = {TOKEN}\n"
                 f"Scheme = token\n")
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self):
        self.stderr = open(self.tmp.join("stderr.log"), "a")
        self.proc = subprocess.Popen([BIN, "run", "-c", self.conf, "--log-format", "json",
                                      "--log-file", self.log], stderr=self.stderr)
        wait_for(lambda: self.healthy(), what="/healthz")

    def healthy(self):
        try:
            with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                return r.status == 200 and r.read() == b"ok\n"
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=15) == 0, "node exit code"
        self.stderr.close()

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def publish(self, tlp, values, to=None):
        path = self.tmp.join("values.txt")
        with open(path, "w") as f:
            f.write("\n".join(values) + "\n")
        args = ["import", "-c", self.conf, "--format", "text", "--type", "domain", path,
                "--tlp", tlp]
        if to:
            args += ["--to", to]
        r = tlpmesh(*args)
        assert r.rc == 0, r


def get(url, auth=None, accept=TAXII, method="GET", data=None):
    """(status, headers, body bytes) of one request; HTTP errors are answers too."""
    req = urllib.request.Request(url, method=method, data=data)
    if accept:
        req.add_header("Accept", accept)
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def basic(user, password, scheme="Basic"):
    return scheme + " " + base64.b64encode(f"{user}:{password}".encode()).decode()


def curl(*args):
    r = subprocess.run(["curl", "-sS", "-D", "-", *args], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition("\n\n")  # text mode turned CRLF into LF
    status = int(head.split()[1])
    headers = {k.lower(): v.strip() for k, _, v in
               (line.partition(":") for line in head.split("\n")[1:])}
    return status, headers, body


def expect_error(status, headers, body, code):
    assert status == code, (status, body)
    assert headers["Content-Type"] == TAXII, headers["Content-Type"]
    err = json.loads(body)
    assert err["http_status"] == str(code) and err["title"] and err["description"], err


def collection_url(node, auth):
    st, _, body = get(node.base + "/tlpmesh/collections/", auth)
    assert st == 200, body
    cid = json.loads(body)["collections"][0]["id"]
    return f"{node.base}/tlpmesh/collections/{cid}/"


def poll(url, auth, added_after=None, limit=50):
    """A TAXII 2.1 poller: pages with next; returns (indicator ids, last X-TAXII-Date-Added-Last)."""
    ids, last, nxt = [], None, None
    for _ in range(1000):
        q = f"?limit={limit}" + (f"&next={nxt}" if nxt else
                                 f"&added_after={added_after}" if added_after else "")
        st, h, body = get(url + "objects/" + q, auth)
        assert st == 200, body
        assert h["Content-Type"] == TAXII
        env = json.loads(body)
        objs = env.get("objects", [])
        assert len(objs) <= limit
        for o in objs:
            assert o["spec_version"] == "2.1", o
            if o["type"] == "indicator":
                ids.append(o["id"])
        if objs:
            last = h["X-TAXII-Date-Added-Last"]
            assert h["X-TAXII-Date-Added-First"] <= last
        if not env.get("more"):
            return ids, last
        nxt = env["next"]
    raise AssertionError("paging did not end")


def check_metrics(text):
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
                        r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? -?[0-9.e+]+$')
    assert text.endswith("\n")
    typed, names = set(), []
    for line in text.rstrip("\n").split("\n"):
        if line.startswith("# HELP "):
            names.append(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert name == names[-1] and kind in ("counter", "gauge"), line
            assert name not in typed, f"{name} typed twice"
            typed.add(name)
        else:
            assert sample.match(line), line
            assert re.split(r"[{ ]", line)[0] == names[-1], line
    for want in ("tlpmesh_peers", "tlpmesh_records", "tlpmesh_records_ingested_total",
                 "tlpmesh_records_duplicate_total", "tlpmesh_gate_refusals_total",
                 "tlpmesh_handshake_failures_total", "tlpmesh_store_bytes"):
        assert want in typed, want
    return text


def main():
    tmp = TempDir()
    node = None
    try:
        node = Node(tmp)
        _, other_key = init_node(tmp, "other", "CERT-Z")
        clear = [f"clear{i}.example.com" for i in range(230)]
        node.publish("clear", clear)
        node.publish("amber", ["amber1.example.com", "amber2.example.com"])
        node.publish("red", ["red1.example.com"], to=other_key)
        node.start()
        partner = basic("partner", SECRET)

        # discovery with curl: exact media type, 401 + challenge without credentials
        st, h, body = curl(node.base + "/taxii2/")
        assert st == 401 and h.get("www-authenticate", "").startswith("Basic realm="), (st, h, body)
        assert json.loads(body)["http_status"] == "401"
        st, h, body = curl("-u", f"partner:{SECRET}", "-H", f"Accept: {TAXII}",
                           node.base + "/taxii2/")
        assert st == 200 and h["content-type"] == TAXII, (st, h)
        assert json.loads(body)["api_roots"] == ["/tlpmesh/"]
        st, h, body = curl("-H", f"Authorization: {basic('partner', SECRET, 'basic')}",
                           node.base + "/tlpmesh/")
        assert st == 200 and json.loads(body)["versions"] == [TAXII]
        st, h, body = curl("-H", f"Authorization: Token {TOKEN}",
                           node.base + "/tlpmesh/collections/")
        coll = json.loads(body)["collections"][0]
        assert coll["title"] == "indicators" and coll["can_read"] and not coll["can_write"]
        url = collection_url(node, partner)
        st, h, body = curl("-u", f"partner:{SECRET}", url + "objects/?limit=5")
        assert st == 200 and h["content-type"] == TAXII and "x-taxii-date-added-last" in h
        st, _, _ = get(url + "objects/", basic("partner", "wrong-secret-000000"))
        assert st == 401

        # a poller pages with next, then polls with added_after: every object exactly once
        ids, last = poll(url, partner)
        assert len(ids) == 232 and len(set(ids)) == 232, len(ids)  # CLEAR + AMBER, never RED
        more = [f"later{i}.example.com" for i in range(70)]
        node.publish("clear", more)
        new_ids, last2 = poll(url, partner, added_after=last)
        assert len(new_ids) == 70 and not set(new_ids) & set(ids), len(new_ids)
        again, _ = poll(url, partner, added_after=last2)
        assert again == []
        st, _, body = get(url + f"objects/?added_after={last2}", partner)
        assert st == 200 and json.loads(body) == {}

        # anonymous readers: after a reload with Anonymous = yes, CLEAR only
        node.set_anonymous(True)
        node.hup()
        wait_for(lambda: get(node.base + "/taxii2/")[0] == 200, what="anonymous after reload")
        anon, _ = poll(url, None, limit=100)
        assert len(anon) == 300, len(anon)
        st, _, body = get(url + "objects/?limit=100", None)
        clear_id = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
        for o in json.loads(body)["objects"]:
            if o["type"] == "indicator":
                assert o["object_marking_refs"] == [clear_id], o
            if o["type"] == "marking-definition":
                assert o["id"] == clear_id

        # /metrics: open on MetricsListen, credentials on the TAXII listener; /healthz
        st, h, body = get(f"http://127.0.0.1:{node.mport}/metrics", accept=None)
        assert st == 200 and h["Content-Type"].startswith("text/plain; version=0.0.4"), h
        text = check_metrics(body.decode())
        assert 'tlpmesh_records{tlp="clear"} 300\n' in text, text
        assert 'tlpmesh_records{tlp="red"} 1\n' in text
        assert get(f"http://127.0.0.1:{node.mport}/taxii2/")[0] == 404
        assert get(node.base + "/metrics", accept=None)[0] == 401
        st, _, body = get(node.base + "/metrics", partner, accept=None)
        assert st == 200
        check_metrics(body.decode())
        st, h, body = curl(f"http://127.0.0.1:{node.mport}/healthz")
        assert st == 200 and body == "ok\n"

        # bad requests: JSON errors, and the node keeps serving
        expect_error(*get(node.base + "/tlpmesh/collections/nope/objects/", partner), 404)
        expect_error(*get(url + "objects/?limit=0", partner), 400)
        expect_error(*get(url + "objects/?added_after=yesterday", partner), 400)
        expect_error(*get(url + "objects/?next=forged", partner), 400)
        expect_error(*get(url + "objects/", partner, accept=TAXII.replace("2.1", "2.0")), 406)
        expect_error(*get(url + "objects/", partner, method="POST", data=b"{" * 200000), 403)
        expect_error(*get(url + "objects/", partner, method="DELETE"), 405)
        st, _, _ = get(url + "objects/?" + "&".join(f"p{i}=1" for i in range(40)), partner)
        assert st == 400
        st, _, _ = get(node.base + "/taxii2/", partner + "x" * 20000)  # headers over the limit
        assert st in (413, 414, 431), st
        with socket.create_connection(("127.0.0.1", node.port), timeout=10) as s:
            s.sendall(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
            s.recv(4096)  # an error answer or EOF, either is fine
        assert node.healthy()
        st, _, _ = get(node.base + "/taxii2/", partner)
        assert st == 200

        # logs: JSON lines; SIGHUP after a rename sends new lines to a new file
        with open(node.log) as f:
            lines = [json.loads(line) for line in f]
        reqs = [l for l in lines if l["event"] == "http_request"]
        assert reqs and all({"ts", "level", "event", "method", "path", "status", "reader",
                             "addr"} <= set(l) for l in reqs), reqs[:3]
        assert any(l["status"] == "401" and l["reader"] == "-" for l in reqs)
        assert any(l["reader"] == "partner" for l in reqs)
        os.rename(node.log, node.log + ".1")
        node.hup()
        wait_for(lambda: os.path.exists(node.log), what="log reopened")
        get(node.base + "/after-rotate/", partner)  # a 404, logged with its path
        wait_for(lambda: "after-rotate" in open(node.log).read() or None, what="new log line")
        assert "after-rotate" not in open(node.log + ".1").read()
        for line in open(node.log):
            json.loads(line)

        # --log-format takes text or json only
        r = tlpmesh("run", "-c", node.conf, "--log-format", "xml")
        assert r.rc == 2 and "neither text nor json" in r.err, r
        node.stop()
        node = None
        print("test_http: ok")
    finally:
        if node:
            node.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
