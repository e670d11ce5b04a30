"""Sandbox worker: runs inside the sandbox interpreter (stdlib only, Python >= 3.9), never imported by the harness.

Started by `pool.py` as `python3 -I worker.py '<config json>'` with a scrubbed environment, it:
1. enters new namespaces (user namespace when not root; mount, network, pid) as the config allows, forks
   once so that the worker loop runs as pid 1 of its own pid namespace, makes every mount read-only, puts
   fresh size-limited tmpfs over /tmp, /var/tmp, /dev/shm, /run (and the home directories when the sandbox
   runs as the invoking user), and mounts a /proc that shows only the namespace;
2. reports `{"ready": true, "layers": [...]}` with the layers it actually obtained;
3. for each job (length-prefixed JSON on fd 0): creates a fresh run directory, forks a child from this warm
   interpreter which starts a session, drops to the sandbox uid (or drops all capabilities), sets rlimits,
   installs seccomp and executes the program in-process as `__main__`; the loop waits with a wall timeout,
   kills the child's group, kills every other process in the namespace (or of the sandbox uid), reaps
   zombies, collects capped stdout/stderr from files, deletes the run directory and answers on fd 1.
The worker exits when its command pipe closes (harness gone), and pid 1 dying takes the namespace with it.
"""

import ctypes
import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import time

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36
PREIMPORT = ("math", "re", "collections", "itertools", "functools", "heapq", "bisect", "typing", "string",
             "operator", "copy", "json", "random", "hashlib", "fractions", "decimal", "statistics", "cmath",
             "array", "datetime", "traceback", "io", "types", "builtins")

libc = ctypes.CDLL(None, use_errno=True)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# sibling modules, imported before the mounts are set up (they may hide the directory this file lives in)
import namespaces  # noqa: E402
import seccomp_filter  # noqa: E402


def send(fd, obj):
    data = json.dumps(obj).encode()
    payload = struct.pack("<I", len(data)) + data
    while payload:
        payload = payload[os.write(fd, payload):]


def recv(fd):
    head = _read_exact(fd, 4)
    if head is None:
        return None
    body = _read_exact(fd, struct.unpack("<I", head)[0])
    return None if body is None else json.loads(body)


def _read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------- the per-program child

def drop_capabilities():
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    namespaces.check(libc.capset(header, data), "capset")


def set_limits(job):
    mem = job["memory_mb"] * 1024 * 1024
    cpu = int(job["timeout_s"]) + 1
    fsize = job["file_mb"] * 1024 * 1024
    limits = [(resource.RLIMIT_AS, mem), (resource.RLIMIT_CPU, (cpu, cpu + 1)), (resource.RLIMIT_FSIZE, fsize),
              (resource.RLIMIT_NOFILE, 64), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_MEMLOCK, 0)]
    if job["uid"] is not None:
        limits.append((resource.RLIMIT_NPROC, job["nproc"]))
    for which, value in limits:
        soft, hard = value if isinstance(value, tuple) else (value, value)
        resource.setrlimit(which, (soft, hard))


def run_child(cfg, job, rundir, out_fd, err_fd, _exit=os._exit):
    """In the forked child: confine, then execute the program as __main__. Never returns (`_exit` is bound
    at definition time: a program that replaces os._exit cannot make the child fall back into the loop)."""
    code = 1
    try:
        os.setsid()
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.closerange(3, 1 << 16)
        os.chdir(rundir)
        os.umask(0o077)
        if job["uid"] is not None:
            os.setgroups([])
            os.setresgid(job["uid"], job["uid"], job["uid"])
            os.setresuid(job["uid"], job["uid"], job["uid"])
        elif cfg["userns"] or cfg.get("external_layers"):
            drop_capabilities()
        set_limits(job)
        if cfg["seccomp"]:
            seccomp_filter.install(os.getpid())
        if cfg.get("path_map"):
            remap_paths(*cfg["path_map"])
    except BaseException as exc:  # confinement failed: never run the program
        os.write(2, ("sandbox setup failed: %r\n" % (exc,)).encode())
        os._exit(125)
    try:
        code = execute(job["source"], rundir)
    finally:
        _exit(code)


def remap_paths(old, new):
    """Point sys.path (and the prefixes) at the readable bind of a private interpreter prefix."""
    def move(path):
        return new + path[len(old):] if path == old or path.startswith(old + "/") else path
    sys.path[:] = [move(p) for p in sys.path]
    for name in ("prefix", "exec_prefix", "base_prefix", "base_exec_prefix"):
        setattr(sys, name, move(getattr(sys, name)))
    sys.path_importer_cache.clear()


def execute(source, rundir):
    import builtins
    import io
    import traceback
    import types
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="backslashreplace")
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.argv = ["main.py"]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [rundir] + [p for p in sys.path if p and p not in (".", here)]
    path = os.path.join(rundir, "main.py")
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
    except OSError:
        pass
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": rundir, "TMPDIR": rundir, "LANG": "C.UTF-8"})
    main = types.ModuleType("__main__")
    main.__dict__.update({"__builtins__": builtins, "__file__": path})
    sys.modules["__main__"] = main
    code = 0
    try:
        exec(compile(source, path, "exec"), main.__dict__)
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException as exc:
        try:  # drop this function's own frame so the traceback starts in the program
            traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
        except BaseException:
            pass
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    return code


def _exit_code(value):
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    try:
        sys.stderr.write("%s\n" % (value,))
    except BaseException:
        pass
    return 1


# ---------------------------------------------------------------- the loop

def probe_seccomp():
    """Install the filter in a throw-away child and check that fork is refused there."""
    if not seccomp_filter.supported():
        raise OSError("seccomp filter has no syscall table for this architecture")
    pid = os.fork()
    if pid == 0:
        try:
            seccomp_filter.install(os.getpid())
        except BaseException:
            os._exit(2)
        try:
            child = os.fork()
        except OSError:
            os._exit(0)
        if child == 0:
            os._exit(0)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise OSError("seccomp filter could not be installed or did not block fork")


def sweep(cfg, uid):
    """Kill everything the program may have left behind, then reap zombies (we are init/subreaper). Without
    a pid namespace or a sandbox uid there is nothing safe to kill: only what has already exited is reaped."""
    killed = cfg["pidns_active"] or uid is not None
    if cfg["pidns_active"]:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    elif uid is not None:
        pid = os.fork()
        if pid == 0:
            try:
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
    deadline = time.monotonic() + 2.0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if not killed or time.monotonic() > deadline:
                return  # stragglers are reaped after the next run
            time.sleep(0.001)


def read_capped(fd, cap):
    """Head and tail (at most `cap` bytes each) of an output file the worker kept open, and its size."""
    size = os.fstat(fd).st_size
    if size <= 2 * cap:
        return os.pread(fd, size, 0).decode("utf-8", "replace"), "", size
    head, tail = os.pread(fd, cap, 0), os.pread(fd, cap, size - cap)
    return head.decode("utf-8", "replace"), tail.decode("utf-8", "replace"), size


def remove_tree(path):
    """rmtree that also gets through directories the program made unreadable: without capabilities (as
    under bwrap) even their owner needs the permission bits back first. The program is dead: no races."""
    try:
        shutil.rmtree(path)
        return
    except OSError:
        pass
    stack = [path]
    while stack:
        folder = stack.pop()
        try:
            os.chmod(folder, 0o700)
            with os.scandir(folder) as entries:
                stack.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)


def run_job(cfg, job, cmd_fd):
    # unpredictable names, created exclusively: a program cannot plant files or links for a later run
    name = os.urandom(8).hex()
    rundir = os.path.join(cfg["scratch"], "run-" + name)
    os.mkdir(rundir, 0o700)
    if job["uid"] is not None:
        os.chown(rundir, job["uid"], job["uid"])
    out_path = os.path.join(cfg["iodir"], name + ".out")
    err_path = os.path.join(cfg["iodir"], name + ".err")
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    out_fd = os.open(out_path, flags, 0o600)
    err_fd = os.open(err_path, flags, 0o600)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        run_child(cfg, job, rundir, out_fd, err_fd)
    pidfd = os.pidfd_open(pid)
    deadline = start + job["timeout_s"]
    timed_out = harness_gone = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([pidfd, cmd_fd], [], [], left)
        if pidfd in ready:
            break
        if cmd_fd in ready:
            harness_gone = True
            break
    if timed_out or harness_gone:
        for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                target()
            except OSError:
                pass
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    os.close(pidfd)
    sweep(cfg, job["uid"])
    if harness_gone:
        remove_tree(cfg["scratch"])
        os._exit(0)
    # (the output fds stay open in the worker: what it reads is what the program wrote, whatever the path holds)
    cap = job["output_kb"] * 1024
    out_head, out_tail, out_size = read_capped(out_fd, cap)
    err_head, err_tail, err_size = read_capped(err_fd, cap)
    for fd, path in ((out_fd, out_path), (err_fd, err_path)):
        os.close(fd)
        os.unlink(path)
    remove_tree(rundir)
    return {
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "timed_out": timed_out, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_kb": usage.ru_maxrss, "stdout": out_head, "stdout_tail": out_tail, "stdout_bytes": out_size,
        "stderr": err_head, "stderr_tail": err_tail, "stderr_bytes": err_size,
    }


def main():
    cfg = json.loads(sys.argv[1])
    cmd_fd, reply_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    layers = list(cfg.get("external_layers") or [])  # namespaces built by bwrap before this process started
    try:
        if namespaces.enter_namespaces(cfg, layers):
            namespaces.become_namespace_init(cfg)
            layers.append("pidns")
        # not dumpable (after the uid maps are written): a program running under the same uid
        # (user-namespace mode) cannot open /proc/<worker>/mem
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        cfg["pidns_active"] = "pidns" in layers
        if cfg["mountns"]:
            namespaces.setup_mounts(cfg, layers)
        elif cfg.get("private_prefix") and cfg["uid"] is not None:
            raise OSError("the interpreter is not readable by the sandbox uid and there is no mount "
                          "namespace to expose it")
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        # pool.py knows this name (worker pid as the harness sees it) to clean up after a killed worker
        cfg["scratch"] = os.path.join("/tmp", "evalharness-sbx-%d" % os.getpid())
        os.makedirs(cfg["scratch"], 0o711, exist_ok=True)
        os.chmod(cfg["scratch"], 0o711)
        cfg["iodir"] = os.path.join(cfg["scratch"], "io")
        os.makedirs(cfg["iodir"], 0o700, exist_ok=True)
        if cfg["uid"] is not None:
            layers.append("uid")
        if cfg["userns"] or "userns" in layers:
            layers.append("caps-dropped")
        if cfg["seccomp"]:
            probe_seccomp()
            layers.append("seccomp")
        layers.append("rlimits")
        for name in PREIMPORT:
            try:
                __import__(name)
            except ImportError:
                pass
    except BaseException as exc:
        send(reply_fd, {"ready": False, "error": "%s: %s" % (type(exc).__name__, exc)})
        os._exit(3)
    send(reply_fd, {"ready": True, "layers": layers, "pid": os.getpid(), "python": sys.version.split()[0]})
    while True:
        job = recv(cmd_fd)
        if job is None:  # the harness closed the pipe (or died)
            remove_tree(cfg["scratch"])
            os._exit(0)
        job["uid"] = cfg["uid"]
        try:
            reply = run_job(cfg, job, cmd_fd)
        except Exception as exc:
            reply = {"internal_error": "%s: %s" % (type(exc).__name__, exc)}
        send(reply_fd, reply)


if __name__ == "__main__":
    main()
