"""The systemd service (issue 13, point 2): tlpmesh@.service is rated "OK" (at most 2.0) by
`systemd-analyze security --offline=true`, the figure docs/OPERATIONS.md states is the one it
gets, and `tlpmesh run` really tells systemd READY=1 and STOPPING=1 (a datagram socket in
NOTIFY_SOCKET, read here as systemd would)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
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
