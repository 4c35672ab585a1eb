"""Headless Chromium driven over the DevTools protocol: real form filling and submission."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.browser import FLAGS, chromium


class Chromium:
    """One headless Chromium with one page; CDP over a WebSocket (websockets' sync client)."""

    def __init__(self) -> None:
        from websockets.sync.client import connect

        self.profile = tempfile.mkdtemp(prefix="feeds-cdp-")
        self.proc = subprocess.Popen(
            [
                chromium(),
                *FLAGS,
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        active = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and len(active.read_text().split()) == 2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)  # polling for the port file, with a deadline
        port, path = active.read_text().split()
        self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, legacy=True)
        self.ids = 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        attached = self.call("Target.attachToTarget", targetId=target, flatten=True)
        self.session = attached["sessionId"]
        self.call("Page.enable", session=True)

    def call(self, method: str, session: bool = False, **params: object) -> dict[str, Any]:
        """One CDP command and its result."""
        self.ids += 1
        msg: dict[str, object] = {"id": self.ids, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv(timeout=30))
            if reply.get("id") == self.ids:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                result: dict[str, Any] = reply["result"]
                return result

    def wait_event(self, name: str, timeout: float = 30) -> None:
        """Until the page reports the event (e.g. Page.loadEventFired)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if reply.get("method") == name:
                return
        raise TimeoutError(name)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.call("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired")

    def type_into(self, selector: str, text: str) -> None:
        """Focus a field and type text into it as a person would."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", session=True, text=text)

    def evaluate(self, expression: str) -> object:
        """A JavaScript expression's value in the page."""
        result = self.call(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True
        )
        return result["result"].get("value")

    def close(self) -> None:
        """Quit Chromium and remove its profile."""
        with contextlib.suppress(Exception):
            self.ws.close()
        self.proc.terminate()
        self.proc.wait(15)
        shutil.rmtree(self.profile, ignore_errors=True)
