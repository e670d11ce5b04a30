"""A hand-assembled seccomp-BPF deny-list for sandboxed programs (stdlib only: ctypes + prctl).

Why hand-assembled: the filter must be installed inside the sandbox interpreter (often Debian's
/usr/bin/python3, not the harness venv), so it cannot depend on pyseccomp/libseccomp bindings being
importable there. The program is small and linear, so it is easy to audit.

What it does (x86_64 only; other architectures report seccomp as unavailable):
- kills the process on a foreign architecture or the x32 ABI (no filter bypass through other syscall tables);
- EPERM for new processes (fork, vfork, clone without CLONE_THREAD; threads stay allowed), execve/execveat;
- ENOSYS for clone3 (glibc then falls back to clone, where the flags can be inspected);
- EPERM for signals to anyone but the calling process itself (kill/tgkill/sigqueue), pidfd signalling;
- EPERM for sockets other than AF_UNIX (no TCP/UDP/raw/netlink), ptrace and process_vm_*, mount family,
  namespaces (unshare/setns), chroot/pivot_root, modules, kexec, reboot, bpf, perf, keyrings, io_uring,
  userfaultfd, swap, accounting, file handles, System V IPC and POSIX message queues (objects that would
  outlive the program).
Everything else is allowed: this is a deny-list meant to sit on top of uid/namespace/rlimit isolation.
"""

from __future__ import annotations

import ctypes
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
RET_KILL_PROCESS = 0x80000000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
EPERM = 1
ENOSYS = 38
AF_UNIX = 1
CLONE_THREAD = 0x00010000

LD_ABS = 0x20
JEQ = 0x15
JGE = 0x35
JSET = 0x45
RET = 0x06

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl).
DENIED_X86_64 = {
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "tkill": 200,
    "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "reboot": 169, "kexec_load": 246, "kexec_file_load": 320,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "bpf": 321, "perf_event_open": 298,
    "keyctl": 250, "add_key": 248, "request_key": 249, "swapon": 167, "swapoff": 168, "acct": 163,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "iopl": 172, "ioperm": 173, "syslog": 103,
    "quotactl": 179, "vhangup": 153, "uselib": 134,
    # System V IPC and POSIX message queues: objects that would outlive the program
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
    "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240,
    "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
}
NR_SOCKET, NR_CLONE, NR_CLONE3, NR_KILL, NR_TGKILL = 41, 56, 435, 62, 234
NR_RT_SIGQUEUEINFO, NR_RT_TGSIGQUEUEINFO = 129, 297
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16  # struct seccomp_data; args are u64, low word first


def supported() -> bool:
    """True when this machine's architecture has a syscall table here."""
    return platform.machine() in ("x86_64", "AMD64")


def _ins(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _arg0_block(accept: int, *, mask: bool = False) -> list[bytes]:
    """Allow iff arg0 (low 32 bits) equals `accept` (or has the bits of `accept` when `mask`), else EPERM."""
    return [
        _ins(LD_ABS, 0, 0, OFF_ARG0),
        _ins(JSET if mask else JEQ, 0, 1, accept),
        _ins(RET, 0, 0, RET_ALLOW),
        _ins(RET, 0, 0, RET_ERRNO | EPERM),
    ]


def build_filter(self_pid: int) -> bytes:
    """The BPF program for a process whose pid (in its own pid namespace) is `self_pid`."""
    prog = [
        _ins(LD_ABS, 0, 0, OFF_ARCH),
        _ins(JEQ, 1, 0, AUDIT_ARCH_X86_64),
        _ins(RET, 0, 0, RET_KILL_PROCESS),
        _ins(LD_ABS, 0, 0, OFF_NR),
        _ins(JGE, 0, 1, 0x40000000),  # x32 ABI
        _ins(RET, 0, 0, RET_ERRNO | EPERM),
    ]
    for nr in sorted(DENIED_X86_64.values()):
        prog += [_ins(JEQ, 0, 1, nr), _ins(RET, 0, 0, RET_ERRNO | EPERM)]
    prog += [_ins(JEQ, 0, 1, NR_CLONE3), _ins(RET, 0, 0, RET_ERRNO | ENOSYS)]
    blocks = [
        (NR_SOCKET, _arg0_block(AF_UNIX)),
        (NR_CLONE, _arg0_block(CLONE_THREAD, mask=True)),
        (NR_KILL, _arg0_block(self_pid)),
        (NR_RT_SIGQUEUEINFO, _arg0_block(self_pid)),
        (NR_TGKILL, _arg0_block(self_pid)),
        (NR_RT_TGSIGQUEUEINFO, _arg0_block(self_pid)),
    ]
    for nr, block in blocks:
        prog.append(_ins(JEQ, 0, len(block), nr))
        prog += block  # every block ends in RET, so the accumulator still holds nr after a skip
    prog.append(_ins(RET, 0, 0, RET_ALLOW))
    return b"".join(prog)


def install(self_pid: int) -> None:
    """Set no_new_privs and install the filter on the calling thread; raises OSError on failure."""
    libc = ctypes.CDLL(None, use_errno=True)
    code = build_filter(self_pid)
    buf = ctypes.create_string_buffer(code, len(code))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(code) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
