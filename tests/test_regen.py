"""``mlp-weights regen``: the pinned stack only, unchanged files kept, dry runs, one layer."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys

import numpy as np
import pytest

from mlp_weights.baselines import store as baselines
from mlp_weights.baselines.snapshot import RTOL, Snapshot, load_snapshot, save_snapshot
from mlp_weights.cli import main
from mlp_weights.core.environment import library_versions
from mlp_weights.pipeline import training
from mlp_weights.pipeline.scenarios import get_scenario


@pytest.fixture(autouse=True)
def pins_beside_the_baselines(monkeypatch):
    """These tests put their pins beside their baseline folder, as a checkout has them."""
    monkeypatch.delenv(baselines.PINNED_FILE_ENV, raising=False)


def write_pins(root, **changes):
    """A pins file that matches what is installed, but for ``changes``."""
    versions = {**library_versions(), **changes}
    lines = [f"{lib}=={versions[lib]}" for lib in baselines.PINNED_LIBRARIES if versions[lib]]
    path = root / "requirements" / "pinned.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text("# test pins\n" + "\n".join(lines) + "\n")
    return path


def regen(baseline_dir, *args, reason="test"):
    argv = ["regen", "--scenario", "digits", "--quiet", "--baseline-dir", str(baseline_dir)]
    if reason is not None:
        argv += ["--reason", reason]
    return main([*argv, *args])


def contents(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def snap(baseline_dir, scenario="digits"):
    """The snapshot of the first training generation, as regen lays it out."""
    return baseline_dir / "training" / "all" / f"{scenario}.npz"


def png(baseline_dir, scenario="digits"):
    return baseline_dir / "rendering" / "all" / f"{scenario}.png"


def manifest_entry(baseline_dir, generation="training/all", scenario="digits"):
    """A scenario's entry in a generation of the manifest regen wrote."""
    manifest = json.loads((baseline_dir / "manifest.json").read_text())
    return manifest["generations"][generation]["scenarios"][scenario]


@pytest.fixture(scope="module")
def made_once(tmp_path_factory):
    """A project folder whose digits baselines were just regenerated."""
    root = tmp_path_factory.mktemp("made")
    write_pins(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(baselines.PINNED_FILE_ENV, raising=False)
        assert regen(root / "baseline_images") == 0
    return root


@pytest.fixture
def project(made_once, tmp_path, capsys):
    """A fresh copy of ``made_once``: pins and baselines of digits."""
    shutil.copytree(made_once, tmp_path, dirs_exist_ok=True)
    capsys.readouterr()
    return tmp_path


def test_regen_writes_images_snapshots_and_manifest(project):
    baseline_dir = project / "baseline_images"
    assert sorted(contents(baseline_dir)) == [
        "manifest.json",
        "rendering/all/digits.png",
        "training/all/digits.npz",
    ]
    manifest = json.loads((baseline_dir / "manifest.json").read_text())
    assert manifest["format_version"] == 2
    for name, kind, file in (("training/all", "snapshot", "digits.npz"),
                             ("rendering/all", "image", "digits.png")):  # fmt: skip
        generation = manifest["generations"][name]
        assert generation["range"] == {} and generation["pins"] == "requirements/pinned.txt"
        entry = generation["scenarios"]["digits"]
        assert entry["reason"] == "test" and entry["files"] == {kind: file}
        assert entry["versions"] == library_versions()
        assert entry["pins"] == "requirements/pinned.txt"
        assert {"blas", "freetype", "platform"} <= set(entry["environment"])
        assert entry["regenerated"]["rewritten"] == [file]
        assert "allow_unpinned" not in entry


def test_regen_again_keeps_every_byte_and_says_so(project, capsys):
    baseline_dir = project / "baseline_images"
    before = contents(baseline_dir)
    assert regen(baseline_dir, reason="again") == 0
    assert contents(baseline_dir) == before
    out = capsys.readouterr().out
    assert f"kept {snap(baseline_dir)}: a fresh fit agrees" in out
    assert f"kept {png(baseline_dir)}: pixels identical" in out
    assert f"kept {baseline_dir / 'manifest.json'}" in out
    assert "rewrote" not in out


def perturb_snapshot(path, relative=0.0, change=None):
    """Scale the stored weights by ``1 + relative`` (or apply ``change``), keep the rest.

    A uniform scale moves the numbers but not the drawing (its grey scale
    follows the weights' range); ``change`` can reshape them so it shows.
    """
    stored = load_snapshot(path, "digits")
    coefs = change(stored.coefs) if change else stored.coefs * (1 + relative)
    changed = dataclasses.replace(stored, coefs=coefs)
    save_snapshot(changed, path)
    return path.read_bytes()


def test_float_noise_keeps_the_snapshot_bytes(project, capsys):
    snap_file = snap(project / "baseline_images")
    original = snap_file.read_bytes()
    noisy = perturb_snapshot(snap_file, 4e-16)
    assert noisy != original
    assert regen(project / "baseline_images") == 0
    assert snap_file.read_bytes() == noisy
    assert f"kept {snap_file}" in capsys.readouterr().out


def test_a_moved_fit_rewrites_the_snapshot_and_names_the_error(project, capsys):
    snap_file = snap(project / "baseline_images")
    moved = perturb_snapshot(snap_file, 1000 * RTOL)
    assert regen(project / "baseline_images") == 0
    assert snap_file.read_bytes() != moved
    out = capsys.readouterr().out
    assert f"rewrote {snap_file}: the fresh fit moved: " in out
    assert "first-layer weights: " in out and "max abs error" in out


def test_changed_settings_rewrite_the_snapshot(project, capsys):
    snap_file = snap(project / "baseline_images")
    stored = load_snapshot(snap_file, "digits")
    settings = json.loads(stored.settings_json)
    settings["estimator"]["max_iter"] += 1
    save_snapshot(
        Snapshot(
            stored.scenario,
            json.dumps(settings),
            stored.loss_curve,
            stored.coefs,
            stored.train_score,
            stored.test_score,
        ),
        snap_file,
    )
    assert regen(project / "baseline_images") == 0
    assert f"rewrote {snap_file}: settings changed: estimator: " in capsys.readouterr().out


def test_refuses_an_unpinned_stack_in_one_line(project, capsys):
    baseline_dir = project / "baseline_images"
    pins = write_pins(project, matplotlib="0.0.1")
    before = contents(baseline_dir)
    png(baseline_dir).write_bytes(b"damaged")
    before["rendering/all/digits.png"] = b"damaged"
    assert regen(baseline_dir) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("mlp-weights: error: refusing to regenerate")
    assert (
        f"matplotlib {library_versions()['matplotlib']} is installed, {pins} pins 0.0.1" in (err[0])
    )
    assert "--allow-unpinned" in err[0]
    assert contents(baseline_dir) == before


def test_refuses_when_the_pins_file_is_missing_or_lacks_a_library(project, capsys):
    baseline_dir = project / "baseline_images"
    assert regen(baseline_dir, "--pinned", str(project / "missing.txt")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot read the pins {project / 'missing.txt'}" in err[0]
    pins = write_pins(project, numpy=None)
    assert regen(baseline_dir) == 1
    numpy_now = library_versions()["numpy"]
    assert f"numpy {numpy_now} is installed but {pins} does not pin it" in capsys.readouterr().err


def test_pinned_option_and_variable_point_elsewhere(project, tmp_path_factory, capsys, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    pins = write_pins(elsewhere)
    write_pins(project, **{"scikit-learn": "0.1"})
    assert regen(project / "baseline_images", "--pinned", str(pins)) == 0
    assert regen(project / "baseline_images") == 1
    # The variable names the pins of a first generation; an existing
    # generation keeps its own (so no environment rewrites another's).
    monkeypatch.setenv(baselines.PINNED_FILE_ENV, str(pins))
    assert regen(project / "baseline_images") == 1
    assert "refusing to regenerate baselines training/all" in capsys.readouterr().err
    fresh = project / "fresh"
    assert regen(fresh) == 0
    manifest = json.loads((fresh / "manifest.json").read_text())
    assert manifest["generations"]["training/all"]["pins"] == str(pins)


def test_allow_unpinned_runs_and_the_manifest_says_so(project, capsys):
    baseline_dir = project / "baseline_images"
    write_pins(project, numpy="0.0.1")
    perturb_snapshot(snap(baseline_dir), 1000 * RTOL)
    assert regen(baseline_dir, "--allow-unpinned") == 0
    entry = manifest_entry(baseline_dir)
    assert entry["allow_unpinned"] is True
    assert entry["unpinned"] == [
        f"numpy {library_versions()['numpy']} is installed, "
        f"{project / 'requirements' / 'pinned.txt'} pins 0.0.1"
    ]


def test_allow_unpinned_runs_without_a_pins_file_and_the_manifest_says_so(
    tmp_path, capsys, monkeypatch
):
    """A baseline folder outside any checkout, where no pins file can be found
    (as for an installed wheel, whose package has no checkout around it)."""
    monkeypatch.setenv(baselines.PINNED_FILE_ENV, str(tmp_path / "requirements" / "pinned.txt"))
    baseline_dir = tmp_path / "baselines"
    assert regen(baseline_dir) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("mlp-weights: error: cannot read the pins ") and "\n" not in error
    assert not baseline_dir.exists()
    assert regen(baseline_dir, "--allow-unpinned") == 0
    entry = manifest_entry(baseline_dir)
    assert entry["allow_unpinned"] is True
    assert entry["unpinned"] == [
        f"no pins could be read from {tmp_path / 'requirements' / 'pinned.txt'}"
    ]


def test_dry_run_writes_nothing_and_shows_rms_and_array_errors(project, capsys, monkeypatch):
    baseline_dir = project / "baseline_images"
    perturb_snapshot(snap(baseline_dir), 1000 * RTOL)
    # Drawing the cube of the weights changes the pixels visibly.
    from mlp_weights.pipeline import plot

    draw = plot.draw_weights
    monkeypatch.setattr(
        plot, "draw_weights", lambda coefs, scenario: draw(np.asarray(coefs) ** 3, scenario)
    )
    before = contents(baseline_dir)
    assert regen(baseline_dir, "--dry-run", reason=None) == 0
    assert contents(baseline_dir) == before
    out = capsys.readouterr().out
    assert f"would rewrite {snap(baseline_dir)}: the fresh fit moved" in out
    assert "max rel error" in out
    rms_line = next(line for line in out.splitlines() if "digits.png:" in line)
    assert rms_line.startswith("would rewrite") and "pixels differ, RMS " in rms_line
    assert float(rms_line.rsplit("RMS ", 1)[1]) > 0
    assert out.strip().endswith("dry run: nothing was written")


def test_dry_run_on_an_unpinned_stack_warns_instead_of_refusing(project, capsys):
    baseline_dir = project / "baseline_images"
    write_pins(project, matplotlib="0.0.1")
    before = contents(baseline_dir)
    assert regen(baseline_dir, "--dry-run", reason=None) == 0
    assert contents(baseline_dir) == before
    assert "note: a real run would refuse: matplotlib" in capsys.readouterr().out


def test_rendering_layer_redraws_the_stored_weights_and_trains_nothing(
    project, capsys, monkeypatch
):
    baseline_dir = project / "baseline_images"
    snap_file = snap(baseline_dir)
    stored_bytes = perturb_snapshot(snap_file, change=np.cbrt)  # weights that draw differently

    def no_training(*args, **kwargs):
        raise AssertionError("--layer rendering must not train")

    monkeypatch.setattr(training, "train", no_training)
    png_before = png(baseline_dir).read_bytes()
    assert regen(baseline_dir, "--layer", "rendering") == 0
    assert snap_file.read_bytes() == stored_bytes
    png_after = png(baseline_dir).read_bytes()
    assert png_after != png_before
    # What was written is the stored weights' drawing.
    scenario = get_scenario("digits")
    expected = project / "expected.png"
    from mlp_weights.pipeline.plot import render_weights

    render_weights(load_snapshot(snap_file, "digits").coefs, scenario, expected)
    assert png_after == expected.read_bytes()
    entry = manifest_entry(baseline_dir, "rendering/all")
    assert entry["regenerated"] == {
        "layers": ["rendering"],
        "rewritten": ["digits.png"],
        "kept": [],
    }
    assert "digits.npz" not in capsys.readouterr().out


def test_training_layer_leaves_images_alone_and_says_they_are_stale(project, capsys):
    baseline_dir = project / "baseline_images"
    snap_file = snap(baseline_dir)
    perturb_snapshot(snap_file, change=np.cbrt)
    # The image now shows the moved weights; the fresh fit's differ from them.
    assert regen(baseline_dir, "--layer", "rendering") == 0
    drawn = png(baseline_dir).read_bytes()
    capsys.readouterr()
    assert regen(baseline_dir, "--layer", "training") == 0
    assert png(baseline_dir).read_bytes() == drawn
    out = capsys.readouterr().out
    assert f"rewrote {snap_file}: the fresh fit moved" in out
    assert "digits.png was drawn from the old snapshot" in out
    assert "--layer rendering" in out


def test_rendering_layer_without_a_snapshot_fails_in_one_line(tmp_path, capsys):
    write_pins(tmp_path)
    assert regen(tmp_path / "baseline_images", "--layer", "rendering") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing snapshot" in err[0]


@pytest.mark.parametrize(
    "args",
    [["--reason", "  "], ["--reason", "x", "--scenario", "nope"], [], ["--layer", "pipeline"]],
)
def test_regen_bad_input(tmp_path, capsys, args):
    write_pins(tmp_path)
    with pytest.raises(SystemExit) as info:
        sys.exit(main(["regen", "--baseline-dir", str(tmp_path / "b"), *args]))
    assert info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())


@pytest.mark.parametrize("where", ["missing default folder", "folder outside a project"])
def test_regen_outside_a_project_is_one_line(made_once, tmp_path, monkeypatch, capsys, where):
    """From an empty folder the pins are nowhere: never those beside the installed code."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(baselines.BASELINE_DIR_ENV, raising=False)
    args = ["regen", "--dry-run", "--quiet", "--scenario", "digits"]
    if where == "folder outside a project":
        shutil.copytree(made_once / "baseline_images", tmp_path / "b")
        args += ["--baseline-dir", "b"]
    before = contents(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not in a project" in err[0]
    assert f"{tmp_path} has no requirements/ folder" in err[0]
    assert err[0].endswith("or name the pins with --pinned FILE")
    assert contents(tmp_path) == before


def test_failed_regen_keeps_the_old_baselines(project, monkeypatch, capsys):
    from mlp_weights.core.errors import DataUnavailableError
    from mlp_weights.pipeline.data import sources

    baseline_dir = project / "baseline_images"
    perturb_snapshot(snap(baseline_dir), 1000 * RTOL)
    before = contents(baseline_dir)

    def offline(data_home):
        raise DataUnavailableError("MNIST is not cached (test)")

    monkeypatch.setitem(sources.SOURCES, "mnist", offline)
    code = main(
        [
            "regen",
            "--scenario",
            "digits",
            "--scenario",
            "mnist",
            "--reason",
            "new",
            "--quiet",
            "--baseline-dir",
            str(baseline_dir),
        ]
    )
    assert code == 1
    assert "MNIST is not cached (test)" in capsys.readouterr().err
    assert contents(baseline_dir) == before


def test_a_snapshot_without_diagnostics_is_rewritten_with_them(project, capsys):
    path = snap(project / "baseline_images", "digits")
    stored = load_snapshot(path, "digits")
    assert stored.diagnostics is not None
    save_snapshot(dataclasses.replace(stored, diagnostics=None), path)
    assert regen(project / "baseline_images") == 0
    assert load_snapshot(path, "digits").diagnostics == stored.diagnostics
    out = capsys.readouterr().out
    assert f"rewrote {path}: the stored snapshot predates the weight diagnostics" in out
