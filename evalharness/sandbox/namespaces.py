"""Namespace setup for a sandbox worker (stdlib only; imported by worker.py inside the sandbox interpreter).

Done once per worker, before any program runs: unshare user (non-root only), mount, network and pid
namespaces; write the uid/gid maps; make the worker pid 1 of its pid namespace; make every mount read-only,
put fresh size-limited tmpfs over the scratch and runtime directories (and the home directories in
user-namespace mode, where programs run as the invoking user), and mount a /proc of the namespace.
"""

import ctypes
import os
import signal
import sys

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWUSER = 0x20000, 0x40000000, 0x20000000, 0x10000000
CLONE_NEWIPC = 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
FLAG_BITS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
             "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}

libc = ctypes.CDLL(None, use_errno=True)


def check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def enter_namespaces(cfg, layers):
    """unshare what the config asks for; returns True when a pid namespace was created (caller must fork)."""
    flags = 0
    if cfg["userns"]:
        flags |= CLONE_NEWUSER
    for key, bit in (("mountns", CLONE_NEWNS), ("netns", CLONE_NEWNET | CLONE_NEWIPC), ("pidns", CLONE_NEWPID)):
        if cfg[key]:
            flags |= bit
    if not flags:
        return False
    uid, gid = os.getuid(), os.getgid()
    check(libc.unshare(flags), "unshare")
    if cfg["userns"]:
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write("0 %d 1" % uid)
        with open("/proc/self/gid_map", "w") as f:
            f.write("0 %d 1" % gid)
        layers.append("userns")
    if cfg["netns"]:
        layers.append("netns")
        layers.append("ipcns")
    return bool(cfg["pidns"])


def _mount(src, target, fstype, flags, data):
    return libc.mount(src and src.encode(), target.encode(), fstype and fstype.encode(), flags,
                      data and data.encode())


def setup_mounts(cfg, layers):
    """Read-only view of every mount, private tmpfs scratch areas, a namespace-local /proc."""
    check(_mount("none", "/", None, MS_REC | MS_PRIVATE, None), "make / private")
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            point = parts[4].encode().decode("unicode_escape")
            opts = parts[5].split(",")
            mounts.append((point, opts))
    failed = 0
    for point, opts in mounts:
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for opt in opts:
            flags |= FLAG_BITS.get(opt, 0)
        if _mount(None, point, None, flags, None) != 0 and point == "/":
            failed += 1
    if failed:
        raise OSError("could not make / read-only")
    size = "size=%dm,mode=1777" % cfg["tmpfs_mb"]
    hide = ["/tmp", "/var/tmp", "/dev/shm", "/run"]
    if cfg["userns"]:
        keep = os.path.realpath(sys.executable)
        hide += [p for p in ("/home", "/root") if not keep.startswith(p + "/")]
    for path in hide:
        if os.path.isdir(path):
            check(_mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, size), "tmpfs on " + path)
    layers.append("mount-ro")
    if cfg.get("private_prefix"):
        expose_prefix(cfg, layers)
    if cfg["pidns"] and _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) == 0:
        layers.append("proc-private")


def expose_prefix(cfg, layers):
    """Bind the interpreter's prefix (unreadable where it is, e.g. under /root) read-only at a readable
    path on the private /tmp, so that imports by the sandbox uid work; programs get sys.path remapped."""
    target = "/tmp/.evalharness-python"
    os.makedirs(target, 0o755, exist_ok=True)
    check(_mount(cfg["private_prefix"], target, None, MS_BIND | MS_REC, None), "bind interpreter prefix")
    check(_mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None),
          "remount interpreter prefix read-only")
    cfg["path_map"] = [cfg["private_prefix"], target]
    layers.append("python-rebound")


def become_namespace_init(cfg):
    """After unshare(CLONE_NEWPID): fork; the child is pid 1 and runs the loop, the parent waits and relays."""
    pid = os.fork()
    if pid:
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
