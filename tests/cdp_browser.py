"""Drive headless Debian Chromium over the DevTools protocol on a pipe (`--remote-debugging-pipe`).

Standard library only: Chromium reads commands from fd 3 and writes replies/events to fd 4, each message a
JSON object ended by a NUL byte. A fresh --user-data-dir per browser; flags as the project requires.
`Page` records console errors, uncaught exceptions and every network request the page attempts.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--remote-debugging-pipe"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self, timeout: float = 20.0):
        exe = chromium_path()
        if not exe:
            raise RuntimeError("chromium not installed")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="evalharness-chromium-")
        self._log = open(Path(self.profile) / "stderr.log", "wb")
        ours_r, chrome_w = os.pipe()
        chrome_r, ours_w = os.pipe()

        def wire_fds() -> None:  # runs in the child: put the pipe ends on fds 3 and 4, inheritable
            import fcntl

            a = fcntl.fcntl(chrome_r, fcntl.F_DUPFD, 10)  # above 4, so the dup2 below is never a no-op
            b = fcntl.fcntl(chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=wire_fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=self._log,
        )
        os.close(chrome_r)
        os.close(chrome_w)
        self._r, self._w = ours_r, ours_w
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        try:
            os.write(self._w, json.dumps(msg).encode() + b"\0")
        except BrokenPipeError:
            raise RuntimeError("chromium exited; its stderr ends: " + self.stderr_tail()) from None
        while True:
            reply = self._read()
            if reply.get("id") == msg["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, session: str, since: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        seen = since
        while True:
            for ev in self.events[seen:]:
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return ev
            seen = len(self.events)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} event")
            self.events.append(self._read(deadline - time.monotonic()))

    def _read(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer; its stderr ends: " + self.stderr_tail())
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe; its stderr ends: " + self.stderr_tail())
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def stderr_tail(self) -> str:
        self._log.flush()
        return (Path(self.profile) / "stderr.log").read_bytes()[-800:].decode(errors="replace")

    def new_page(self, width: int = 1280, height: int = 900, mobile: bool = False) -> "Page":
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Page(self, session, width, height, mobile)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._r)
        os.close(self._w)
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser: Browser, session: str, width: int, height: int, mobile: bool):
        self.b, self.session = browser, session
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.cmd(f"{domain}.enable")
        self.cmd("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    def cmd(self, method: str, params: dict | None = None) -> dict[str, Any]:
        return self.b.send(method, params, self.session)

    def goto(self, url: str) -> None:
        since = len(self.b.events)
        self.cmd("Page.navigate", {"url": url})
        self.b.wait_event("Page.loadEventFired", self.session, since)

    def eval(self, expression: str) -> Any:
        result = self.cmd("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        data = self.cmd("Page.captureScreenshot", params)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)

    def _mine(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.b.events if e.get("method") == method and e.get("sessionId") == self.session]

    def console_errors(self) -> list[str]:
        errors = [" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                  for p in self._mine("Runtime.consoleAPICalled") if p.get("type") in ("error", "assert")]
        errors += [str(p["exceptionDetails"]) for p in self._mine("Runtime.exceptionThrown")]
        errors += [p["entry"].get("text", "") for p in self._mine("Log.entryAdded") if p["entry"].get("level") == "error"]
        return errors

    def requested_urls(self) -> list[str]:
        return [p["request"]["url"] for p in self._mine("Network.requestWillBeSent")]
