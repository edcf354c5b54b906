"""Process-level tests of the HTTP listener's limits (issue 12 point 3): a real `tlpmesh run` on
127.0.0.1, attacked with raw sockets from many loopback source addresses (127.0.0.x).

- slowloris: 64 and more connections that send their request head a byte at a time, from one
  address and from many, do not keep honest readers out; each is cut by the head deadline
  although it never stops sending;
- per-address cap: the 65th connection from one address is refused while another address is
  served;
- match[id] finds exactly the objects asked for, through the id index, and keeps the gate;
- TAXII pages built off the loop: many at once all come back right, and a node stopped while
  they are being built exits cleanly.
"""
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tlpm import BIN, NodeTest, add_http, free_port, tlpmesh, wait_for  # noqa: E402

SECRET = "partner-secret-0123456789"
AUTH = "Basic " + base64.b64encode(f"partner:{SECRET}".encode()).decode()
CLEAR_ONLY = "Basic " + base64.b64encode(f"clearonly:{SECRET}".encode()).decode()
TAXII = "application/taxii+json;version=2.1"
PER_ADDR = 64  # LIMIT_HTTP_CONNS_PER_ADDR



def request(port, path, src="127.0.0.1", auth=None, timeout=10):
    """(status, body) of one GET from source address src; (None, error) when refused or cut."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(src, 0))
    try:
        headers = {"Accept": TAXII}
        if auth:
            headers["Authorization"] = auth
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException) as e:
        return None, repr(e)
    finally:
        c.close()


class Slowloris:
    """n connections from the source addresses srcs (round robin), each sending a request head one
    byte at a time, for ever, until the server ends it."""

    HEAD = (b"GET /taxii2/ HTTP/1.1\r\nHost: tlpmesh\r\n" + b"X-Slow: " + b"s" * 4000)

    def __init__(self, port, n, srcs):
        self.socks = []
        for i in range(n):
            s = socket.socket()
            s.bind((srcs[i % len(srcs)], 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            self.socks.append([s, 0, False])  # socket, bytes sent, ended by the server
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            for entry in self.socks:
                s, sent, ended = entry
                if ended:
                    continue
                try:
                    if s.recv(1) == b"":
                        entry[2] = True
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    entry[2] = True
                    continue
                try:
                    s.send(self.HEAD[sent % len(self.HEAD):][:1])
                    entry[1] += 1
                except BlockingIOError:
                    pass
                except OSError:
                    entry[2] = True
            self.stop.wait(0.25)  # the attacker's pace: one byte per connection every 250 ms

    def open_count(self):
        return sum(1 for _, _, ended in self.socks if not ended)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)
        for s, _, _ in self.socks:
            s.close()


class HttpLimits(NodeTest):
    def setUp(self):
        super().setUp()
        self.port = free_port()
        add_http(self.conf, self.port, [("partner", "CERT-B", SECRET, None),
                                        ("clearonly", "CERT-C", SECRET, "clear")],
                 "MaxPageSize = 50\n")
        self.proc = None
        self.publish("clear", [f"clear{i}.example.com" for i in range(120)])
        self.publish("amber", ["amber0.example.com", "amber1.example.com"])
        self.start()
        st, body = request(self.port, "/tlpmesh/collections/", auth=AUTH)
        self.assertEqual(st, 200, body)
        cid = json.loads(body)["collections"][0]["id"]
        self.coll = f"/tlpmesh/collections/{cid}/"

    def publish(self, tlp, values):
        path = self.tmp.join(f"{tlp}.txt")
        with open(path, "w") as f:
            f.write("\n".join(values) + "\n")
        r = tlpmesh("import", "-c", self.conf, "--format", "text", "--type", "domain", path,
                    "--tlp", tlp)
        self.assertEqual(r.rc, 0, r)

    def start(self):
        self.stderr = open(self.tmp.join("stderr.log"), "a")
        self.proc = subprocess.Popen([BIN, "run", "-c", self.conf], stderr=self.stderr)
        wait_for(lambda: request(self.port, "/healthz", timeout=2)[0] == 200, what="/healthz")

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.assertEqual(self.proc.wait(timeout=30), 0, "node exit code")
        if self.proc:
            self.stderr.close()
        super().tearDown()

    def served(self, src):
        """An honest reader at src gets /healthz and a TAXII page (retried until a deadline)."""
        wait_for(lambda: request(self.port, "/healthz", src=src)[0] == 200, timeout=30,
                 what=f"/healthz from {src}")
        st, body = request(self.port, self.coll + "objects/?limit=10", src=src, auth=AUTH)
        self.assertEqual(st, 200, body)
        self.assertEqual(sum(o["type"] == "indicator" for o in json.loads(body)["objects"]), 8)  # + identity, marking

    def cut_by_deadline(self, loris):
        # They never stop sending, so an idle timeout would keep them for ever: only the head
        # deadline ends them.
        wait_for(lambda: loris.open_count() == 0, timeout=60, interval=0.2,
                 what="every slowloris connection cut by the head deadline")

    def test_slowloris_one_address(self):
        loris = Slowloris(self.port, PER_ADDR + 16, ["127.0.0.1"])
        try:
            self.served("127.0.0.2")
            self.cut_by_deadline(loris)
            self.served("127.0.0.1")  # its own address is served again once they are gone
            # the 64 it held were cut by the deadline, the other 16 refused by the cap
            st, body = request(self.port, "/metrics", auth=AUTH)
            self.assertEqual(st, 200, body)
            self.assertIn(f"\ntlpmesh_http_head_timeouts_total {PER_ADDR}\n", body.decode())
        finally:
            loris.close()

    def test_slowloris_many_addresses(self):
        loris = Slowloris(self.port, 64, [f"127.0.1.{i}" for i in range(1, 65)])
        try:
            self.served("127.0.0.1")
            self.cut_by_deadline(loris)
        finally:
            loris.close()
        # More than the listener's whole connection limit (256): the deadline frees the slots
        # and the honest reader, queued in the kernel's backlog, gets its turn.
        loris = Slowloris(self.port, 320, [f"127.0.2.{i}" for i in range(1, 81)])
        try:
            self.served("127.0.0.1")
            self.cut_by_deadline(loris)
        finally:
            loris.close()

    def test_per_address_cap(self):
        # 64 keep-alive connections from one address, each after one answered request: idle
        # between requests, they are held (up to the 30 s keep-alive deadline).
        held = []
        try:
            for _ in range(PER_ADDR):
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                               source_address=("127.0.0.1", 0))
                c.request("GET", "/healthz")
                r = c.getresponse()
                self.assertEqual((r.status, r.read()), (200, b"ok\n"))
                held.append(c)
            st, err = request(self.port, "/healthz", src="127.0.0.1")
            self.assertIsNone(st, "the 65th connection from one address is refused")
            self.served("127.0.0.3")
            for c in held:  # the held ones still work
                c.request("GET", "/healthz")
                self.assertEqual(c.getresponse().read(), b"ok\n")
        finally:
            for c in held:
                c.close()
        self.served("127.0.0.1")

    def objects(self, query, auth=AUTH):
        st, body = request(self.port, self.coll + "objects/" + query, auth=auth)
        self.assertEqual(st, 200, body)
        return json.loads(body)

    def test_match_id(self):
        env = self.objects("?limit=50")
        ids = [o["id"] for o in env["objects"] if o["type"] == "indicator"]
        names = {o["id"]: o["name"] for o in env["objects"] if o["type"] == "indicator"}
        want = [ids[3], ids[17], ids[40]]
        env = self.objects("?match[id]=" + ",".join(reversed(want)))
        got = [o["id"] for o in env["objects"] if o["type"] == "indicator"]
        self.assertEqual(got, want)  # in arrival order, each once
        self.assertEqual({o["name"] for o in env["objects"] if o["type"] == "indicator"},
                         {names[i] for i in want})
        self.assertFalse(env["more"])
        # paged one at a time with next
        seen, query = [], f"?limit=1&match[id]={','.join(want)}"
        for _ in range(10):
            env = self.objects(query)
            seen += [o["id"] for o in env.get("objects", []) if o["type"] == "indicator"]
            if not env.get("more"):
                break
            query = f"?limit=1&match[id]={','.join(want)}&next={env['next']}"
        self.assertEqual(seen, want)
        # an unknown id, an id twice, another type
        self.assertEqual(self.objects("?match[id]=indicator--00000000-0000-5000-8000-"
                                      "000000000000"), {})
        env = self.objects(f"?match[id]={want[0]},{want[0]}")
        self.assertEqual([o["id"] for o in env["objects"] if o["type"] == "indicator"],
                         [want[0]])
        self.assertEqual(self.objects(f"?match[id]={want[0]}&match[type]=identity"), {})
        # the gate still holds: the AMBER ids are the partner's, never a CLEAR-only reader's
        amber = []
        env = self.objects("?limit=50")
        for _ in range(10):
            amber += [o["id"] for o in env["objects"]
                      if o["type"] == "indicator" and "amber" in o["name"]]
            if not env.get("more"):
                break
            env = self.objects("?limit=50&next=" + env["next"])
        self.assertEqual(len(amber), 2)
        env = self.objects("?match[id]=" + ",".join(amber + want[:1]))
        self.assertEqual([o["id"] for o in env["objects"] if o["type"] == "indicator"],
                         want[:1] + amber)
        env = self.objects("?match[id]=" + ",".join(amber + want[:1]), auth=CLEAR_ONLY)
        self.assertEqual([o["id"] for o in env["objects"] if o["type"] == "indicator"],
                         want[:1])
        self.assertEqual(self.objects("?match[id]=" + ",".join(amber), auth=CLEAR_ONLY), {})

    def test_pages_off_the_loop(self):
        results = [None] * 24

        def fetch(i):
            results[i] = request(self.port, self.coll + "objects/?limit=50", auth=AUTH,
                                 timeout=60)

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        for st, body in results:
            self.assertEqual(st, 200, body)
            env = json.loads(body)
            self.assertTrue(env["more"])
            self.assertEqual(sum(o["type"] == "indicator" for o in env["objects"]), 48)
        # stopped with pages queued: every request is answered or cut, the node exits 0
        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=30), 0)
        for t in threads:
            t.join(timeout=90)
        for st, body in results:
            self.assertIn(st, (None, 200, 503), body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
