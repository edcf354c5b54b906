"""What `cmake --install` ships matches the program (issue 13, point 1): the man pages name every
command and option of `tlpmesh --help` and every key of the config key table
(node/config/config_keys.c), the bash completion offers every command, the install puts each
file in place, and the example config is valid but holds no key."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tlpm import BIN, TempDir, tlpmesh  # noqa: E402

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.dirname(os.path.abspath(BIN))
MAN8 = os.path.join(SRC, "dist/man/tlpmesh.8.scd")
MAN5 = os.path.join(SRC, "dist/man/tlpmesh.conf.5.scd")


def read(path):
    with open(path) as f:
        return f.read()


def help_commands():
    r = tlpmesh("--help")
    assert r.rc == 0, r
    body = r.out.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in body.splitlines() if line.strip()]


def long_options(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))


def man_sections(text, level="##"):
    """{heading: body} of the scdoc headings at that level."""
    parts = re.split(rf"(?m)^{level} (.+)$", text)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def config_key_table():
    """(section, key) of every entry of config_key_specs[] in config_keys.c."""
    text = read(os.path.join(SRC, "node/config/config_keys.c"))
    table = text.split("config_key_specs[CONFIG_N_KEYS] = {", 1)[1].split("};", 1)[0]
    pairs = re.findall(r'\{"(\w+)", CONFIG_SECTION_(\w+),', table)
    assert pairs, "no entries parsed from config_key_specs"
    return {(s.lower(), k) for k, s in pairs}


class ManPages(unittest.TestCase):
    def test_every_command_and_option(self):
        cmds = help_commands()
        self.assertIn("reload", cmds)
        sections = man_sections(man_sections(read(MAN8), "#")["COMMANDS"])
        missing = [c for c in cmds if c not in sections]
        self.assertEqual(missing, [], "commands of tlpmesh --help without a section in tlpmesh.8")
        extra = sorted(set(sections) - set(cmds))
        self.assertEqual(extra, [], "tlpmesh.8 documents commands the program does not have")
        for c in cmds:
            usage = tlpmesh(c, "--help")
            self.assertEqual(usage.rc, 0, usage)
            # the example lines' options are the usage's; "--help" is every command's
            opts = long_options(usage.out) - {"--help"}
            self.assertEqual(sorted(opts - long_options(sections[c])), [],
                             f"options of tlpmesh {c} --help missing from its tlpmesh.8 section")

    def test_every_config_key(self):
        sections = man_sections(read(MAN5))
        documented = set()
        for heading, body in sections.items():
            m = re.fullmatch(r"\[(\w+)\]", heading)
            if m:
                documented |= {(m.group(1).lower(), k)
                               for k in re.findall(r"(?m)^\*(\w+)\* =", body)}
        table = config_key_table()
        self.assertEqual(sorted(table - documented), [], "keys missing from tlpmesh.conf.5")
        self.assertEqual(sorted(documented - table), [], "tlpmesh.conf.5 keys the parser lacks")

    def test_rendered_at_build_time(self):
        for page in ["tlpmesh.8", "tlpmesh.conf.5"]:
            path = os.path.join(BUILD, "dist", page)
            text = read(path)
            self.assertIn(".TH", text, path)
            r = subprocess.run(["man", "-l", "-P", "cat", path], capture_output=True, text=True,
                               env={**os.environ, "MANWIDTH": "100"})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("warning", r.stderr)


class Completion(unittest.TestCase):
    def complete(self, *words):
        script = ("source {}; COMP_WORDS=({}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); "
                  "_tlpmesh; printf '%s\\n' \"${{COMPREPLY[@]}}\"").format(
                      os.path.join(SRC, "dist/bash-completion/tlpmesh"),
                      " ".join(f"'{w}'" for w in words))
        env = {**os.environ, "PATH": BUILD + os.pathsep + os.environ["PATH"]}
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.split()

    def test_commands_subcommands_options(self):
        self.assertEqual(sorted(set(self.complete("tlpmesh", "")) - {"--help", "--version"}),
                         sorted(help_commands()))
        self.assertEqual(self.complete("tlpmesh", "peer", ""),
                         ["add", "list", "remove", "replace-key"])
        self.assertEqual(self.complete("tlpmesh", "key", ""),
                         ["recover", "recovery-init", "rotate"])
        self.assertIn("--recovery-key", self.complete("tlpmesh", "key", "--r"))
        self.assertIn("--valid-until", self.complete("tlpmesh", "publish", "--v"))
        self.assertEqual(self.complete("tlpmesh", "publish", "--tlp", "am"),
                         ["amber", "amber+strict"])


class Install(unittest.TestCase):
    def test_install_tree_and_example(self):
        tmp = TempDir()
        try:
            r = subprocess.run(["cmake", "--install", BUILD, "--prefix", tmp.path],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            want = ["bin/tlpmesh", "share/man/man8/tlpmesh.8", "share/man/man5/tlpmesh.conf.5",
                    "share/bash-completion/completions/tlpmesh",
                    "lib/systemd/system/tlpmesh@.service", "lib/sysusers.d/tlpmesh.conf",
                    "lib/tmpfiles.d/tlpmesh.conf", "share/doc/tlpmesh/examples/tlpmesh.conf",
                    "share/doc/tlpmesh/monitoring/tlpmesh.rules.yml",
                    "share/doc/tlpmesh/monitoring/tlpmesh-dashboard.json"]
            for rel in want:
                self.assertTrue(os.path.isfile(tmp.join(rel)), rel)
            self.assertFalse(os.path.exists(tmp.join("etc")), "no config is installed")
            unit = read(tmp.join("lib/systemd/system/tlpmesh@.service"))
            self.assertIn(f"ExecStart={tmp.path}/bin/tlpmesh run -c /etc/tlpmesh/%i.conf", unit)
            r = subprocess.run([tmp.join("bin/tlpmesh"), "--version"], capture_output=True,
                               text=True)
            self.assertEqual(r.returncode, 0)
            # the example is valid, and its key does not exist: nothing can start from it
            example = tmp.join("share/doc/tlpmesh/examples/tlpmesh.conf")
            os.chmod(example, 0o640)
            r = tlpmesh("check-config", "-c", example)
            self.assertEqual(r.rc, 0, r)
            r = tlpmesh("run", "-c", example)
            self.assertEqual(r.rc, 2, r)
            self.assertIn("/var/lib/tlpmesh/NAME/node.key", r.err)
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
