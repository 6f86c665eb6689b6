"""Drive a headless Chromium through its DevTools protocol over a pipe (no extra package needed).

`--remote-debugging-pipe` makes Chromium read JSON commands from file descriptor 3 and write
replies to 4, each message ending with a NUL byte. Enough of it to load a page, run JavaScript
in it and read back the result.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Page:
    """One Chromium showing `url`; `evaluate(js)` returns the expression's value."""

    def __init__(self, chromium: str, url: str, profile: Path, timeout: float = 60.0) -> None:
        self.timeout = timeout
        to_chromium, self._out = os.pipe()
        self._in, from_chromium = os.pipe()

        def wire() -> None:  # in the child: Chromium expects the pipe on descriptors 3 and 4
            os.dup2(to_chromium, 3)
            os.dup2(from_chromium, 4)

        command = [chromium, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", url]
        self.process = subprocess.Popen(
            command, pass_fds=(3, 4), preexec_fn=wire, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        os.close(to_chromium)
        os.close(from_chromium)
        self._buffer = b""
        self._id = 0
        self._session = None
        deadline = time.monotonic() + timeout
        while True:
            pages = [t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page"]
            if pages or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if not pages:
            raise RuntimeError("chromium opened no page")
        attached = self.send("Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True})
        self._session = attached["sessionId"]

    def send(self, method: str, params: dict | None = None) -> dict:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if self._session is not None:
            message["sessionId"] = self._session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._in], [], [], left)[0]:
                    raise TimeoutError(f"chromium did not answer {method} in {self.timeout} s")
                chunk = os.read(self._in, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """Poll until the expression is truthy; return its value (or raise after timeout seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout} s: {expression}")
            time.sleep(0.05)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self._in)
        os.close(self._out)

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
