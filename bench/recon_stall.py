#!/usr/bin/python3
"""bench/recon_stall.py [--bin BUILD/tlpmesh] [--records N] [--seconds S] [--dir DIR]
[--probe-ms MS] - do
reconciliation rounds a peer starts stall the node's loop? (issue 12, docs/SECURITY.md gap 6)

One node with N AMBER records (default 500,000, `tlpmesh import`). Python plays a partner of it
(tests/lib/noisepeer.py, the independent Noise implementation) allowed CLEAR only, so the set the
node reconciles with it is empty, yet building it reads every record of the store (the cost a
round a peer starts puts on the loop). The partner's key is chosen smaller than the node's, so
the node only answers rounds, never starts one with it. The partner starts rounds back to back for
S seconds (default 20): its first message over an empty set, the node's one-message answer ends
the round; when the node closes the session it dials again until S is up (a backed-off key is
refused at the end of the handshake). Meanwhile a probe asks {"cmd":"status"} on the control
socket every --probe-ms (default 10 ms): a status request waits for the loop's turn in progress,
so the probe's p99 and max during the rounds bound the longest loop turn a round causes (the set
is built over many turns, one store chunk or sort step each).

Printed: rounds answered and their round trip (p50/max: about one set build each), the node's
CPU time during the rounds per round answered (the loop hold a round costs), sessions the
node closed and handshakes it refused, and the probe's p50/p99/max quiet (5 s) and during the
rounds. --dir keeps the node (and its store) there and reuses it. Not a test: nothing asserted.
"""
import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "lib"))
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from noisepeer import frame, recv_frame, session  # noqa: E402

NETWORK = "bench"
INITIATE = bytes([19, 0x02, 0x00, 0x02, 0x00])  # RECON: version 2, to infinity, IDLIST of none


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_pk(sk):
    return sk.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)


def make_node(binary, root, records):
    """(config, listen port, partner key): made once, reused from root."""
    conf = os.path.join(root, "n", "tlpmesh.conf")
    skf = os.path.join(root, "partner.key")
    if os.path.exists(conf):
        with open(skf, "rb") as f:
            sk = serialization.load_pem_private_key(f.read(), None)
        with open(os.path.join(root, "port")) as f:
            return conf, int(f.read()), sk
    port = free_port()
    subprocess.run([binary, "init", os.path.join(root, "n"), "--org", "CERT-A", "--network",
                    NETWORK, "--listen", f"127.0.0.1:{port}"], capture_output=True, check=True)
    node_key = base64.b64decode(subprocess.run(
        [binary, "pubkey", os.path.join(root, "n", "node.key")], capture_output=True, text=True,
        check=True).stdout.strip())
    sk = Ed25519PrivateKey.generate()
    while raw_pk(sk) >= node_key:  # the smaller key initiates: the node only answers rounds
        sk = Ed25519PrivateKey.generate()
    subprocess.run([binary, "peer", "add", "-c", conf, "--key", base64.b64encode(raw_pk(sk)).decode(),
                    "--org", "CERT-P", "--max-tlp", "clear"], capture_output=True, check=True)
    path = os.path.join(root, "amber.txt")
    with open(path, "w") as f:
        for i in range(records):
            f.write(f"amber{i}.example.net\n")
    t = time.monotonic()
    subprocess.run([binary, "import", "-c", conf, "--format", "text", "--type", "domain", path,
                    "--tlp", "amber"], capture_output=True, check=True, timeout=7200)
    print(f"imported {records} records in {time.monotonic() - t:.0f} s")
    with open(skf, "wb") as f:
        f.write(sk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()))
    with open(os.path.join(root, "port"), "w") as f:
        f.write(str(port))
    return conf, port, sk


class Control:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(60)
        self.s.connect(path)
        self.buf = b""

    def ask(self, req):
        self.s.sendall(json.dumps(req).encode() + b"\n")
        while b"\n" not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise OSError("control socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)


def probe(ctl, seconds, every_s):
    lat, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        t = time.monotonic()
        ctl.ask({"cmd": "status"})
        lat.append((time.monotonic() - t) * 1000)
        time.sleep(every_s)
    return lat


def rounds(port, node_key, sk, seconds, out):
    """Starts rounds back to back until seconds are up; fills out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        opened = session(port, node_key, sk, NETWORK, timeout=30)
        if opened is None:
            out["refused"] += 1
            time.sleep(0.2)
            continue
        sock, tx, rx = opened
        out["sessions"] += 1
        try:
            while time.monotonic() < deadline:
                t = time.monotonic()
                sock.sendall(frame(tx.encrypt_with_ad(b"", INITIATE)))
                while True:  # the answer: the next RECON message (others are skipped)
                    m = recv_frame(sock)
                    if m is None:
                        raise ConnectionResetError
                    if rx.decrypt_with_ad(b"", m)[0] == 19:
                        break
                out["rtt"].append((time.monotonic() - t) * 1000)
        except OSError:
            out["closed"] += 1
        finally:
            sock.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def show(name, lat):
    print(f"status {name}: n={len(lat)} p50={pct(lat, .5):.1f} ms p99={pct(lat, .99):.1f} ms "
          f"max={max(lat) if lat else float('nan'):.1f} ms")


def cpu_s(pid):
    """The process's user + system CPU seconds (/proc/PID/stat): a round's set build is CPU on
    the loop thread, so this divided by rounds answered is the loop hold a round costs, which a
    loaded machine does not inflate the way it does round trips."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/tlpmesh")
    ap.add_argument("--records", type=int, default=500000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--dir")
    ap.add_argument("--probe-ms", type=float, default=10)
    a = ap.parse_args()
    root = a.dir or tempfile.mkdtemp(prefix="recon_stall.")
    os.makedirs(root, exist_ok=True)
    conf, port, sk = make_node(a.bin, root, a.records)
    node_key = subprocess.run([a.bin, "pubkey", os.path.join(root, "n", "node.key")],
                              capture_output=True, text=True, check=True).stdout.strip()
    log = open(os.path.join(root, "node.log"), "a")
    proc = subprocess.Popen([a.bin, "run", "-c", conf], stderr=log)
    try:
        sockp = os.path.join(root, "n", "data", "control.sock")
        for _ in range(600):
            try:
                ctl = Control(sockp)
                ctl.ask({"cmd": "status"})
                break
            except OSError:
                time.sleep(0.1)
        show("quiet", probe(ctl, 5, a.probe_ms / 1000))
        out = {"rtt": [], "sessions": 0, "closed": 0, "refused": 0}
        th = threading.Thread(target=rounds, args=(port, node_key, sk, a.seconds, out))
        cpu0 = cpu_s(proc.pid)
        th.start()
        loaded = probe(ctl, a.seconds, a.probe_ms / 1000)
        th.join()
        cpu = cpu_s(proc.pid) - cpu0
        show("during rounds", loaded)
        r = out["rtt"]
        print(f"rounds answered: {len(r)} in {a.seconds:.0f} s, round trip p50={pct(r, .5):.1f} "
              f"ms max={max(r) if r else float('nan'):.1f} ms; sessions {out['sessions']}, "
              f"closed by the node {out['closed']}, handshakes refused {out['refused']}")
        print(f"node CPU during rounds: {cpu:.2f} s, per round answered "
              f"{1000 * cpu / len(r) if r else float('nan'):.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
