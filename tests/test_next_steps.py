"""The commands a failing verdict ends with: exact, for this run, never run for the user."""

import shlex

from mlp_weights.report import next_steps as ns

GENERATIONS = {
    "training/all": {
        "layer": "training",
        "range": "any version",
        "pins": "requirements/pinned.txt",
    },
    "rendering/mpl-3.11": {
        "layer": "rendering",
        "range": "matplotlib>=3.11",
        "pins": "requirements/pinned.txt",
    },
}
MATPLOTLIB_MOVED = {"fact": "matplotlib", "kind": "library", "now": "3.11.2", "then": "3.10.9"}


def layer(name, status="pass", kind=None, generation=None, moved=(), reading=None):
    record = {"layer": name, "status": status, "kind": kind, "moved": list(moved)}
    record["generation"] = generation
    if reading:
        record["diagnostics"] = {"reading": reading}
    return record


def record(*scenarios, uncovered=()):
    data = {"generations": GENERATIONS, "scenarios": []}
    for name, layers in scenarios:
        data["scenarios"].append({"scenario": name, "layers": layers})
    if uncovered:
        data["uncovered"] = list(uncovered)
    return data


def rendering_moved(scenario):
    sklearn = {"fact": "scikit-learn", "kind": "library", "now": "1.9.1", "then": "1.3.0"}
    rendering = layer("rendering", "fail", "moved", "rendering/mpl-3.11", [MATPLOTLIB_MOVED])
    rendering["blamed"] = ["matplotlib"]
    # The pipeline depends on every library, and blames through the layers it combines.
    pipeline = layer("pipeline", "fail", "moved", "rendering/mpl-3.11", [MATPLOTLIB_MOVED, sklearn])
    return (scenario, [layer("training", generation="training/all"), rendering, pipeline])


def test_nothing_failed_gives_no_steps():
    data = record(("digits", [layer("training", generation="training/all")]))
    assert ns.next_steps(data) == []
    assert ns.steps_markdown([]) == []


def test_a_rendering_change_is_accepted_into_its_generation_and_bisected():
    steps = ns.next_steps(record(rendering_moved("mnist-sample"), rendering_moved("digits")))
    assert [s.action for s in steps] == ["accept", "find the release"]
    accept = shlex.split(steps[0].command)
    assert accept[:6] == [
        "mlp-weights",
        "regen",
        "--generation",
        "rendering/mpl-3.11",
        "--layer",
        "rendering",
    ]
    # The pipeline layer's failure is the same image generation: one command, both scenarios.
    assert accept.count("--scenario") == 2 and "digits" in accept and "mnist-sample" in accept
    reason = accept[accept.index("--reason") + 1]
    assert "matplotlib 3.11.2 (baseline 3.10.9)" in reason and "scikit-learn" not in reason
    assert "requirements/pinned.txt" in steps[0].why
    assert steps[1].command == "mlp-weights bisect matplotlib --good 3.10.9 --bad 3.11.2"


def test_only_blamed_libraries_are_bisected():
    moved = [
        MATPLOTLIB_MOVED,
        {"fact": "numpy", "kind": "library", "now": "2.4.6", "then": "1.21.2"},
    ]
    rendering = layer("rendering", "fail", "moved", "rendering/mpl-3.7", moved)
    rendering["blamed"] = ["numpy"]
    steps = ns.bisect_steps(record(("digits", [rendering])))
    assert [s.command for s in steps] == ["mlp-weights bisect numpy --good 1.21.2 --bad 2.4.6"]


def test_a_training_change_shows_the_weights_reading_first():
    moved = [{"fact": "scikit-learn", "kind": "library", "now": "1.9.1", "then": "1.8.0"}]
    reading = "weights grew as with a higher learning rate"
    training = layer("training", "fail", "moved", "training/all", moved, reading)
    training["blamed"] = ["scikit-learn"]
    data = record(("digits", [training]))
    accept, find = ns.next_steps(data)
    assert accept.why.startswith(f"the weights say digits: {reading}")
    assert "--generation training/all --layer training" in accept.command
    assert find.command == "mlp-weights bisect scikit-learn --good 1.8.0 --bad 1.9.1"


def test_a_local_change_is_not_bisected_and_a_damaged_baseline_is_not_accepted():
    data = record(
        ("digits", [layer("rendering", "fail", "moved", "rendering/mpl-3.11")]),
        ("mnist-sample", [layer("training", "fail", "damaged-baseline", "training/all")]),
    )
    steps = ns.next_steps(data)
    assert [s.action for s in steps] == ["accept"]
    assert "--scenario digits" in steps[0].command and "mnist-sample" not in steps[0].command


def test_an_uncovered_stack_gets_its_new_generation_command():
    gap = {
        "layer": "rendering",
        "library": "matplotlib",
        "version": "3.10.9",
        "generation": "rendering/matplotlib-3.10",
        "range": "matplotlib>=3.10,<3.11",
        "pins": "requirements/matplotlib-3.10.txt",
    }
    steps = ns.next_steps(record(uncovered=[gap]))
    assert [s.action for s in steps] == ["keep the old stack gated"]
    argv = shlex.split(steps[0].command)
    assert argv[argv.index("--range") + 1] == "matplotlib>=3.10,<3.11"
    assert argv[argv.index("--new-generation") + 1] == "rendering/matplotlib-3.10"


def test_markdown_puts_every_command_in_its_own_code_block():
    steps = ns.next_steps(record(rendering_moved("digits")))
    lines = ns.steps_markdown(steps)
    assert lines[0] == "### What to do next"
    assert lines.count("```bash") == len(steps) == 2
    for step in steps:
        assert step.command in lines
