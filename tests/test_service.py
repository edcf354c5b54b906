"""The systemd service (issue 13, point 2): tlpmesh@.service is rated "OK" (at most 2.0) by
`systemd-analyze security --offline=true`, the figure docs/OPERATIONS.md states is the one it
gets; its SystemCallFilter allows every system call a node makes (traced with strace while it
talks to a peer, verifies, serves HTTP, reloads and stops); and `tlpmesh run` really tells
systemd READY=1 and STOPPING=1 (a datagram socket in NOTIFY_SOCKET, read here as systemd
would)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import Mesh, converge, free_port, ok  # noqa: E402
from tlpm import BIN, TempDir, init_node  # noqa: E402

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.dirname(os.path.abspath(BIN))
DEADLINE_S = 60


class Exposure(unittest.TestCase):
    @unittest.skipUnless(shutil.which("systemd-analyze"),
                         "systemd-analyze absent (scripts/setup.sh installs systemd)")
    def test_rated_ok_and_documented(self):
        tmp = TempDir()
        try:
            # an instance name, as systemd would analyse tlpmesh@NAME
            unit = tmp.join("tlpmesh@test.service")
            shutil.copy(os.path.join(BUILD, "dist", "tlpmesh@.service"), unit)
            r = subprocess.run(["systemd-analyze", "security", "--offline=true", unit],
                               capture_output=True, text=True, cwd=tmp.path)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            m = re.search(r"Overall exposure level for tlpmesh@test\.service: (\d+\.\d+) (\w+)",
                          r.stdout)
            self.assertIsNotNone(m, r.stdout)
            score, verdict = float(m.group(1)), m.group(2)
            self.assertLessEqual(score, 2.0, r.stdout)
            self.assertEqual(verdict, "OK")
            with open(os.path.join(SRC, "docs/OPERATIONS.md")) as f:
                ops = f.read()
            self.assertIn(f"exposure level {m.group(1)} OK", ops,
                          "docs/OPERATIONS.md states the score the unit gets")
        finally:
            tmp.cleanup()


    @unittest.skipUnless(shutil.which("systemd-analyze"),
                         "systemd-analyze absent (scripts/setup.sh installs systemd)")
    def test_every_directive_known(self):
        """systemd-analyze verify warns of a misspelt or unknown directive (and still exits 0):
        it must say nothing. ExecStart names the built program, which verify wants to exist."""
        tmp = TempDir()
        try:
            with open(os.path.join(BUILD, "dist", "tlpmesh@.service")) as f:
                text = re.sub(r"(?m)^ExecStart=\S+", f"ExecStart={os.path.abspath(BIN)}", f.read())
            unit = tmp.join("tlpmesh@test.service")
            with open(unit, "w") as f:
                f.write(text)
            r = subprocess.run(["systemd-analyze", "verify", "--man=no", unit],
                               capture_output=True, text=True, cwd=tmp.path)
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        finally:
            tmp.cleanup()


def syscall_groups():
    """{"@group": set of system calls}, nested groups expanded (systemd-analyze syscall-filter)."""
    r = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    raw, cur = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("@"):
            cur = raw.setdefault(line.strip(), [])
        elif cur is not None and line.strip() and not line.strip().startswith("#"):
            cur.append(line.split()[0])

    def expand(name, depth=0):
        assert depth < 8, name
        if not name.startswith("@"):
            return {name}
        return set().union(*(expand(m, depth + 1) for m in raw[name])) if raw[name] else set()
    return expand


def unit_filter():
    """(allowed, denied) system calls of the unit's SystemCallFilter= lines."""
    expand = syscall_groups()
    allowed, denied = set(), set()
    with open(os.path.join(BUILD, "dist", "tlpmesh@.service")) as f:
        for line in f:
            if line.startswith("SystemCallFilter="):
                value = line.split("=", 1)[1].strip()
                into = denied if value.startswith("~") else allowed
                for name in value.lstrip("~").split():
                    into |= expand(name)
    return allowed, denied


def tlpmesh_child(strace_pid):
    """The traced tlpmesh process (strace's child): signals go to it, not to strace."""
    with open(f"/proc/{strace_pid}/task/{strace_pid}/children") as f:
        kids = f.read().split()
    return int(kids[0]) if kids else None


class SyscallFilter(unittest.TestCase):
    @unittest.skipUnless(shutil.which("systemd-analyze") and shutil.which("strace"),
                         "systemd-analyze or strace absent (scripts/setup.sh installs them)")
    def test_node_needs_nothing_the_unit_denies(self):
        mesh = Mesh()
        failed = True
        try:
            a, b = mesh.add("a", "CERT-A"), mesh.add("b", "CERT-B")
            mesh.link("a", "b")
            metrics = free_port()
            with open(a.conf, "a") as f:
                f.write(f"\n[HTTP]\nListen = 127.0.0.1:{free_port()}\n"
                        f"MetricsListen = 127.0.0.1:{metrics}\n")
            mesh.start(["b"])
            trace = mesh.tmp.join("a.trace")
            with open(a.log, "a") as logf:
                a.proc = subprocess.Popen(["strace", "-f", "-qq", "-o", trace, BIN, "run", "-c",
                                           a.conf], stdout=logf, stderr=logf,
                                          # LeakSanitizer cannot work under ptrace
                                          env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0"})
            converge(lambda: None if a.answering() else "no control socket", DEADLINE_S, "a")
            mesh.wait_links()
            a.publish("domain", "out.example", "green")
            b.publish("domain", "in.example", "green")  # a receives, verifies, commits
            converge(lambda: None if {r.get("value") for r in a.records().values()} >=
                     {"out.example", "in.example"} else "records missing", DEADLINE_S, "records")
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics",
                                        timeout=DEADLINE_S) as resp:
                self.assertEqual(resp.status, 200)
            ok("reload", "-c", a.conf)
            node = tlpmesh_child(a.proc.pid)
            self.assertIsNotNone(node)
            os.kill(node, signal.SIGHUP)
            converge(lambda: None if a.log_text().count("reloaded ") >= 2 else "one reload",
                     DEADLINE_S, "the SIGHUP reload")
            os.kill(node, signal.SIGTERM)
            self.assertEqual(a.proc.wait(timeout=DEADLINE_S), 0, a.log_tail())
            a.proc = None
            with open(trace) as f:
                used = set(re.findall(r"(?m)^\d+ +([a-z0-9_]+)\(", f.read()))
            self.assertGreater(len(used), 20, used)
            allowed, denied = unit_filter()
            self.assertEqual(sorted(used - allowed), [], "calls outside @system-service")
            self.assertEqual(sorted(used & denied), [], "calls the unit's ~ lines deny")
            failed = False
        finally:
            mesh.close(failed)


class Notify(unittest.TestCase):
    def test_ready_then_stopping(self):
        tmp = TempDir()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        proc = None
        try:
            conf, _ = init_node(tmp, "a", "CERT-A")
            path = tmp.join("notify.sock")
            sock.bind(path)
            sock.settimeout(DEADLINE_S)
            log = open(tmp.join("node.log"), "w")
            proc = subprocess.Popen([BIN, "run", "-c", conf], stdout=log, stderr=log,
                                    env={**os.environ, "NOTIFY_SOCKET": path})
            log.close()
            ready = sock.recv(4096).decode()
            self.assertIn("READY=1", ready.split("\n"))
            self.assertIn("STATUS=0 peers configured", ready.split("\n"))
            # READY comes once the control socket is up: status answers at once
            r = subprocess.run([BIN, "status", "-c", conf], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(sock.recv(4096).decode().split("\n"), ["STOPPING=1"])
            self.assertEqual(proc.wait(timeout=DEADLINE_S), 0)
            proc = None
        finally:
            sock.close()
            if proc:
                proc.kill()
                proc.wait()
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
