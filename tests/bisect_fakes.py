"""Fakes for the bisect tests: a package index on loopback, index pages, probes and verdicts."""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from mlp_weights.bisect.index import JSON_CONTENT_TYPE
from mlp_weights.bisect.results import Cell, ProbeResult
from mlp_weights.bisect.search import MOVES, UNTESTABLE
from page_data import layer

LINUX_311 = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"


def wheel_file(name: str, version: str, tag: str = LINUX_311, **extra) -> dict:
    filename = f"{name.replace('-', '_')}-{version}-{tag}.whl"
    return {"filename": filename, "url": f"https://files.example/{filename}", **extra}


def sdist_file(name: str, version: str) -> dict:
    filename = f"{name}-{version}.tar.gz"
    return {"filename": filename, "url": f"https://files.example/{filename}"}


def project_page(name: str, versions, tag: str = LINUX_311, **special) -> dict:
    """A PEP 691 page: a wheel and an sdist per version; ``special[v]`` replaces v's files."""
    files = []
    for version in versions:
        files += special.get(version) or [
            wheel_file(name, version, tag),
            sdist_file(name, version),
        ]
    return {"meta": {"api-version": "1.1"}, "name": name, "files": files, "versions": versions}


MATPLOTLIB_VERSIONS = [
    "3.7.0",
    "3.7.1",
    "3.8.0rc1",
    "3.8.0",
    "3.8.4",
    "3.9.0",
    "3.9.1.post1",
    "3.10.0",
    "3.10.8",
    "3.10.9",
    "3.11.0rc1",
    "3.11.0",
    "3.11.1",
    "3.11.2",
]


class IndexHandler(BaseHTTPRequestHandler):
    pages: dict = {}
    content_type = JSON_CONTENT_TYPE
    requests: list = []

    def do_GET(self):  # noqa: N802 - the http.server API
        type(self).requests.append(self.path)
        name = self.path.strip("/").split("/")[-1]
        if name not in self.pages:
            self.send_error(404)
            return
        body = json.dumps(self.pages[name]).encode()
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _serving(handler):
    """An HTTP server on 127.0.0.1 with ``handler``; yields its address, ``http://...:port``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # shutdown() waits for the loop's next poll: 0.5 s by default, per server.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve_index(pages: dict, content_type: str = JSON_CONTENT_TYPE):
    """A simple index on 127.0.0.1 serving ``pages`` (name -> PEP 691 dict); yields its URL."""
    handler = type(
        "Handler", (IndexHandler,), {"pages": pages, "content_type": content_type, "requests": []}
    )
    with _serving(handler) as address:
        yield f"{address}/simple"


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_folder(folder):
    """The files of ``folder`` over HTTP on 127.0.0.1 (a PEP 503 index, say); yields the address.

    Over HTTP, uv revalidates what it caches, as with a real index; a
    ``file://`` index it reads as local files.
    """
    with _serving(functools.partial(QuietFiles, directory=str(folder))) as address:
        yield address


@contextlib.contextmanager
def silent_server():
    """A loopback port that accepts connections and never answers; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/simple"
    finally:
        sock.close()


@contextlib.contextmanager
def closed_port():
    """A loopback port nobody listens on (connections are refused); yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield f"http://127.0.0.1:{port}/simple"


def rendering_cells(outcome: str, rms: float = 12.5) -> list[Cell]:
    if outcome == UNTESTABLE:
        return []
    failed = outcome == MOVES
    return [
        Cell(
            "rendering",
            scenario,
            "fail" if failed else "pass",
            "moved" if failed else None,
            "RMS",
            (rms + offset) if failed else None,
        )
        for offset, scenario in ((1.25, "mnist-sample"), (0.0, "digits"))
    ]


def run_faked(bisection, make_prober, list_releases) -> int:
    """``bisection.run()`` with fakes for the package index and the environments."""
    with (
        mock.patch("mlp_weights.bisect.command.LocalProber", make_prober),
        mock.patch("mlp_weights.bisect.index.list_releases", list_releases),
    ):
        return bisection.run()


class FakeProber:
    """Stands in for the environments: ``version -> outcome`` from a table, calls counted."""

    instances: list = []

    def __init__(self, outcomes: dict[str, str], relaxed=None, interrupt_after=None):
        self.outcomes = outcomes
        self.relaxed = relaxed or {}
        self.interrupt_after = interrupt_after
        self.calls: list[str] = []
        #: The generations each probe was told to compare with, ``version -> [forced, ...]``.
        self.forced: dict[str, list[str]] = {}
        self.closed = False
        self.made_with = None

    def factory(self, *args):
        self.made_with = args
        return self

    def __call__(self, version: str, forced: str = "") -> ProbeResult:
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append(version)
        self.forced.setdefault(version, []).append(forced)
        outcome = self.outcomes[version]
        return ProbeResult(
            "matplotlib",
            version,
            outcome,
            reason="the layers did not run (pytest exit 3): ImportError"
            if outcome == UNTESTABLE
            else "",
            relaxed=self.relaxed.get(version, {}),
            cells=rendering_cells(outcome),
            elapsed=1.5,
            source="verdict.json",
        )

    def close(self):
        self.closed = True


def verdict_document(rendering_rms=12.573, training_rel=None) -> dict:
    """A ``verdict.json`` as the suite writes it (schema 1)."""
    training = layer(
        "training",
        "pass" if training_rel is None else "fail",
        message="" if training_rel is None else "a fresh fit differs",
        amount={
            "arrays": [
                {
                    "name": "loss curve",
                    "n_total": 8,
                    "n_differ": 0,
                    "max_abs": 0.0,
                    "max_rel": 1e-16 if training_rel is None else training_rel / 2,
                },
                {
                    "name": "first-layer weights",
                    "n_total": 2560,
                    "n_differ": 0,
                    "max_abs": 0.0,
                    "max_rel": 2e-16 if training_rel is None else training_rel,
                },
            ],
            "rtol": 1e-9,
            "atol": 0.0,
        },
    )
    rendering = layer(
        "rendering",
        "fail" if rendering_rms else "pass",
        message=f"image moved by RMS {rendering_rms} (tolerance 0.05)" if rendering_rms else "",
        amount={
            "image_rms": rendering_rms,
            "tolerance": 0.05,
            "size_now": None,
            "size_baseline": None,
        },
    )
    scores = layer(
        "scores",
        "pass",
        amount={"scores": {"train": 0.99, "test": 0.93}, "floors": {"train": 0.9, "test": 0.85}},
    )
    pipeline = layer("pipeline", "not-run")
    return {
        "schema": "mlp-weights-verdict",
        "schema_version": 1,
        "layers_run": ["training", "rendering", "scores"],
        "scenarios": [
            {"scenario": name, "verdict": "", "layers": [training, rendering, pipeline, scores]}
            for name in ("mnist-sample", "digits")
        ],
    }
