"""A headless Chromium driven over the DevTools protocol, through a pipe (standard library only).

``--remote-debugging-pipe`` makes the browser read commands on its file
descriptor 3 and write answers and events on 4, each a JSON text ended by a
NUL byte. No port, no websocket client, nothing to install besides the
browser.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

#: Browsers tried, in order: Debian's headless shell, then full browsers.
BROWSER_NAMES = (
    "chromium-headless-shell",
    "chrome-headless-shell",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
#: Seconds to wait for one answer or event before giving up.
TIMEOUT = 30


def find_browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSER_NAMES) if path), None)


class BrowserError(RuntimeError):
    pass


class Browser:
    """One browser process and one page (tab) in it."""

    def __init__(self, executable: str, width: int = 1300, height: int = 900):
        self.profile = tempfile.mkdtemp(prefix="mlp-weights-browser-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes():
            # In the child, the protocol's descriptors must be 3 and 4; copies
            # above both first, so neither end is overwritten by the other.
            read_end = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 100)
            write_end = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 100)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,
            # 3 and 4 are inherited as dup2 left them; every other descriptor
            # of this process is closed at exec (Python opens them so).
            close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    # -- the protocol -------------------------------------------------------------

    def _read_message(self) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise BrowserError("the browser did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("the browser closed its pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        """Send a command and wait for its answer, keeping the events that come first."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read_message()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def send(self, method: str, **params) -> dict:
        """A command to the page."""
        return self.call(method, session=self.session, **params)

    def wait_for(self, method: str) -> dict:
        for index, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(index)
        while True:
            event = self._read_message()
            if event.get("method") == method:
                return event
            self.events.append(event)

    # -- what the tests use -------------------------------------------------------

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def requests(self) -> list[str]:
        """The URL of every request the page made since it was opened."""
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (awaited when a promise)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path, full_page: bool = True) -> None:
        """A PNG of the page (all of it, when ``full_page``)."""
        result = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=full_page)
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(result["data"]))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)
