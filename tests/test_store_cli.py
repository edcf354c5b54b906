"""The store from the operator's side (issue 13 point 4, issue 12 point 6): backup while the node
ingests, restore elsewhere, check-store; restore refused while the node runs; a missing or bad
DataDir at start; a full file system on a running node.

The full disk is a file size limit (RLIMIT_FSIZE, set for the node process only, soft limit just
above the store file's size): the kernel answers EFBIG exactly as a full file system answers
ENOSPC, with no root, loop device or tmpfs needed; raising the limit with prlimit(2) is "space
returns".
"""
import json
import re
import os
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import BIN, DEADLINE_S, Mesh, converge, free_port, ok  # noqa: E402
from tlpm import tlpmesh, wait_for  # noqa: E402


def values_file(mesh, tag, n, pad=0):
    path = mesh.tmp.join(f"{tag}.txt")
    with open(path, "w") as f:
        for i in range(n):
            f.write(f"{tag}-{i}.store.example" + (f" # {'p' * pad}" if pad else "") + "\n")
    return path


def import_args(node, path):
    return ["import", "-c", node.conf, "--format", "text", "--type", "domain", "--tlp", "green",
            path]


def check_store(node):
    r = tlpmesh("check-store", "-c", node.conf, "--json", timeout=120)
    return r.rc, json.loads(r.out) if r.out.strip() else r.err


def unprivileged():
    """The argv prefix that runs a command where mode bits bind: as nobody (setpriv, util-linux)
    when this test runs as root (CI does, and root writes anywhere), as it is otherwise."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def run_fails(conf, prefix=()):
    """`tlpmesh run -c conf` that must stop at once (exit 1): its one stderr line."""
    p = subprocess.run([*prefix, BIN, "run", "-c", conf], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1, p  # RUN_FAIL
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


def count(node):
    return len(ok("list", "-c", node.conf, "--all", "--json").json_lines())


class StoreCli(unittest.TestCase):
    def setUp(self):
        self.mesh = Mesh()
        self.failed = True

    def tearDown(self):
        self.mesh.close(self.failed)

    def test_backup_during_ingest_restore_elsewhere(self):
        a = self.mesh.add("a", "CERT-A")
        elsewhere = self.mesh.add("z", "CERT-A")
        self.mesh.start(["a"])
        wait_for(lambda: a.answering(), timeout=DEADLINE_S, what="a")
        ok(*import_args(a, values_file(self.mesh, "first", 2000)))
        ingest = subprocess.Popen([BIN, *import_args(a, values_file(self.mesh, "more", 6000))],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        backup = self.mesh.tmp.join("a.mdb")
        r = ok("backup", "-c", a.conf, backup)
        self.assertIn("compacted", r.out)
        rc, online = check_store(a)  # online, while the import writes
        self.assertEqual(rc, 0, online)
        self.assertEqual(online["problems"], 0)
        _, err = ingest.communicate(timeout=300)
        self.assertEqual(ingest.returncode, 0, err)
        # an existing file is not overwritten without --force
        r = tlpmesh("backup", "-c", a.conf, backup)
        self.assertEqual(r.rc, 1)
        self.assertIn("exists", r.err)

        # restore is refused while the node runs
        r = tlpmesh("restore", "-c", a.conf, backup)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("running", r.err)
        self.assertEqual(r.err.count("\n"), 1)
        self.assertEqual(count(a), 8000)

        # restored elsewhere: clean, and exactly the snapshot the backup took
        r = ok("restore", "-c", elsewhere.conf, backup)
        rc, rep = check_store(elsewhere)
        self.assertEqual(rc, 0, rep)
        self.assertEqual(rep["problems"], 0)
        self.assertIn(f"({rep['records']} records;", r.out)
        self.assertGreaterEqual(rep["records"], 2000)
        self.assertLessEqual(rep["records"], 8000)
        self.assertEqual(count(elsewhere), rep["records"])

        # a backup of the finished store restores to the same counts
        ok("backup", "-c", a.conf, backup, "--force")
        ok("restore", "-c", elsewhere.conf, backup)
        rc, rep2 = check_store(elsewhere)
        rc_a, rep_a = check_store(a)
        self.assertEqual((rc, rc_a), (0, 0))
        for k in ("records", "indicators", "index_entries", "problems"):
            self.assertEqual(rep2[k], rep_a[k], k)
        self.assertTrue(os.path.exists(os.path.join(elsewhere.dir, "data",
                                                    "store.mdb.before-restore")))
        # not a store: refused, the current store untouched
        junk = self.mesh.tmp.join("junk.mdb")
        with open(junk, "wb") as f:
            f.write(os.urandom(65536))
        r = tlpmesh("restore", "-c", elsewhere.conf, junk)
        self.assertEqual(r.rc, 1)
        self.assertIn("not a usable store", r.err)
        self.assertEqual(count(elsewhere), 8000)

        # node stopped but a reader holds the store open (LMDB's lock): refused too
        a.stop()
        reader = subprocess.Popen([BIN, "export", "-c", a.conf, "--format", "text", "-o",
                                   self.mesh.tmp.join("a.txt"), "--every", "1h"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: os.path.exists(self.mesh.tmp.join("a.txt")), timeout=DEADLINE_S,
                     what="the export")
            r = tlpmesh("restore", "-c", a.conf, backup)
            self.assertEqual(r.rc, 1, r)
            self.assertIn(f"is open in process {reader.pid}", r.err)
        finally:
            reader.kill()
            reader.wait()
        ok("restore", "-c", a.conf, backup)
        self.assertEqual(check_store(a)[0], 0)
        self.failed = False

    def test_bad_data_dir_at_start(self):
        a = self.mesh.add("a", "CERT-A")
        missing = self.mesh.tmp.join("no", "such", "data")
        a.rewrite_conf("DataDir = data\n", f"DataDir = {missing}\n")
        cases = [(missing, "cannot create DataDir"), ]
        plain = self.mesh.tmp.join("plainfile")
        open(plain, "w").close()
        cases.append((plain, "is not a directory"))  # unwritable: the next test, unprivileged
        current = missing
        for path, want in cases:
            a.rewrite_conf(f"DataDir = {current}\n", f"DataDir = {path}\n")
            current = path
            line = run_fails(a.conf)
            self.assertIn(want, line)
            self.assertIn(str(path), line)
        self.failed = False

    def test_unwritable_or_missing_data_dir(self):
        """Mode bits for real: the node runs as an unprivileged user (nobody under root) whose
        DataDir is read-only, or missing in a read-only parent; a missing DataDir in a writable
        parent is created, 0700 (docs/OPERATIONS.md "Store")."""
        pre = unprivileged()
        box = tempfile.mkdtemp(prefix="test_store_cli.datadir.")
        try:
            os.chmod(box, 0o755)
            if pre:
                nobody = pwd.getpwnam("nobody")
                os.chown(box, nobody.pw_uid, nobody.pw_gid)
            home = os.path.join(box, "n")
            r = subprocess.run([*pre, BIN, "init", home, "--org", "CERT-N", "--network",
                                "test-mesh", "--listen", f"127.0.0.1:{free_port()}"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r)
            conf = os.path.join(home, "tlpmesh.conf")
            self.assertTrue(os.path.exists(conf), r.stdout)

            def data_dir(path):
                with open(conf) as f:
                    text = re.sub(r"(?m)^DataDir = .*$", f"DataDir = {path}", f.read())
                with open(conf, "w") as f:
                    f.write(text)

            ro = os.path.join(box, "readonly")
            subprocess.run([*pre, "mkdir", "-m", "0500", ro], check=True)
            data_dir(ro)
            line = run_fails(conf, pre)
            self.assertIn(f"DataDir {ro} is not writable by this user: Permission denied", line)
            under_ro = os.path.join(ro, "data")
            data_dir(under_ro)
            line = run_fails(conf, pre)
            self.assertIn(f"cannot create DataDir {under_ro}: Permission denied", line)
            self.assertFalse(os.path.exists(under_ro))

            fresh = os.path.join(box, "fresh")
            data_dir(fresh)
            node = subprocess.Popen([*pre, BIN, "run", "-c", conf], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            try:
                wait_for(lambda: os.path.exists(os.path.join(fresh, "control.sock")),
                         timeout=60, what="the node to create its DataDir and serve")
                self.assertEqual(os.stat(fresh).st_mode & 0o777, 0o700)
            finally:
                node.terminate()
                out, _ = node.communicate(timeout=60)
            self.assertEqual(node.returncode, 0, out)
        finally:
            shutil.rmtree(box, ignore_errors=True)
        self.failed = False

    def test_disk_full_then_space_returns(self):
        a = self.mesh.add("a", "CERT-A")
        b = self.mesh.add("b", "CERT-B")
        self.mesh.link("a", "b", "green", "green")
        metrics_port = free_port()
        with open(a.conf, "a") as f:
            f.write(f"\n[HTTP]\nListen = 127.0.0.1:{free_port()}\n"
                    f"MetricsListen = 127.0.0.1:{metrics_port}\n")

        def disk_full_metric():
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                        timeout=30) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("tlpmesh_store_disk_full_since_seconds "):
                        return int(float(line.split()[1]))
            raise AssertionError("no tlpmesh_store_disk_full_since_seconds in /metrics")

        def store_status():
            st = a.status()
            self.assertIsNotNone(st)
            return st["store"]

        self.mesh.start(["b"])
        wait_for(lambda: b.answering(), timeout=DEADLINE_S, what="b")
        a.publish("domain", "seed.store.example", "green")
        size = os.path.getsize(os.path.join(a.dir, "data", "store.mdb"))
        limit = size + (2 << 20)
        with open(a.log, "a") as logf:
            a.proc = subprocess.Popen(
                [BIN, "run", "-c", a.conf], stdout=logf, stderr=logf,
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                      (limit, resource.RLIM_INFINITY)))
        wait_for(lambda: a.answering(), timeout=DEADLINE_S, what="a")
        self.mesh.wait_links()
        self.assertEqual(store_status()["disk_full"], False)
        self.assertIsNone(store_status()["disk_full_since"])
        self.assertEqual(disk_full_metric(), 0)
        n = 12000
        started_ms = int(time.time() * 1000)
        ok(*import_args(b, values_file(self.mesh, "full", n, pad=300)), timeout=300)
        data_dir = os.path.join(a.dir, "data")
        want = f"no space left on device (DataDir {data_dir})"
        wait_for(lambda: want in a.log_text(), timeout=120, what="the disk-full message")
        # status and /metrics say so, and since when (the first failing commit came after the
        # start). A small commit may still fit in pages the file has free, which clears the
        # state until the next one fails: each view is awaited, never sampled once.
        seen = {}

        def full():
            seen.update(store_status())
            return seen["disk_full"]
        wait_for(full, timeout=120, what="status: disk full")
        since = seen["disk_full_since"]
        self.assertGreaterEqual(since, started_ms - 1000)
        self.assertLessEqual(since, int(time.time() * 1000))
        wait_for(lambda: disk_full_metric() >= started_ms // 1000 - 1, timeout=120,
                 what="/metrics: disk full since the import")
        wait_for(lambda: re.search(r"^store +\d+ records; DISK FULL since \S+Z: the last commit "
                                   r"failed, no space left on device$",
                                   tlpmesh("status", "-c", a.conf).out, re.M),
                 timeout=120, what="status text: disk full")
        # still serving reads, nothing damaged
        self.assertIsNotNone(a.status())
        held = count(a)
        self.assertLess(held, n + 1)
        rc, rep = check_store(a)
        self.assertEqual(rc, 0, rep)
        # space returns: a writes again by itself (a new record is pushed and stored) and the
        # records it could not store come back by reconciliation
        resource.prlimit(a.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        b.publish("domain", "after.store.example", "green")
        wait_for(lambda: tlpmesh("query", "-c", a.conf, "after.store.example").rc == 0,
                 timeout=120, what="a to store a new record")
        # a commit succeeded: the state is cleared
        self.assertEqual(store_status()["disk_full"], False)
        self.assertEqual(disk_full_metric(), 0)
        self.assertNotIn("DISK FULL", tlpmesh("status", "-c", a.conf).out)
        converge(lambda: None if count(a) == n + 2 else f"a holds {count(a)} of {n + 2}",
                 timeout=180, what="a to re-sync after the disk had space again", interval=1)
        rc, rep = check_store(a)
        self.assertEqual(rc, 0, rep)
        self.failed = False


if __name__ == "__main__":
    unittest.main(verbosity=2)
