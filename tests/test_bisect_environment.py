"""The installer: uv, its errors, its retry, and uv's cache."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import threading
import zipfile
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from bisect_fakes import serve_folder
from mlp_weights.bisect import environment
from mlp_weights.bisect.environment import (
    REQUESTED_NAME,
    RESOLVED_NAME,
    Installer,
    InstallFailed,
    find_uv,
    installer_error,
)
from mlp_weights.bisect.index import IndexUnreachableError
from mlp_weights.core.errors import MLPWeightsError

UV_CONFLICT = """\
Using Python 3.11.7 environment at: /tmp/x/env
  × No solution found when resolving dependencies:
  ╰─▶ Because matplotlib==3.7.3 depends on numpy>=1.20,<2 and you require numpy==2.4.6, we can
      conclude that your requirements are unsatisfiable.
"""


def test_installer_errors_are_cut_to_their_reason():
    assert installer_error(UV_CONFLICT) == (
        "Because matplotlib==3.7.3 depends on numpy>=1.20,<2 and you require numpy==2.4.6, we can"
    )
    assert installer_error("") == "no output"


UV_DOWNLOAD_BROKE = """\
  × Failed to download `kiwisolver==1.5.1`
  ├─▶ Failed to fetch: `https://files.example/kiwisolver-1.5.1-cp311-manylinux_x86_64.whl`
  ├─▶ Request failed after 3 retries
  ╰─▶ error decoding response body
"""

UV_CONNECT_FAILED = """\
error: Failed to download `kiwisolver==1.5.1`
  cause: Failed to fetch: `https://files.example/kiwisolver-1.5.1-cp311-manylinux_x86_64.whl`
  cause: Request failed after 3 retries
  cause: error sending request for url (https://files.example/kiwisolver-1.5.1.whl)
  cause: client error (Connect)
"""

UV_DISK_FULL = """\
error: Failed to download `pillow==13.0.0`
  cause: Failed to extract archive: pillow-13.0.0-cp311-cp311-manylinux_2_28_x86_64.whl
  cause: I/O operation failed during extraction
  cause: failed to write to file `/tmp/.tmpZw/PIL/TiffImagePlugin.py`: No space left on device \
(os error 28)

hint: `pillow` (v13.0.0) was included because `matplotlib` (v3.11.2) depends on `pillow`
"""


def test_a_full_disk_stops_the_bisect_and_says_so(monkeypatch):
    """uv reports it as a failed download: it is neither the release nor the network."""
    calls = []

    def run_process(argv, **kwargs):
        calls.append(argv)
        return CompletedProcess([], 1, "", UV_DISK_FULL)

    monkeypatch.setattr(environment, "run_process", run_process)
    with pytest.raises(MLPWeightsError) as info:
        Installer("uv", "https://index.example/simple")._run(["uv", "pip", "sync", "x.txt"])
    assert type(info.value) is MLPWeightsError and len(calls) == 1
    assert str(info.value).startswith(
        "no space left on the device while installing (Failed to download `pillow==13.0.0`: "
        "failed to write to file"
    )
    assert str(info.value).endswith("free some, e.g. with `uv cache prune`")


def test_a_broken_download_stops_the_bisect(monkeypatch):
    """Never "does not install on this Python" (which is cached) for a download that broke;
    uv has tried it again itself ("Request failed after 3 retries")."""
    calls, answers = [], []

    def run_process(argv, **kwargs):
        calls.append(argv)
        return answers.pop(0)

    monkeypatch.setattr(environment, "run_process", run_process)
    installer = Installer("uv", "https://index.example/simple")
    answers[:] = [CompletedProcess([], 1, "", UV_DOWNLOAD_BROKE)]
    with pytest.raises(IndexUnreachableError) as info:
        installer._run(["uv", "pip", "install", "kiwisolver"])
    assert str(info.value) == (
        "package index https://index.example/simple cannot be reached while installing "
        "(Failed to download `kiwisolver==1.5.1`: error decoding response body)"
    )

    # uv's other style of error: what failed, then the cause at the bottom.
    answers[:] = [CompletedProcess([], 1, "", UV_CONNECT_FAILED)]
    with pytest.raises(IndexUnreachableError) as info:
        installer._run(["uv", "pip", "install", "kiwisolver"])
    assert str(info.value).endswith(
        "(Failed to download `kiwisolver==1.5.1`: client error (Connect))"
    )

    # A release that does not resolve is the release's: not the network.
    answers[:] = [CompletedProcess([], 1, "", UV_CONFLICT)]
    with pytest.raises(InstallFailed, match="Because matplotlib==3.7.3"):
        installer._run(["uv", "pip", "install", "matplotlib==3.7.3"])
    assert len(calls) == 3


def test_environments_are_made_and_filled_by_uv(monkeypatch, tmp_path):
    uv = "/usr/bin/uv"
    installer = Installer(uv=uv, index_url="http://index.invalid/simple", python="/py/python")
    commands = []
    monkeypatch.setattr(Installer, "_run", lambda self, argv: commands.append(argv) or "")
    env = tmp_path / "env"
    env.mkdir()  # as creating it does
    installer.create(env)
    installer.install(env, ["matplotlib==3.9.0", "numpy<2"], tmp_path / "pins.txt")
    python = str(env / "bin" / "python")
    wheels_only = ["--only-binary", ":all:", "--index-url", "http://index.invalid/simple"]
    pins = ["-c", str(tmp_path / "pins.txt")]
    create, resolve, sync = commands
    assert create == [uv, "venv", "--quiet", "--python", "/py/python", str(env)]
    # Resolved as for an empty environment, then the environment made exactly that;
    # never --upgrade, --refresh or --reinstall, which unpack every wheel again.
    requested, resolved = env / REQUESTED_NAME, env / RESOLVED_NAME
    assert requested.read_text() == "matplotlib==3.9.0\nnumpy<2\n"
    assert resolve == [
        *[uv, "pip", "compile", "--quiet", "--no-header", "--python", python],
        *[*wheels_only, *pins, "-o", str(resolved), str(requested)],
    ]
    assert sync == [uv, "pip", "sync", "--quiet", "--python", python, *wheels_only, str(resolved)]
    assert not {"--upgrade", "-U", "--refresh", "--reinstall"} & {*resolve, *sync}


def test_after_the_first_resolution_uvs_cache_answers_first(monkeypatch, tmp_path):
    """Each online resolution asks the index about every cached page (0.3 s a probe)."""
    installer = Installer(uv="/usr/bin/uv", index_url="http://index.invalid/simple")
    commands, offline_answers = [], []

    def run(self, argv):
        commands.append(argv)
        if "--offline" in argv and offline_answers.pop(0):
            raise InstallFailed("Network connectivity is disabled")
        return ""

    monkeypatch.setattr(Installer, "_run", run)
    env = tmp_path / "env"
    env.mkdir()
    installer.install(env, ["matplotlib==3.9.0"], None)
    assert [(argv[2], "--offline" in argv) for argv in commands] == [
        ("compile", False),
        ("sync", False),
    ]

    commands.clear()
    offline_answers[:] = [False]
    installer.install(env, ["matplotlib==3.9.1"], None)
    assert [(argv[2], "--offline" in argv) for argv in commands] == [
        ("compile", True),
        ("sync", False),
    ]
    assert commands[0][-1] == "--offline"

    # What the cache cannot answer (a release not seen yet) is read from the index.
    commands.clear()
    offline_answers[:] = [True]
    installer.install(env, ["matplotlib==3.9.2"], None)
    assert [(argv[2], "--offline" in argv) for argv in commands] == [
        ("compile", True),
        ("compile", False),
        ("sync", False),
    ]


def _have_uv() -> bool:
    try:
        return bool(find_uv())
    except MLPWeightsError:
        return False


NEEDS_UV = pytest.mark.skipif(not _have_uv(), reason="uv is not installed")


def tiny_index(folder: Path, releases=(("tinypkg", "1.0"), ("otherpkg", "1.0"))) -> str:
    """A file index (PEP 503) of pure-Python wheels, one per ``(name, version)``; its URL."""
    for name, version in releases:
        project = folder / "simple" / name
        project.mkdir(parents=True, exist_ok=True)
        wheel_name = f"{name}-{version}-py3-none-any.whl"
        info = f"{name}-{version}.dist-info"
        files = {
            f"{name}/__init__.py": "VALUE = 1\n",
            f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            f"{info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        record = []
        with zipfile.ZipFile(project / wheel_name, "w") as wheel:
            for path, text in files.items():
                wheel.writestr(path, text)
                digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
                record.append(f"{path},sha256={digest.rstrip(b'=').decode()},{len(text)}")
            wheel.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
        links = "".join(f'<a href="{w.name}">{w.name}</a>' for w in sorted(project.glob("*.whl")))
        (project / "index.html").write_text(links)
    return (folder / "simple").as_uri()


@NEEDS_UV
def test_two_probes_at_once_share_uvs_cache(tmp_path, monkeypatch):
    """Two installs at once into a cache that neither has filled yet, then one offline from it."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    installer = Installer(find_uv(), tiny_index(tmp_path))
    start = threading.Barrier(2)
    errors = []

    def probe(name):
        try:
            env = tmp_path / name
            installer.create(env)
            start.wait(timeout=30)
            installer.install(env, ["tinypkg==1.0"], None)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=probe, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    for name in ("a", "b"):
        assert installer.installed(tmp_path / name) == {"tinypkg": "1.0"}
    # A third environment is filled from the cache alone.
    monkeypatch.setenv("UV_OFFLINE", "1")
    installer.create(tmp_path / "c")
    installer.install(tmp_path / "c", ["tinypkg==1.0"], None)
    assert installer.installed(tmp_path / "c") == {"tinypkg": "1.0"}


@NEEDS_UV
def test_a_reused_environment_holds_what_a_new_one_would_from_uvs_cache(tmp_path, monkeypatch):
    """Nothing of the last probe stays, versions are chosen as for an empty environment, and
    wheels are not unpacked again (``uv pip install --upgrade`` implies ``--refresh``: each
    probe unpacked a new copy)."""
    cache = tmp_path / "uv-cache"
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    releases = (("tinypkg", "1.0"), ("tinypkg", "2.0"), ("otherpkg", "1.0"))
    tiny_index(tmp_path, releases)

    def unpacked() -> int:
        return sum(1 for _ in (cache / "archive-v0").iterdir())

    with serve_folder(tmp_path) as address:
        installer = Installer(find_uv(), f"{address}/simple")
        env, new = tmp_path / "env", tmp_path / "new"
        installer.create(env)
        installer.install(env, ["tinypkg==2.0", "otherpkg==1.0"], None)
        after_first = unpacked()
        installer.install(env, ["tinypkg==1.0"], None)  # the worker's next probe
        installer.install(env, ["tinypkg>=1"], None)
        installer.create(new)
        installer.install(new, ["tinypkg>=1"], None)
    assert after_first == 2 and unpacked() == 3, "one copy of each wheel"
    assert installer.installed(env) == installer.installed(new) == {"tinypkg": "2.0"}
    frozen = subprocess.run(
        [installer.uv, "pip", "freeze", "--python", str(installer.env_python(env))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert frozen == ["tinypkg==2.0"], "as uv pip freeze lists them"
