"""Headless Chromium driven over its DevTools pipe: real layout at a chosen width, and screenshots."""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Seconds one DevTools command may take before the browser is considered stuck (aborts only).
COMMAND_SECONDS = 60.0

#: Elements whose box passes the page's right edge, as "tag.class left-right"; empty when none.
OVERFLOW_SCRIPT = """
(() => {
  const width = document.documentElement.clientWidth;
  const over = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && (box.right > width + 0.5 || box.left < -0.5)) {
      const name = typeof element.className === "string" ? element.className : "";
      over.push(`${element.tagName.toLowerCase()}.${name} ${Math.round(box.left)}-${Math.round(box.right)}`);
    }
  }
  return {width, scrollWidth: document.documentElement.scrollWidth, over};
})()
"""


def headless_flags(profile: Path) -> list[str]:
    """Chromium's flags for a headless run offline: without the background-networking ones it
    keeps trying to reach hosts this machine's closed network refuses."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]


class Browser:
    """One headless Chromium, one page, spoken to with DevTools messages over fds 3 and 4."""

    def __init__(self, chromium: str, profile: Path) -> None:
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire_pipes() -> None:
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        flags = [
            *headless_flags(profile),
            "--hide-scrollbars",
            "--remote-debugging-pipe",
        ]
        self._process = subprocess.Popen(
            [chromium, *flags, "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,  # the pipes must be fds 3 and 4 in the browser
            pass_fds=(3, 4),
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._session: str | None = None
        try:
            target = self.command("Target.createTarget", url="about:blank")["targetId"]
            attached = self.command("Target.attachToTarget", targetId=target, flatten=True)
            self._session = attached["sessionId"]
            self.command("Page.enable")
        except BaseException:
            self.close()
            raise

    def _send(self, method: str, params: dict[str, Any]) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self._session is not None:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self, stop: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = stop - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise ConnectionError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        result: dict[str, Any] = json.loads(message)
        return result

    def command(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events met meanwhile are kept)."""
        number = self._send(method, params)
        stop = time.monotonic() + COMMAND_SECONDS
        while True:
            message = self._receive(stop)
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._events.append(message)

    def _wait_for(self, event: str) -> None:
        stop = time.monotonic() + COMMAND_SECONDS
        while True:
            for index, message in enumerate(self._events):
                if message.get("method") == event:
                    del self._events[: index + 1]
                    return
            self._events.append(self._receive(stop))

    def open(self, url: str, *, width: int, dark: bool = False) -> None:
        """Load ``url`` in a viewport ``width`` CSS pixels wide, light or dark colour scheme."""
        self.command(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=900,
            deviceScaleFactor=1,
            mobile=width < 600,
        )
        scheme = "dark" if dark else "light"
        self.command(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-color-scheme", "value": scheme}],
        )
        self._events.clear()
        self.command("Page.navigate", url=url)
        self._wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        reply = self.command("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(str(reply["exceptionDetails"]))
        return reply["result"].get("value")

    def overflow(self) -> dict[str, Any]:
        """The viewport width, the document's scroll width and every element past the right edge."""
        result: dict[str, Any] = self.evaluate(OVERFLOW_SCRIPT)
        return result

    def screenshot(self, path: Path, *, height: float | None = None) -> None:
        """The page from its top as a PNG: all of it, or its first ``height`` CSS pixels."""
        metrics = self.command("Page.getLayoutMetrics")["cssContentSize"]
        width = self.evaluate("document.documentElement.clientWidth")
        shown = metrics["height"] if height is None else min(height, metrics["height"])
        clip = {"x": 0, "y": 0, "width": width, "height": shown, "scale": 1}
        shot = self.command(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        """Ask the browser to quit, then make sure it has."""
        try:
            self._session = None
            self._send("Browser.close", {})
            self._process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)


@contextmanager
def browser(chromium: str) -> Iterator[Browser]:
    """A headless Chromium with a throwaway profile, closed on exit."""
    with tempfile.TemporaryDirectory(prefix="chainsolve-chromium-") as profile:
        opened = Browser(chromium, Path(profile))
        try:
            yield opened
        finally:
            opened.close()
