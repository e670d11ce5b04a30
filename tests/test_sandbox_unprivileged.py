"""The sandbox as a normal user (no root): user namespace + mount/net/pid namespaces + seccomp, built by the
worker itself or (where only bwrap may create user namespaces) by bwrap.

Run as root (like CI), this test starts a small harness as uid 65534 with `setpriv` and checks that it
reaches full isolation and contains the basic hostile programs; it is skipped where that is impossible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
import uuid
from pathlib import Path

import pytest

from evalharness.sandbox.detect import world_readable

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or not Path(SYSTEM_PYTHON).exists()
    or not world_readable(str(REPO / "evalharness" / "sandbox" / "worker.py")),
    reason="needs root, setpriv, /usr/bin/python3 and a world-readable checkout to switch to an unprivileged user",
)

HARNESS = """
import json, os, sys
sys.path.insert(0, {repo!r})
from evalharness.sandbox import open_sandbox, Limits, detect, pool
if {mode!r} == "bwrap":  # only the bwrap configuration
    pool.candidate_configs = lambda *a: [c for c in detect.candidate_configs(*a) if c.get("bwrap")]
sb = open_sandbox(workers=1)
limits = Limits(timeout_s=2)
programs = {{
    "write": "open({target!r}, 'a').write('pwned')",
    "delete": "import os; os.remove({target!r})",
    "fork": "import os; os.fork()",
    "tcp": "import socket; socket.create_connection(('127.0.0.1', 1), timeout=1)",
    "kill": "import os; os.kill({harness_pid}, 9)",
    "home": "import os; print(os.listdir('/home'), os.listdir('/root') if os.path.exists('/root') else [])",
    "locked": "import os; os.makedirs('a/b'); os.chmod('a/b', 0); os.chmod('a', 0)",
    "scratch": "import glob, os; print(len(glob.glob(os.path.dirname(os.getcwd()) + '/run-*')))",
}}
out = {{"isolation": sb.isolation, "layers": list(sb.layers), "uid": os.getuid()}}
for name, source in programs.items():
    r = sb.run(source.replace("{{harness}}", str(os.getpid())), limits)
    out[name] = {{"exit": r.exit_code, "stdout": r.stdout, "stderr": r.stderr_end[-300:]}}
sb.close()
print(json.dumps(out))
"""


@pytest.mark.parametrize("mode", ["userns", "bwrap"])
def test_unprivileged_user_gets_full_isolation(mode):
    if mode == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bwrap not installed (apt-get install bubblewrap)")
    folder = REPO / f".sandbox-target-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    os.chmod(folder, 0o777)
    target = folder / "precious.txt"
    target.write_text("original\n")
    os.chmod(target, 0o666)
    try:
        script = HARNESS.format(repo=str(REPO), target=str(target), harness_pid="{harness}", mode=mode)
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SYSTEM_PYTHON, "-I",
                               "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=60,
                              cwd="/", env={"PATH": "/usr/bin:/bin"})
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert target.read_text() == "original\n"
    finally:
        shutil.rmtree(folder)
    assert out["uid"] == 65534 and out["isolation"] == "full", out
    assert "userns" in out["layers"] and "caps-dropped" in out["layers"]
    assert ("bwrap" in out["layers"]) == (mode == "bwrap")
    # Read-only mounts, or (when the checkout lives under /tmp) the sandbox's private tmpfs hides the file.
    for name in ("write", "delete"):
        assert out[name]["exit"] == 1, out[name]
        assert any(m in out[name]["stderr"] for m in ("Read-only file system", "No such file or directory")), out[name]
    for name in ("fork", "tcp", "kill"):
        assert out[name]["exit"] == 1 and "PermissionError" in out[name]["stderr"], (name, out[name])
    assert out["home"]["stdout"].strip() == "[] []"
    assert out["locked"]["exit"] == 0 and out["scratch"]["stdout"] == "1\n"  # earlier run dirs were removed
