"""Reading a training change in the seed's words: diagnostics now against the baseline's.

:func:`read_change` compares the diagnostics of a fresh fit
(:func:`mlp_weights.pipeline.diagnostics.diagnose`) with those stored in the
baseline snapshot and says, in one sentence with numbers, what kind of
change it looks like: weights that grew (as with a higher learning rate),
that shrank (as with stronger regularization), that stayed closer to their
random start (as with a lower learning rate), or whose character is
unchanged.

Every threshold below was measured on the two offline scenarios, each
variant fitted with the scenario's own split (1,500 training images for
mnist-sample, 539 for digits) and compared with the seed's settings, on the
pinned stack. Values are variant / seed settings, as "mnist-sample,
digits"; dead units as seed -> variant:

    variant               max |w|     dead units     at init       stable rank  final loss
    learning rate x1.01   1.00, 1.00  3->3, 10->10   1.00, 1.00    1.01, 1.00   0.98, 0.99
    random_state 2        1.06, 1.32  3->1, 10->6    0.98, 0.75    1.09, 1.03   1.01, 0.89
    learning rate x0.1    0.50, 0.41  3->0, 10->3    1.05, 1.33    1.96, 2.00   6.7, 6.7
    learning rate x5      4.2, 5.8    3->35, 10->35  1.19, 0.95    0.16, 0.18   22, 5.3
    alpha 1 (from 1e-4)   0.65, 0.93  3->3, 10->10   0.007, 0.011  0.87, 0.92   6.2, 2.3

A different random start (random_state 2) and a 1% learning-rate change
read as "unchanged in character"; each other variant reads as its own kind,
and each reversed (the variant as baseline) as the opposite kind.
"""

from __future__ import annotations

import math

from mlp_weights.pipeline.diagnostics import LABELS

#: Bands within which a diagnostic counts as unchanged: a ratio now/then
#: (either way) for the ``ratio`` kind, a difference in hidden units as a
#: fraction of them for ``units``. The widest unchanged variant (random_state
#: 2) moved max |w| by 1.32x, the fraction at init by 0.75x, the stable rank
#: by 1.09x, the final loss by 0.89x and dead units by 4 of 40; the nearest
#: changed ones moved max |w| by 0.65x (alpha 1), the fraction at init by
#: 0.011x (alpha 1), the stable rank by 1.96x (learning rate x0.1) and the
#: final loss by 2.3x (alpha 1, digits).
UNCHANGED_BANDS = {
    "max_weight_over_init_bound": ("ratio", 1.5),
    "dead_units": ("units", 0.25),
    "fraction_at_init": ("ratio", 2.0),
    "stable_rank": ("ratio", 1.5),
    "final_loss": ("ratio", 1.5),
}

#: "Grew": max |w| at least this many times the baseline's. Measured 4.2x and
#: 5.8x with a learning rate x5; at most 1.32x for any unchanged variant.
GREW_FACTOR = 2.0
#: "Grew" also when this fraction of the hidden units newly died: a learning
#: rate x5 killed 32 and 25 of 40 more; a new random start changed 2 and 4.
DIED_FRACTION = 0.25
#: "Shrank as with stronger regularization": the fraction of weights still
#: at their initial value fell to at most this share of the baseline's.
#: alpha 1 (from 1e-4) gave 0.007x and 0.011x; unchanged variants 0.75x or more.
SHRANK_FACTOR = 0.5
#: "Stayed closer to the random start": the stable rank grew by this factor
#: (learning rate x0.1: 1.96x and 2.00x; any other variant at most 1.09x), or
#: max |w| fell to at most :data:`STAYED_MAX_FACTOR` of the baseline's
#: (learning rate x0.1: 0.50x and 0.41x; alpha 1, which is not this kind:
#: 0.65x and 0.93x).
STAYED_RANK_FACTOR = 1.5
STAYED_MAX_FACTOR = 0.55


def ratio(now: float, then: float) -> float:
    """``now / then``; 1 when both are 0, infinite when only ``then`` is."""
    if then == 0:
        return 1.0 if now == 0 else math.inf
    return now / then


def outside_band(key: str, now: dict, then: dict) -> bool:
    """Whether diagnostic ``key`` moved beyond :data:`UNCHANGED_BANDS`."""
    kind, width = UNCHANGED_BANDS[key]
    if kind == "units":
        return abs(now[key] - then[key]) > width * then["hidden_units"]
    r = ratio(now[key], then[key])
    return not (1 / width <= r <= width)


#: How :func:`_change` says each diagnostic moved: the phrase around the two
#: values, and their format. Others read ``"<label> 0.123 → 0.456"``.
CHANGE_PHRASES = {
    "max_weight_over_init_bound": ("max |w| {} → {} × initial bound", ".1f"),
    "dead_units": ("dead units {} → {}", ""),
    "fraction_at_init": ("weights still at their initial value {} → {}", ".1%"),
    "stable_rank": ("stable rank {} → {}", ".1f"),
    "min_unit_norm": ("smallest unit norm {} → {}", ".2f"),
    "final_loss": ("final loss {} → {}", ".3g"),
}


def _change(key: str, now: dict, then: dict) -> str:
    """``"max |w| 5.3 → 22.4 × initial bound"`` and the like, for one key."""
    phrase, spec = CHANGE_PHRASES.get(key, (f"{LABELS.get(key, key)} {{}} → {{}}", ".3g"))
    return phrase.format(format(then[key], spec), format(now[key], spec))


def _changes(keys, now: dict, then: dict) -> str:
    return ", ".join(_change(key, now, then) for key in keys)


def kinds_of_change(now: dict, then: dict) -> list[str]:
    """Each kind of change the diagnostics show, as a phrase with numbers."""
    grew = ratio(now["max_weight_over_init_bound"], then["max_weight_over_init_bound"])
    died = now["dead_units"] - then["dead_units"]
    at_init = ratio(now["fraction_at_init"], then["fraction_at_init"])
    rank = ratio(now["stable_rank"], then["stable_rank"])
    phrases = []
    if grew >= GREW_FACTOR or died >= DIED_FRACTION * then["hidden_units"]:
        phrases.append(
            "weights grew as with a higher learning rate: "
            + _changes(("max_weight_over_init_bound", "dead_units"), now, then)
        )
    if at_init <= SHRANK_FACTOR:
        phrases.append(
            "weights shrank as with stronger regularization (a larger alpha): "
            + _changes(("fraction_at_init", "min_unit_norm"), now, then)
        )
    elif at_init >= 1 / SHRANK_FACTOR:
        phrases.append(
            "weights shrank less, as with weaker regularization (a smaller alpha): "
            + _changes(("fraction_at_init", "min_unit_norm"), now, then)
        )
    if rank >= STAYED_RANK_FACTOR or grew <= STAYED_MAX_FACTOR:
        phrases.append(
            "weights stayed closer to their random start, as with a lower learning rate: "
            + _changes(("max_weight_over_init_bound", "stable_rank", "final_loss"), now, then)
        )
    return phrases


def read_change(now: dict | None, then: dict | None, max_abs_change: float | None = None) -> str:
    """One sentence: what the diagnostics say about a fit against the baseline's.

    Parameters
    ----------
    now, then : dict or None
        Diagnostics of the fresh fit and of the baseline snapshot.
    max_abs_change : float, optional
        Largest absolute difference between the two fits' first-layer weights.
    """
    if now is None:
        return "no diagnostics: no fresh fit was made"
    if then is None:
        return (
            "no diagnostics at the baseline (its snapshot predates them; regenerate it "
            "to add them); now: " + summary(now)
        )
    phrases = kinds_of_change(now, then)
    if phrases:
        return "; ".join(phrases)
    moved = [key for key in UNCHANGED_BANDS if outside_band(key, now, then)]
    if moved:
        return "weights changed character: " + _changes(moved, now, then)
    if max_abs_change is None:
        how_far = ""
    elif max_abs_change == 0:
        how_far = "weights are identical; "
    else:
        how_far = f"weights moved by at most {max_abs_change:.2g}; "
    return (
        f"{how_far}their character is unchanged ("
        + _changes(("max_weight_over_init_bound", "dead_units"), now, then)
        + ")"
    )


def summary(diagnostics: dict) -> str:
    """The two headline diagnostics of one fit."""
    d = diagnostics
    return (
        f"max |w| {d['max_weight_over_init_bound']:.1f} × initial bound, "
        f"{d['dead_units']} of {d['hidden_units']} units dead"
    )


def diagnostics_record(
    now: dict | None, then: dict | None, max_abs_change: float | None = None
) -> dict | None:
    """``layers[].diagnostics`` of ``verdict.json``: now, baseline, labels, reading.

    ``None`` when there is no fresh fit (nothing to read).
    """
    if now is None:
        return None
    keys = list(now) + [k for k in (then or {}) if k not in now]
    return {
        "now": dict(now),
        "baseline": {k: then[k] for k in keys if k in then} if then is not None else None,
        "labels": {key: LABELS.get(key, key) for key in keys},
        "reading": read_change(now, then, max_abs_change),
    }
