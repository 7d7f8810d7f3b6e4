"""Regenerate docs/verdict-page.png, the README's picture of a failing verdict page.

The README's picture is the page of the oldest stack (matplotlib 3.7.0)
forced to compare with the images matplotlib 3.11.2 drew (its own
generation, ``rendering/mpl-3.7``, holds):

    tox -e oldest --notest
    .tox/oldest/bin/python -m pytest -m layer --mlp-generation rendering/mpl-3.11 \
        --mpl-results-path=mpl-results/oldest-forced
    python docs/make_screenshot.py --results mpl-results/oldest-forced

Without ``--results``, it makes its own failing run first: the layer tests
of the offline scenarios with training changed the way the self-test
changes it (``--mlp-inject training``: scikit-learn's learning rate 1% off),
into a temporary folder. Either way it photographs the top of the folder's
``verdict.html`` in headless Chromium (with ``--results``, the page is
rebuilt first, as ``mlp-weights report`` does).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "verdict-page.png"
#: The browser window: wide enough for three images side by side, tall
#: enough for the header and the first failure (training, with its figures).
WINDOW = (1300, 1500)
BROWSERS = ("chromium-headless-shell", "chrome-headless-shell", "chromium", "google-chrome")
#: Colours kept in the PNG: the page is mostly flat colour and grey levels,
#: and 256 keep it legible at about a third of the bytes.
COLOURS = 256


def failing_run(results: Path) -> Path:
    """A real failing run of the layer tests; the path of its page."""
    command = [
        sys.executable, "-m", "pytest", "-m", "layer", "-k", "digits or sample", "-q",
        "-p", "no:cacheprovider", "--mlp-inject=training", f"--mpl-results-path={results}",
    ]  # fmt: skip
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    page = results / "verdict.html"
    if run.returncode != 1 or not page.exists():
        sys.exit(f"expected a failing run with a page, got exit {run.returncode}:\n{run.stdout}")
    return page


def photograph(page: Path, browser: str, out: Path) -> None:
    width, height = WINDOW
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--window-size={width},{height}", f"--screenshot={out}", page.resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(command, capture_output=True, check=True, timeout=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", help="Chromium or Chrome (default: the first found)")
    parser.add_argument("--out", type=Path, default=OUT, help="PNG to write (default: %(default)s)")
    parser.add_argument(
        "--results", type=Path, help="a results folder with a failing verdict.html to photograph"
    )
    args = parser.parse_args()
    browser = args.browser or next(filter(None, map(shutil.which, BROWSERS)), None)
    if browser is None:
        sys.exit("no Chromium or Chrome found; install chromium-headless-shell or pass --browser")
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        if args.results:
            from mlp_weights.core.errors import MLPWeightsError
            from mlp_weights.report.page import rebuild_page

            # The page as today's template draws it, from the folder's verdict.
            try:
                page = rebuild_page(args.results)
            except MLPWeightsError as exc:
                sys.exit(str(exc))
        else:
            page = failing_run(Path(folder) / "results")
        shot = Path(folder) / "shot.png"
        photograph(page, browser, shot)
        with Image.open(shot) as image:
            image.convert("RGB").quantize(COLOURS).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
