"""Two steps of the tox environments that tox cannot express itself.

``python .ci/tox_steps.py environment``
    Print the interpreter and every installed distribution as ``name==version``
    (what ``pip freeze`` prints), so a log says exactly which stack ran. The
    environments are built by uv and hold no pip, so this reads the installed
    metadata directly.

``python .ci/tox_steps.py tested ENVNAME``
    Say, as the environment's last line before tox's summary, which Python
    it tested; for ``py`` (the interpreter running tox, the default run)
    also that it was the only one, and how to name others.

``python .ci/tox_steps.py report COMMAND ...``
    Run the layer tests of ``tox -e upgrade`` or ``tox -e oldest``, whose
    failures are the report. The report is always printed in full. When tests
    failed (pytest's exit status 1) the status is kept if ``CI`` is set to a
    true value or ``MLP_WEIGHTS_STRICT=1``, so a scheduled job goes red;
    otherwise the step ends with status 0 and a note, so that a look at the
    newest releases on a workstation is not an error. ``MLP_WEIGHTS_STRICT=0``
    turns the note mode on even in CI. Any other failing status (usage error,
    internal error, no tests collected) is always kept: it means the report
    itself could not be made.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata

#: pytest's exit status when tests ran and some failed: the report itself.
TESTS_FAILED = 1
#: Set to 1 to keep the layer tests' failing status, 0 to drop it even in CI.
STRICT_ENV = "MLP_WEIGHTS_STRICT"
FALSE_WORDS = {"", "0", "false", "no", "off"}


def print_environment() -> int:
    """Print the interpreter and the installed distributions, sorted by name."""
    print(f"Python {platform.python_version()} at {sys.executable}")
    pins = set()
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            pins.add(f"{name}=={dist.version}")
    for pin in sorted(pins, key=str.lower):
        print(pin)
    return 0


def print_tested(env_name: str) -> int:
    """One line: the Python this environment tested, and for ``py`` that it was the only one."""
    line = f"{env_name}: tested Python {platform.python_version()} ({sys.executable})"
    if env_name == "py":
        line += "; no other Python was tested: name them, e.g. tox -e py311,py312,py313"
    print(line)
    return 0


def strict() -> bool:
    """Whether failing layer tests end the step red."""
    explicit = os.environ.get(STRICT_ENV)
    if explicit is not None:
        return explicit.strip().lower() not in FALSE_WORDS
    return os.environ.get("CI", "").strip().lower() not in FALSE_WORDS


def run_report(command: list[str]) -> int:
    """Run ``command`` and decide what its exit status means for the step."""
    if not command:
        print("tox_steps.py report: give the command to run", file=sys.stderr)
        return 2
    status = subprocess.call(command)
    if status != TESTS_FAILED:
        return status
    if strict():
        print(
            f"layer tests failed: the report above says what moved; ending with status "
            f"{status} because CI or {STRICT_ENV}=1 is set"
        )
        return status
    print(
        "layer tests failed: the report above says what moved; this step ends green "
        f"here (set {STRICT_ENV}=1, or CI=true, to end red)"
    )
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["environment"]:
        return print_environment()
    if argv[:1] == ["tested"] and len(argv) == 2:
        return print_tested(argv[1])
    if argv[:1] == ["report"]:
        return run_report(argv[1:])
    print("usage: tox_steps.py environment | tested ENVNAME | report COMMAND ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
