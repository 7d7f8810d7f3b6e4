"""The GitHub workflows: what they run, and their scripts run here with stand-ins.

actionlint and zizmor check the workflows in ``tox -e lint`` (pinned
actions, permissions, credentials, expressions in scripts); these tests
check the project's own facts about them and run the canary's shell steps
locally, with a fake ``gh`` and ``tox`` that record what they were asked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
TESTS = (WORKFLOWS / "tests.yml").read_text(encoding="utf-8")
UPGRADE = (WORKFLOWS / "upgrade.yml").read_text(encoding="utf-8")
CI_RUN = (REPO / ".ci" / "run").read_text(encoding="utf-8")
DEPENDABOT = (REPO / ".github" / "dependabot.yml").read_text(encoding="utf-8")
ALL = {"tests.yml": TESTS, "upgrade.yml": UPGRADE}


def step_script(workflow: str, name: str) -> str:
    """The ``run: |`` block of the step called ``name``, dedented."""
    lines = workflow.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- name: {name}")
    run = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "run: |")
    indent = len(lines[run]) - len(lines[run].lstrip()) + 2
    block = []
    for line in lines[run + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)) + "\n"


def job_env(workflow: str, key: str) -> str:
    return re.search(rf'^\s+{key}: "?(.*?)"?$', workflow, re.M).group(1)


@pytest.mark.parametrize("name", ALL)
def test_each_action_pinned_by_commit_names_its_version(name):
    """zizmor (``tox -e lint``) requires the commit; the comment is what Dependabot updates."""
    uses = re.findall(r"uses: (\S+)(.*)", ALL[name])
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r" # v\d+(\.\d+)*", comment), (action, comment)


def test_tests_run_the_whole_suite_on_every_python_and_lint_and_keep_the_uv_cache():
    """.ci/run runs the package's own tests on one Python; GitHub on each, one job each."""
    ci_pythons = re.search(r'^export TOX_ENV="([^"]+)"', CI_RUN, re.M).group(1)
    pythons = [f"3.{name[3:]}" for name in ci_pythons.split(",") if re.fullmatch(r"py3\d+", name)]
    matrix = re.search(r"^\s+python: \[(.*)\]$", TESTS, re.M).group(1)
    assert matrix == ", ".join(f'"{python}"' for python in pythons)
    assert 'tox run -e "py${PYTHON_VERSION//./}"' in TESTS
    # tox.ini's commands as written: the whole suite, not only the gates.
    assert "TOX_OVERRIDE" not in TESTS and "--override" not in TESTS
    assert "tox run -e lint" in TESTS
    assert TESTS.count("enable-cache: true") == 3
    assert re.search(r"if: failure\(\)\n\s+uses: actions/upload-artifact@", TESTS)


def test_the_oldest_stack_is_a_job_of_its_own_that_fails_the_run():
    job = TESTS.split("\n  oldest:\n", 1)[1].split("\n  lint:\n", 1)[0]
    assert 'python-version: "3.10"' in job
    assert "run: tox run -e oldest" in job
    assert "continue-on-error" not in job


def test_canary_runs_upgrade_weekly_and_by_hand():
    assert re.search(r"schedule:\n\s+- cron: \"\d+ \d+ \* \* \d\"", UPGRADE)
    assert "workflow_dispatch:" in UPGRADE
    assert "tox run -e upgrade" in UPGRADE


def test_dependabot_bumps_the_pins_and_the_actions_weekly_but_not_the_floors():
    assert "package-ecosystem: pip" in DEPENDABOT
    assert "package-ecosystem: github-actions" in DEPENDABOT
    assert DEPENDABOT.count("interval: weekly") == 2
    assert '- "requirements/oldest.txt"' in DEPENDABOT
    assert '- "pyproject.toml"' in DEPENDABOT


def verdict(*layers):
    """A verdict.json (schema version 1) with one scenario holding ``layers``."""
    return {
        "schema": "mlp-weights-verdict",
        "schema_version": 1,
        "scenarios": [
            {
                "scenario": "digits",
                "layers": [
                    {"layer": name, "status": status, "blamed": blamed}
                    for name, status, blamed in layers
                ],
            }
        ],
    }


needs_jq = pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")


def run_step(script, tmp_path, env, fakes=()):
    """Run a workflow script in ``tmp_path`` with fake commands on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "calls.log"
    for name, body in dict(fakes).items():
        fake = bin_dir / name
        fake.write_text(f'#!/usr/bin/env bash\necho "{name} $*" >> "{calls}"\n{body}\n')
        fake.chmod(0o755)
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    proc = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output),
            **env,
        },
    )
    read = lambda p: p.read_text() if p.exists() else ""  # noqa: E731
    return proc, read(calls).splitlines(), read(summary), read(output)


@needs_jq
def test_blame_names_each_library_of_a_failed_layer_once(tmp_path):
    results = tmp_path / "mpl-results" / "upgrade"
    results.mkdir(parents=True)
    (results / "verdict.json").write_text(
        json.dumps(
            verdict(
                ("training", "pass", []),
                ("rendering", "fail", ["matplotlib", "numpy", "freetype"]),
                ("pipeline", "fail", ["matplotlib", "numpy"]),
                ("scores", "skip", ["scikit-learn"]),
            )
        )
    )
    script = step_script(UPGRADE, "Find the libraries blamed by failing layers")
    proc, _, _, output = run_step(script, tmp_path, {})
    assert proc.returncode == 0, proc.stderr
    assert output == "libraries=matplotlib numpy\n"


@needs_jq
def test_blame_without_a_verdict_says_why_in_the_summary(tmp_path):
    script = step_script(UPGRADE, "Find the libraries blamed by failing layers")
    proc, _, summary, output = run_step(script, tmp_path, {})
    assert proc.returncode == 0, proc.stderr
    assert output == "libraries=\n"
    assert "the package's own tests failed before the layer report" in summary


def test_bisect_runs_once_per_library_and_fills_the_summary(tmp_path):
    fake_tox = (
        'mkdir -p mpl-results/bisect && echo "# bisect of ${@: -1}" > mpl-results/bisect/bisect.md'
    )
    script = step_script(UPGRADE, "Bisect the releases of each blamed library")
    proc, calls, summary, _ = run_step(
        script, tmp_path, {"LIBRARIES": "matplotlib numpy"}, {"tox": fake_tox}
    )
    assert proc.returncode == 0, proc.stderr
    assert calls == ["tox run -e bisect -- matplotlib", "tox run -e bisect -- numpy"]
    assert summary == "# bisect of matplotlib\n# bisect of numpy\n"
    assert (tmp_path / "mpl-results" / "bisect-numpy" / "bisect.md").exists()


def test_a_failed_bisect_fails_the_step_and_is_still_reported(tmp_path):
    script = step_script(UPGRADE, "Bisect the releases of each blamed library")
    proc, calls, summary, _ = run_step(script, tmp_path, {"LIBRARIES": "numpy"}, {"tox": "exit 3"})
    assert proc.returncode == 3
    assert "The bisection of numpy wrote no bisect.md" in summary


def test_the_verdict_page_is_rebuilt_with_the_bisections(tmp_path):
    results = tmp_path / "mpl-results"
    (results / "upgrade").mkdir(parents=True)
    (results / "upgrade" / "verdict.json").write_text("{}")
    for library in ("matplotlib", "numpy"):
        (results / f"bisect-{library}").mkdir()
    (results / "bisect-matplotlib" / "bisect.json").write_text("{}")
    tool = tmp_path / ".tox" / "upgrade" / "bin" / "mlp-weights"
    tool.parent.mkdir(parents=True)
    tool.write_text(f'#!/usr/bin/env bash\necho "mlp-weights $*" >> "{tmp_path / "calls.log"}"\n')
    tool.chmod(0o755)
    script = step_script(UPGRADE, "Put the bisections on the verdict page")
    proc, calls, _, _ = run_step(script, tmp_path, {})
    assert proc.returncode == 0, proc.stderr
    assert calls == ["mlp-weights report mpl-results/upgrade"]
    assert (results / "upgrade" / "bisect-matplotlib" / "bisect.json").exists()
    assert not (results / "upgrade" / "bisect-numpy").exists()


@pytest.mark.parametrize("name", ALL)
def test_the_verdict_page_is_its_own_artifact(name):
    assert re.search(r"name: Upload the verdict page\n\s+if: always\(\)", ALL[name])
    assert re.search(r"path: mpl-results/(\*|upgrade)/verdict\.html", ALL[name])


def issue_step(tmp_path, result, open_issue):
    env = {
        "RESULT": result,
        "RUN_URL": "https://example.invalid/run/1",
        "TITLE": job_env(UPGRADE, "TITLE"),
        "LABEL": job_env(UPGRADE, "LABEL"),
    }
    listed = "echo 42" if open_issue else "true"
    verdict_md = tmp_path / "results" / "upgrade" / "verdict.md"
    verdict_md.parent.mkdir(parents=True)
    verdict_md.write_text("| digits | rendering | FAIL | matplotlib |\n")
    script = step_script(UPGRADE, "Open, update or close the tracking issue")
    fake_gh = f'if [ "$1 $2" = "issue list" ]; then {listed}; fi'
    return run_step(script, tmp_path, env, {"gh": fake_gh})


def test_red_canary_opens_the_tracking_issue_with_the_verdict(tmp_path):
    proc, calls, _, _ = issue_step(tmp_path, "failure", open_issue=False)
    assert proc.returncode == 0, proc.stderr
    assert [c.split()[:3] for c in calls] == [
        ["gh", "issue", "list"],
        ["gh", "label", "create"],
        ["gh", "issue", "create"],
    ]
    body = (tmp_path / "body.md").read_text()
    assert "https://example.invalid/run/1" in body and "| digits | rendering | FAIL |" in body


def test_red_canary_comments_on_the_open_issue(tmp_path):
    proc, calls, _, _ = issue_step(tmp_path, "failure", open_issue=True)
    assert proc.returncode == 0, proc.stderr
    assert calls[1] == "gh issue comment 42 --body-file body.md"
    assert len(calls) == 2


def test_green_canary_closes_the_open_issue(tmp_path):
    proc, calls, _, _ = issue_step(tmp_path, "success", open_issue=True)
    assert proc.returncode == 0, proc.stderr
    assert calls[1].startswith("gh issue close 42 --comment The upgrade canary is green again")


def test_green_canary_without_an_issue_does_nothing_more(tmp_path):
    proc, calls, _, _ = issue_step(tmp_path, "success", open_issue=False)
    assert proc.returncode == 0, proc.stderr
    assert len(calls) == 1 and calls[0].startswith("gh issue list")
