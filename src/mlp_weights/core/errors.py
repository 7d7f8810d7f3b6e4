"""Exceptions that carry a one-line message meant for the user.

The command-line tool prints ``str(error)`` of these and exits; anything
else is a bug and keeps its traceback.
"""


class MLPWeightsError(Exception):
    """Base class: a failure the user can act on, described in one line."""

    exit_code = 1


class UsageError(MLPWeightsError):
    """Bad input from the user (a value, a name, a path)."""

    exit_code = 2


class DataUnavailableError(MLPWeightsError):
    """A dataset could be neither read from a cache nor fetched."""


class BaselineError(MLPWeightsError):
    """A baseline file (image, snapshot, manifest) is missing or unreadable."""


class MissingBaselineError(BaselineError):
    """A baseline file that should exist does not (or has no entry for the scenario)."""


class DamagedBaselineError(BaselineError):
    """A baseline file exists but cannot be read (truncated, wrong format, too new)."""


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` with its line breaks turned into spaces, for a one-line message.

    With ``limit``, runs of white space become one space and the text is cut
    to ``limit`` characters, ending in ``...``.

    >>> one_line("no route\\nto host")
    'no route to host'
    >>> one_line("a   b\\n c", limit=4)
    'a...'
    """
    if limit is None:
        return " ".join(str(text).splitlines())
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
