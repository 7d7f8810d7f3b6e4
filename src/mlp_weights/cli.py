"""The ``mlp-weights`` command: ``run``, ``regen``, ``bisect``, ``report`` and ``generations``.

Every user-facing failure is one line on stderr, exit code 2 for bad
input and 1 for anything else the user can act on; never a traceback.

Each command's parser (``add_*_parser``) names its handler (``cmd_*``), which
imports what it needs: ``--help`` loads no numpy, scikit-learn or matplotlib.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlp_weights import __version__
from mlp_weights.core.errors import MLPWeightsError, UsageError
from mlp_weights.pipeline.scenarios import OFFLINE_SCENARIOS, SCENARIOS, get_scenario

PROG = "mlp-weights"
BASELINE_DIR_HELP = "baseline folder (default: $MLP_WEIGHTS_BASELINE_DIR, else ./baseline_images)"


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line with exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def grid_spec(text: str) -> tuple[int, int]:
    """``"4x4"`` -> ``(4, 4)``."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form ROWSxCOLS, e.g. 4x4")
    rows, cols = (int(p) for p in parts)
    if rows < 1 or cols < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: rows and columns must be at least 1")
    return rows, cols


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Train the scikit-learn MLP weights example and draw its weights; "
        "keep and check regression baselines of both.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    add_run_parser(sub)
    add_regen_parser(sub)
    add_bisect_parser(sub)
    add_report_parser(sub)
    add_generations_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except MLPWeightsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def add_run_parser(subparsers) -> None:
    """The ``run`` subcommand: the seed example on one scenario."""
    names = ", ".join(SCENARIOS)
    run = subparsers.add_parser("run", help="train one scenario and write its weight grid")
    run.set_defaults(handler=cmd_run)
    run.add_argument(
        "--dataset",
        default="mnist",
        metavar="NAME",
        help=f"scenario: {names} (default: mnist, the seed's)",
    )
    run.add_argument(
        "--out",
        default="mlp_weights.png",
        metavar="PATH",
        help="figure to write; the format follows the suffix (default: %(default)s)",
    )
    run.add_argument(
        "--data-home",
        metavar="DIR",
        help="data folder (default: $SCIKIT_LEARN_DATA, else ~/scikit_learn_data)",
    )
    run.add_argument("--hidden", type=positive_int, metavar="N", help="hidden units (default: 40)")
    run.add_argument(
        "--max-iter", type=positive_int, metavar="N", help="training epochs (default: 8)"
    )
    run.add_argument(
        "--grid", type=grid_spec, metavar="RxC", help="panels drawn, rows x columns (default: 4x4)"
    )
    run.add_argument(
        "--quiet",
        action="store_true",
        help="hide the per-iteration loss lines and what the weights say",
    )
    run.add_argument("--show", action="store_true", help="also open the figure in a window")


def cmd_run(args) -> int:
    options = {"hidden": args.hidden, "max_iter": args.max_iter, "grid": args.grid}
    overrides = {name: value for name, value in options.items() if value is not None}
    scenario = get_scenario(args.dataset).with_overrides(**overrides)
    rows, cols = scenario.grid
    if rows * cols > scenario.hidden:
        raise UsageError(
            f"--grid {rows}x{cols} draws {rows * cols} panels but there are only "
            f"{scenario.hidden} hidden units; use a smaller grid or more --hidden"
        )
    out = Path(args.out)
    check_writable(out)

    # Imported once the input is checked: a process given an unknown scenario
    # took 0.1 s of CPU to refuse it, where importing these first took 2.1 s.
    from mlp_weights.pipeline.data import load_dataset
    from mlp_weights.pipeline.plot import render_weights
    from mlp_weights.pipeline.training import format_scores, train

    dataset = load_dataset(scenario, args.data_home)
    result = train(scenario, dataset, verbose=not args.quiet)
    print(format_scores(result))
    if not args.quiet and result.diagnostics is not None:
        from mlp_weights.pipeline.diagnostics import describe

        print("\n".join(describe(result.diagnostics)))
    render_weights(result.coefs, scenario, out)
    print(f"wrote {out}", file=sys.stderr)
    if args.show:
        show_in_a_window(result.coefs, scenario, out)
    return 0


def check_writable(out: Path) -> None:
    """Fail before training when the output cannot possibly be written."""
    from mlp_weights.pipeline.plot import output_format

    if out.exists() and out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a folder; give a file name such as weights.png")
    output_format(out)
    folder = out.parent
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UsageError(f"--out {str(out)!r}: not writable")


def show_in_a_window(coefs, scenario, out: Path) -> None:
    """``--show``: the figure in a window, or where it is when there is no display.

    The figure is drawn into pyplot only when a window can open: a figure
    drawn for a backend without one would stay open in pyplot for nothing.
    """
    import matplotlib

    from mlp_weights.pipeline.plot import render_weights

    backend = matplotlib.get_backend()
    if backend.lower() in ("agg", "pdf", "svg", "ps", "cairo"):
        message = f"--show: no display here (backend {backend}); the figure is in {out}"
        print(message, file=sys.stderr)
        return
    import matplotlib.pyplot as plt

    render_weights(coefs, scenario, fig=plt.figure())
    plt.show()


def add_regen_parser(subparsers) -> None:
    """The ``regen`` subcommand: deliberate rewriting of the baselines."""
    from mlp_weights.baselines.store import REGEN_LAYERS

    regen = subparsers.add_parser(
        "regen", help="deliberately rewrite baseline images, snapshots and manifest"
    )
    regen.set_defaults(handler=cmd_regen)
    regen.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="scenario to regenerate; repeat for several "
        f"(default: the offline ones, {', '.join(OFFLINE_SCENARIOS)})",
    )
    regen.add_argument(
        "--reason",
        metavar="TEXT",
        help="why the baselines change; recorded in the manifest (required unless --dry-run)",
    )
    regen.add_argument(
        "--layer",
        choices=REGEN_LAYERS,
        help="training: refit and rewrite snapshots only; rendering: redraw images from "
        "the stored snapshots only (default: both)",
    )
    for flag, text in (
        ("--dry-run", "show which files would change and by how much; write nothing"),
        (
            "--allow-unpinned",
            "regenerate although scikit-learn, matplotlib or numpy differ from the pins "
            "(recorded in the manifest)",
        ),
    ):
        regen.add_argument(flag, action="store_true", help=text)
    regen.add_argument(
        "--pinned",
        metavar="FILE",
        help="the pins the baselines are made with (default: $MLP_WEIGHTS_PINNED, "
        "else requirements/pinned.txt beside the baseline folder)",
    )
    regen.add_argument("--baseline-dir", metavar="DIR", help=BASELINE_DIR_HELP)
    regen.add_argument("--data-home", metavar="DIR", help="data folder, as for run")
    regen.add_argument("--quiet", action="store_true", help="hide training output")
    add_regen_generation_options(regen)


def add_regen_generation_options(regen) -> None:
    """``regen --generation NAME`` and ``--new-generation NAME --range SPEC --pins FILE``."""
    regen.add_argument(
        "--generation",
        metavar="NAME",
        help="rewrite this generation (LAYER/LABEL, e.g. rendering/mpl-3.7); default: per "
        "layer, the one the installed versions select",
    )
    regen.add_argument(
        "--new-generation",
        metavar="NAME",
        help="declare a new generation LAYER/LABEL and write it; the neighbour's range "
        "narrows in the same write",
    )
    regen.add_argument(
        "--range",
        action="append",
        default=[],
        metavar="SPEC",
        help="with --new-generation: the versions it holds, e.g. 'matplotlib<3.11' "
        "(repeat for another library)",
    )
    regen.add_argument(
        "--pins",
        metavar="FILE",
        help="with --new-generation: the requirements file it is made from, "
        "e.g. requirements/oldest.txt",
    )


def cmd_regen(args) -> int:
    from mlp_weights.baselines.regen import GenerationRequest, regenerate
    from mlp_weights.baselines.store import REGEN_LAYERS, resolve_baseline_dir, scenarios_from_names

    report = regenerate(
        scenarios_from_names(args.scenario, list(OFFLINE_SCENARIOS)),
        resolve_baseline_dir(args.baseline_dir),
        args.reason,
        args.data_home,
        verbose=not args.quiet,
        layers=(args.layer,) if args.layer else REGEN_LAYERS,
        dry_run=args.dry_run,
        allow_unpinned=args.allow_unpinned,
        pinned_file=args.pinned,
        generation=GenerationRequest(args.generation, args.new_generation, args.range, args.pins),
    )
    for line in report.lines():
        print(line)
    return 0


def add_bisect_parser(subparsers) -> None:
    """The ``bisect`` subcommand and its options."""
    from mlp_weights.bisect.process import default_jobs

    bisect = subparsers.add_parser(
        "bisect",
        help="find the release of a library that moved a layer, probing released wheels",
        description="Probe releases of LIBRARY, each in a throwaway environment with the "
        "other packages at their pins, against the committed baselines, and name the "
        "release where the library's layers start to move.",
    )
    bisect.set_defaults(handler=cmd_bisect)
    bisect.add_argument("library", metavar="LIBRARY", help="matplotlib, scikit-learn or numpy")
    bisect.add_argument(
        "--good", metavar="V", help="one end (default: the version the baselines were made with)"
    )
    bisect.add_argument(
        "--bad",
        metavar="V",
        help="the other end, older or newer (default: the newest release that installs here)",
    )
    bisect.add_argument(
        "--scenario",
        action="append",
        dest="scenarios",
        metavar="NAME",
        help="scenario to probe; repeat for several (default: those with baselines and data)",
    )
    for flag, text in (
        ("--pre", "also probe pre-releases between the ends"),
        ("--walk", "probe every release and report every change point, with a version matrix"),
        ("--no-cache", "probe again instead of reusing stored results"),
    ):
        bisect.add_argument(flag, action="store_true", help=text)
    bisect.add_argument(
        "--index-url",
        metavar="URL",
        help="package index (default: $MLP_WEIGHTS_INDEX_URL, else https://pypi.org/simple)",
    )
    bisect.add_argument(
        "--results-dir",
        type=Path,
        metavar="DIR",
        default="mpl-results",
        help="where bisect.json and bisect.md are written (default: %(default)s)",
    )
    bisect.add_argument(
        "--data-home", metavar="DIR", help="data folder, as for run; holds the probe cache"
    )
    bisect.add_argument(
        "--jobs",
        type=positive_int,
        default=default_jobs(),
        metavar="N",
        help="releases probed side by side: a walk's releases, and the two ends of a "
        "binary search (default: the number of cores, here %(default)s)",
    )


def cmd_bisect(args) -> int:
    from dataclasses import fields

    from mlp_weights.bisect.command import BisectRequest, Terminated, run_bisect

    request = BisectRequest(**{f.name: getattr(args, f.name) for f in fields(BisectRequest)})
    try:
        return run_bisect(request)
    except Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return Terminated.exit_code


def add_report_parser(subparsers) -> None:
    """``mlp-weights report RESULTS_DIR``: rebuild verdict.html from a results folder."""
    report = subparsers.add_parser(
        "report",
        help="rebuild verdict.html from the files in a results folder",
        description="Rebuild the self-contained page verdict.html from verdict.json and the "
        "images and fits in RESULTS_DIR (a results folder, e.g. one downloaded from CI).",
    )
    report.set_defaults(handler=cmd_report)
    report.add_argument(
        "results_dir", metavar="RESULTS_DIR", help="the folder that holds verdict.json"
    )


def cmd_report(args) -> int:
    from mlp_weights.report.page import rebuild_page

    print(f"wrote {rebuild_page(args.results_dir)}")
    return 0


def add_generations_parser(sub) -> None:
    """``mlp-weights generations``: the table of generations and its problems."""
    generations = sub.add_parser(
        "generations",
        help="list the baseline generations, which pins files select each, and their problems",
    )
    generations.set_defaults(handler=cmd_generations)
    generations.add_argument("--baseline-dir", metavar="DIR", help=BASELINE_DIR_HELP)


def cmd_generations(args) -> int:
    from mlp_weights.baselines.listing import generations_report
    from mlp_weights.baselines.store import resolve_baseline_dir

    lines, problems = generations_report(resolve_baseline_dir(args.baseline_dir))
    for line in lines:
        print(line)
    for problem in problems:
        print(f"problem: {problem}")
    return 1 if problems else 0
