"""Suite configuration: options, the baseline folder, blame and the verdict table.

The logic lives in :mod:`mlp_weights.suite`; these hooks only wire it in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlp_weights import suite
from mlp_weights.inject import INJECTIONS

REPO_BASELINES = Path(__file__).resolve().parent.parent / "baseline_images"

_records: list[dict] = []


def pytest_addoption(parser):
    group = parser.getgroup("mlp-weights")
    group.addoption(
        "--mlp-baseline-dir",
        default=None,
        help="baseline folder to compare against (default: $MLP_WEIGHTS_BASELINE_DIR, "
        "else the repository's baseline_images/)",
    )
    group.addoption(
        "--mlp-inject",
        choices=sorted(INJECTIONS),
        default=None,
        help="self-test only: inject a small change into training or drawing",
    )


def pytest_configure(config):
    chosen = config.getoption("--mlp-baseline-dir") or os.environ.get("MLP_WEIGHTS_BASELINE_DIR")
    suite.configure(chosen or REPO_BASELINES)
    injection = config.getoption("--mlp-inject")
    if injection:
        INJECTIONS[injection]()


def pytest_report_header(config):
    versions = suite.environment_versions()
    text = ", ".join(f"{k} {v}" for k, v in versions.items())
    return [f"mlp-weights: baselines in {suite.baseline_dir()}", f"mlp-weights: {text}"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    layer = suite.layer_of({m.name for m in item.iter_markers()})
    callspec = getattr(item, "callspec", None)
    scenario = callspec.params.get("scenario_name") if callspec else None
    if layer is None or scenario is None:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        failed = report.failed
        record = suite.layer_report(layer, scenario, failed, report.longreprtext if failed else "")
        record["status"] = "FAIL" if failed else ("skip" if report.skipped else "pass")
        report.user_properties.append(suite.encode(record))
        if record["text"]:
            report.sections.append(("mlp-weights verdict", record["text"]))


def pytest_runtest_logreport(report):
    record = suite.decode(getattr(report, "user_properties", ()))
    if record is not None:
        _records.append(record)


def pytest_terminal_summary(terminalreporter):
    lines = suite.summary_lines(_records)
    if lines:
        terminalreporter.write_sep("=", "mlp-weights verdict")
        for line in lines:
            terminalreporter.write_line(line)
