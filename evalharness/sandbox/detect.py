"""What isolation this machine offers, and which interpreter the sandbox can use.

Detection is empirical: `candidate_configs` lists worker configurations from strongest to weakest, and the
pool starts a worker with each in turn until one reports ready; the layers a worker reports (not the ones
asked for) decide the isolation level. `host_facts` records what was seen (root, user namespaces, bwrap,
seccomp support, writable cgroups) for results.json; bwrap and cgroups are reported but not needed: the
worker builds the same namespaces itself, and rlimits + seccomp bound memory and processes.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from evalharness.errors import UserError

PROBE = ("import os, sys; print(__import__('json').dumps({'ok': sys.version_info >= (3, 9), "
         "'exe': os.path.realpath(sys.executable), 'stdlib': os.path.dirname(os.__file__), "
         "'version': sys.version.split()[0]}))")
FULL = {"uid", "mount-ro", "netns", "pidns", "seccomp"}
FULL_USERNS = {"userns", "caps-dropped", "mount-ro", "netns", "pidns", "seccomp"}
BWRAP_LAYERS = ("bwrap", "userns", "mount-ro", "netns", "ipcns", "pidns", "proc-private")


@dataclass(frozen=True)
class Interpreter:
    """`private`: not readable by other users (e.g. inside /root); as root the worker then binds its
    prefix read-only at a readable path inside its mount namespace and points the programs' sys.path there."""

    path: str
    version: str
    stdlib: str
    private: bool = False

    @property
    def prefix(self) -> str:
        return os.path.dirname(os.path.dirname(self.stdlib))  # <prefix>/lib/pythonX.Y


def world_readable(path: str) -> bool:
    """True when a user with no relation to the owner can reach and read `path` (dirs need o+x)."""
    p = Path(os.path.realpath(path))
    for parent in list(p.parents)[:-1] + [p]:
        try:
            mode = parent.stat().st_mode
        except OSError:
            return False
        need = stat.S_IXOTH if parent != p else stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
        if mode & need != need:
            return False
    return True


def _probe(path: str) -> Interpreter | None:
    try:
        out = subprocess.run([path, "-I", "-c", PROBE], capture_output=True, text=True, timeout=20,
                             env={"PATH": "/usr/bin:/bin"})
        info = json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return Interpreter(info["exe"], info["version"], info["stdlib"]) if info.get("ok") else None


def choose_python(explicit: str | None = None, *, need_world_readable: bool) -> Interpreter:
    """The interpreter for sandboxed programs: `explicit`, else this one, else the system python3.
    As root the programs run under other uids, so a world-readable interpreter is preferred; failing that,
    the first runnable one is returned marked `private` (usable only with a mount namespace)."""
    candidates = [explicit] if explicit else [sys.executable, "/usr/bin/python3", "/usr/local/bin/python3",
                                              shutil.which("python3") or ""]
    rejected, private = [], None
    for path in filter(None, candidates):
        interp = _probe(path)
        if interp is None:
            rejected.append(f"{path} (not runnable or older than 3.9)")
        elif need_world_readable and not world_readable(interp.stdlib):
            private = private or replace(interp, private=True)
        else:
            return interp
    if private:
        return private
    raise UserError("no Python interpreter usable for the code sandbox: " + "; ".join(rejected)
                    + "; install python3 system-wide (e.g. apt-get install python3) or pass a readable one")


def candidate_configs(is_root: bool, uid: int | None) -> list[dict]:
    """Worker configurations, strongest first; the last one is `none` (rlimits only)."""
    base = {"tmpfs_mb": 512}
    if is_root:
        configs = [
            {"uid": uid, "userns": False, "mountns": True, "netns": True, "pidns": True, "seccomp": True},
            {"uid": uid, "userns": False, "mountns": False, "netns": True, "pidns": False, "seccomp": True},
            {"uid": uid, "userns": False, "mountns": False, "netns": False, "pidns": False, "seccomp": True},
            {"uid": uid, "userns": False, "mountns": False, "netns": False, "pidns": False, "seccomp": False},
        ]
    else:
        configs = [
            {"uid": None, "userns": True, "mountns": True, "netns": True, "pidns": True, "seccomp": True},
            {"uid": None, "userns": True, "mountns": True, "netns": True, "pidns": False, "seccomp": True},
            {"uid": None, "userns": True, "mountns": True, "netns": True, "pidns": True, "seccomp": False},
        ]
        if shutil.which("bwrap"):  # e.g. where only bwrap may create user namespaces (AppArmor on Ubuntu)
            configs.append({"uid": None, "userns": False, "mountns": False, "netns": False, "pidns": False,
                            "seccomp": True, "bwrap": True, "external_layers": list(BWRAP_LAYERS)})
    configs.append({"uid": None, "userns": False, "mountns": False, "netns": False, "pidns": False,
                    "seccomp": False})
    return [{**base, **c} for c in configs]


def bwrap_argv(python: Interpreter, worker_dir: str, tmpfs_mb: int) -> list[str]:
    """bwrap prefix for a worker: the same namespaces and read-only view the worker builds itself when it
    may create user namespaces. No --die-with-parent: it would tie the worker to the harness *thread*
    that started it; the worker exits on its own when the harness closes its pipe."""
    argv = ["bwrap", "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--new-session", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
    size = str(tmpfs_mb * 1024 * 1024)
    for path in ("/tmp", "/var/tmp", "/dev/shm", "/run", "/home", "/root"):
        keep = (python.path + "/").startswith(path + "/") or (python.stdlib + "/").startswith(path + "/")
        if os.path.isdir(path) and not keep:
            argv += ["--size", size, "--tmpfs", path]
    argv += ["--ro-bind", worker_dir, worker_dir, "--chdir", "/"]
    return argv


def isolation_level(layers: list[str] | tuple[str, ...]) -> str:
    have = set(layers)
    if FULL <= have or FULL_USERNS <= have:
        return "full"
    if "uid" in have or {"userns", "caps-dropped", "mount-ro"} <= have:
        return "partial"
    return "none"


def host_facts() -> dict:
    """What the machine offers, for the record (whether or not the sandbox uses it)."""
    from evalharness.sandbox import seccomp_filter

    userns = Path("/proc/sys/user/max_user_namespaces")
    cgroup_dirs = [Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/unified")]
    return {
        "root": os.geteuid() == 0,
        "user_namespaces": userns.exists() and userns.read_text().strip() not in ("", "0"),
        "bwrap": shutil.which("bwrap") is not None,
        "seccomp_arch_supported": seccomp_filter.supported(),
        "cgroups_writable": any(os.access(d / "cgroup.procs", os.W_OK) for d in cgroup_dirs),
    }
