"""How a picture of the weight grid moved, in words.

:func:`read_change` reads a failing image against its baseline as records (JSON-able dicts), one
per kind of change found: size (then nothing else), layout, frames, tones, shift, resampling,
content; :func:`describe` says them in one line. ``docs/picture.md`` tells how, and lists the
measured cases behind the thresholds.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

#: Pixels a frame edge moves in a layout change. Measured: 4 pt spines put the line's centre
#: 0.5 px from 0.8 pt ones; subplots_adjust(left=0.127), the least move tried, moves it 1.0 px.
LAYOUT_PX = 0.75
#: Slack of a tone map in levels: vmin/vmax x1.001 sends one level to itself and to itself + 2.
TONE_LEVELS = 2
#: Share of the differing pixels inside the frames a tone map must explain. Measured: 0.988
#: (vmin/vmax x1.001) to 1.000 (gamma 1.01, gray_r); others 0.62 at most, 3.7 vs 3.11 0.015.
TONES_SHARE = 0.9
#: Levels a tone map may run against its direction. Measured: 0 for every tone change; 3 or
#: more for every filter change and for a grey scale with a band of 16 levels reversed.
TONE_ORDER_LEVELS = 1
#: Share of a panel's differing pixels a tone map may leave unexplained. Measured: 0.012 at most.
RESIDUE_SHARE = 0.05
#: Panels a tone map changes, at least: a grey scale acts wherever its levels are. Measured: 3
#: (gamma 1.01 in 3 panels) to 16; a weight moved one or two levels changes 1.
TONES_PANELS = 2
#: Share of cell edges a shift leaves in place (same colours both sides). Measured: 0.000 for
#: offsets of 1.5 and 3 px and a rolled row; 0.17 or more in 3.11 panels that seem offset.
SHIFT_STAY = 0.05
#: Share of differing pixels still differing once the shift is undone. Measured: 0.23 at most
#: for shifts; 1.0 or more for bilinear smoothing.
SHIFT_RESIDUE = 0.5
#: Share of differing pixels whose colour the baseline has within 1 (or 2) px. Measured: 0.94
#: or more in every 3.11 panel; 0.48 at most for a filter change, 0.05 for new weights.
NEAR_SHARE = 0.8
#: Correlation with the baseline panel from which a panel may be a smoothed or sharpened copy.
#: Measured: 0.84 (bilinear) or more for filter changes; -0.04 for shuffled weights.
BLUR_STRUCTURE = 0.7
#: Share of the squared difference a blur of the sharper side removes. Measured: 0.21
#: (spline16 vs spline36) to 0.99 (bilinear) for filters; 0.03 at most for weights changed.
BLUR_GAIN = 0.15
#: Blurs tried: Gaussian sigma in pixels.
SIGMAS = (0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0)
#: Each pixel against the next one down, then the next one right.
_NEXT = (((slice(1, None),), (slice(-1),)), ((..., slice(1, None)), (..., slice(-1))))
#: What each kind (or way of resampling) says, filled from its record.
WORDS = {
    "size": "image is {result[0]}x{result[1]} px, was {baseline[0]}x{baseline[1]} px",
    "shift": "panel contents offset {ways} inside their frames",
    "layout": "panel boxes moved by up to {moved_px} px, resized by up to {resized_px} px",
    "frames": "frame lines changed by up to {largest_change} levels, {line_px[0]}->{line_px[1]} px",
    "tones": "grey levels remapped by one monotonic map, by up to {largest_change} levels",
    "boundaries": "panel contents redrawn on other pixel boundaries, moved by up to {moved_px} px",
    "smoothed": "panel contents smoothed, as by a Gaussian blur of sigma up to {sigma_px:g} px",
    "sharpened": "panel contents sharpened, undoing a Gaussian blur of sigma up to {sigma_px:g} px",
    "content": "what the panels show differs ({pixels} pixels)",
}
_WAYS = (("right", "left"), ("down", "up"))


class Box(NamedTuple):
    """A panel's box in image pixels: x to the right, y down, edges as floats."""

    x0: float
    y0: float
    x1: float
    y1: float


def panel_boxes(fig) -> list[Box]:
    """The boxes of ``fig``'s axes (saved at its own dpi) in image pixels, rows from the top."""
    h, extents = fig.bbox.height, (ax.get_window_extent() for ax in fig.axes)
    return [Box(float(e.x0), float(h - e.y1), float(e.x1), float(h - e.y0)) for e in extents]


class _Panel(NamedTuple):
    outer: tuple  # rows r0..r1, columns c0..c1 of the blob, inclusive
    edges: tuple  # top, bottom, left, right: centres of the frame lines
    inner: tuple  # the blob inside its frame lines
    line: float  # frame line width in pixels of ink


def _codes(image) -> np.ndarray:
    """One uint32 per pixel (its RGBA bytes) of a uint8 RGB(A) image."""
    image = np.asarray(image)
    if image.shape[-1] == 3:
        image = np.concatenate([image, np.full(image.shape[:2] + (1,), 255)], axis=-1)
    return np.ascontiguousarray(image, dtype=np.uint8).view(np.uint32)[..., 0]


def _channels(code):  # red, green and blue levels of colour codes
    code = np.asarray(code).astype(np.int64)
    return code & 255, code >> 8 & 255, code >> 16 & 255


def _blobs(code, boxes):
    """Bounding boxes of the non-background blobs, matched to ``boxes`` by centre."""
    labels, _ = ndimage.label(code != code[0, 0])
    least, found = 0.25 * min([(b.x1 - b.x0) * (b.y1 - b.y0) for b in boxes] or [0]), []
    for r, c in ndimage.find_objects(labels):
        if (r.stop - r.start) * (c.stop - c.start) >= least:
            found.append((r.start, r.stop - 1, c.start, c.stop - 1))
    matched = [None] * len(boxes)
    want = np.array([((b.y0 + b.y1) / 2, (b.x0 + b.x1) / 2) for b in boxes]).reshape(-1, 2)
    have = np.array([((f[0] + f[1]) / 2, (f[2] + f[3]) / 2) for f in found]).reshape(-1, 2)
    for r, c in zip(*linear_sum_assignment(np.abs(want[:, None] - have[None]).sum(-1))):
        matched[r] = found[c]
    return matched


def _frame_line(codes, background):
    """The frame at the start of a strip (lines x samples): lines, centre, ink width.

    A frame is the run of uniform lines to the end of its solid part. Agg draws both partly
    covered sides of a line alike (measured: 0.055 and 0.056 ink at 0.8 pt, 0.78 at 4 pt).
    """
    uniform = int(np.argmin(np.append((codes[:12] == codes[:12, :1]).all(1), False)))
    away = sum(abs(x - y) for x, y in zip(_channels(codes[:uniform, 0]), _channels(background)))
    if uniform == 0 or away.max() == 0:
        return 0, 0.0, 0.0
    solid = away >= 0.9 * away.max()
    first = int(np.argmax(solid))
    n = first + int(np.argmin(np.append(solid[first:], False)))
    side = away[first - 1] / away.max() if first else 0.0
    return n, (first + n - 1) / 2, float(n - first + 2 * side)


def _panel(code, outer):
    r0, r1, c0, c1 = outer
    rows = slice(r0 + (r1 - r0) // 8, r1 - (r1 - r0) // 8)
    cols = slice(c0 + (c1 - c0) // 8, c1 - (c1 - c0) // 8)
    down, across = code[r0 : r1 + 1, cols], code[rows, c0 : c1 + 1].T
    (nt, ct, wt), (nb, cb, wb), (nl, cl, wl), (nr, cr, wr) = (
        _frame_line(x, code[0, 0]) for x in (down, down[::-1], across, across[::-1])
    )
    edges, inner = (r0 + ct, r1 - cb, c0 + cl, c1 - cr), (r0 + nt, r1 - nb, c0 + nl, c1 - nr)
    return _Panel(outer, edges, inner, float(np.median([wt, wb, wl, wr])))


def _layout(pa, pb):
    """The layout record (or None) and the panels to compare: (index, offset)."""
    changed, moved, resized, comparable, missing = [], 0.0, 0.0, [], []
    for i, (a, b) in enumerate(zip(pa, pb)):
        if a is None or b is None:
            changed, missing = changed + [i], missing + [i]
            continue
        top, bottom, left, right = np.subtract(b.edges, a.edges)
        size = max(abs(bottom - top), abs(right - left))
        if max(abs(top), abs(bottom), abs(left), abs(right)) >= LAYOUT_PX:
            changed.append(i)
            moved = max(moved, abs(top + bottom) / 2, abs(left + right) / 2)
            resized = max(resized, size)
        if size < LAYOUT_PX:
            comparable.append((i, (round((top + bottom) / 2), round((left + right) / 2))))
    record = {"kind": "layout", "panels": changed, "moved_px": round(moved)}
    record.update({"resized_px": round(resized)}, **({"missing": missing} if missing else {}))
    return (record if changed else None), comparable


def _rect(ra, rb, off, inset=0, grow=False):
    """Rectangle ``ra`` met with (or grown to take in) ``rb`` moved back by ``off``."""
    rb = np.subtract(rb, np.repeat(off, 2))
    lo, hi = (np.minimum, np.maximum) if grow else (np.maximum, np.minimum)
    return tuple(int(x) for x in np.where([1, 0, 1, 0], lo(ra, rb) + inset, hi(ra, rb) - inset))


def _crop(code, rect, off=(0, 0)):
    r0, r1, c0, c1 = np.add(rect, np.repeat(off, 2))
    return code[r0 : r1 + 1, c0 : c1 + 1]


def _frames(a, b, pa, pb, comparable):
    """The frames record (or None) and each comparable panel inside its frame: (i, a, b)."""
    panels, largest, lines, pairs = [], 0, [], []
    for i, off in comparable:
        outer = _rect(pa[i].outer, pb[i].outer, off, grow=True)
        levels = zip(_channels(_crop(a, outer)), _channels(_crop(b, outer, off)))
        diff = np.max([abs(x - y) for x, y in levels], axis=0)
        r0, r1, c0, c1 = np.subtract(_rect(pa[i].inner, pb[i].inner, off), np.repeat(outer[::2], 2))
        inside = diff[r0 : r1 + 1, c0 : c1 + 1] > 0
        ring = inside.sum() - inside[1:-1, 1:-1].sum()
        diff[r0 : r1 + 1, c0 : c1 + 1] = 0
        inner = _rect(pa[i].inner, pb[i].inner, off, inset=1)
        pairs.append((i, _crop(a, inner), _crop(b, inner, off)))
        # The line just inside a frame blends it over the weights: a change there alone is its.
        if diff.any() or (ring and np.array_equal(pairs[-1][1], pairs[-1][2])):
            panels.append(i)
            largest = max(largest, int(diff.max()))
            lines.append((pa[i].line, pb[i].line))
    line = [round(float(x), 1) for x in np.median(lines or [(0, 0)], axis=0)]
    record = {"kind": "frames", "panels": panels, "largest_change": largest, "line_px": line}
    return (record if panels else None), pairs


def _broken(ca, cb):
    """Pixels with a 4-neighbour of the same colour in ``ca`` but not in ``cb`` (codes)."""
    out = np.zeros(ca.shape, bool)
    for one, two in _NEXT:
        split = (ca[one] == ca[two]) & (cb[one] != cb[two])
        out[one] |= split
        out[two] |= split
    return out


def _tones(pairs):
    """The tones record (or None), and the pairs with what it explains made equal; the map sends
    each baseline colour to its most common result colour (in grey, read on one channel)."""
    a, b = (np.concatenate([p[k].ravel() for p in pairs]) for k in (1, 2))
    (ar, ag, ab), values = _channels(a), _channels(b)
    keys, inv = np.unique(a, return_inverse=True)
    table, k = np.stack(_channels(keys), -1), len(keys)
    maps = [np.bincount(inv * 256 + v, minlength=k * 256).reshape(k, 256).argmax(1) for v in values]
    close = np.logical_and.reduce([abs(v - m[inv]) <= TONE_LEVELS for v, m in zip(values, maps)])
    broken = np.concatenate([_broken(p[1], p[2]).ravel() for p in pairs])
    differ = a != b
    explained = differ & ~broken & close
    present = np.bincount(inv, minlength=k) > 0
    step = np.diff(sum(maps)[present][np.argsort(table[present].sum(-1), kind="stable")])
    drop, climb = ((-step).clip(0).max(), step.clip(0).max()) if len(step) else (0, 0)
    bounds = np.cumsum([0] + [p[1].size for p in pairs])
    spread = sum(bool(explained[x:y].any()) for x, y in zip(bounds, bounds[1:]))
    held = explained.sum() >= TONES_SHARE * differ.sum() and spread >= TONES_PANELS
    if not held or min(drop, climb) / len(maps) > TONE_ORDER_LEVELS:
        return None, pairs
    out, panels = [], []
    # Once the map holds it takes every pixel within its slack (cells of one level split too).
    for (i, pa, pb), x, y in zip(pairs, bounds, bounds[1:]):
        here = (differ & close)[x:y].reshape(pa.shape)
        panels += [i] if here.any() else []
        out.append((i, np.where(here, pb, pa), pb))
    largest = max(int(abs(x - y)[explained].max()) for x, y in zip((ar, ag, ab), values))
    record = {"kind": "tones", "panels": panels, "largest_change": largest}
    return dict(record, reversed=bool(drop > climb)), out


def _peak(a, b):
    """Whole-pixel offset (dy, dx) of ``b`` against ``a``: windowed FFT phase correlation."""
    h, w = a.shape
    window = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    cross = np.fft.rfft2((b - b.mean()) * window) * np.conj(np.fft.rfft2((a - a.mean()) * window))
    corr = np.fft.irfft2(cross / (np.abs(cross) + 1e-9), s=a.shape)
    dy, dx = np.unravel_index(np.argmax(corr), a.shape)
    return int(dy - h if dy > h // 2 else dy), int(dx - w if dx > w // 2 else dx)


def _residue(ca, cb, off):
    """Share of pixels differing where ``ca`` moved by ``off`` meets ``cb`` (codes)."""
    (dy, dx), (h, w) = off, ca.shape
    ra = ca[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    rb = cb[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)]
    return float((ra != rb).mean()) if ra.size else 1.0


def _shift(ga, gb, ca, cb):
    """Offset (dy, dx) in pixels when ``cb`` is ``ca`` moved, else None; tenths from how the
    differing pixels split between the nearest whole offsets (1.5 px draws cells 1 or 2 px on)."""
    off = _peak(ga, gb)
    here = _residue(ca, cb, off)
    if off == (0, 0) or here > SHIFT_RESIDUE * (ca != cb).mean():
        return None
    for axis, (one, two) in enumerate(_NEXT):
        edge = ca[one] != ca[two]
        kept = edge & (ca[one] == cb[one]) & (ca[two] == cb[two])
        if off[axis] and kept.sum() > SHIFT_STAY * edge.sum():
            return None
    tenths = []
    for axis, step in enumerate(np.eye(2, dtype=int)):
        up, down = _residue(ca, cb, tuple(off + step)), _residue(ca, cb, tuple(off - step))
        share = here / (here + min(up, down)) if off[axis] and here > 0 else 0.0
        tenths.append(round(off[axis] + (share if up <= down else -share), 1))
    return tuple(tenths)


def _near(ca, cb, differ):
    """Pixels (1 or 2) within which ``ca`` has each differing colour of ``cb``; 0 if not."""
    (h, w), found = ca.shape, np.zeros(ca.shape, bool)
    for reach in (1, 2):
        pad = np.pad(ca, reach, mode="edge")
        for dy, dx in np.ndindex(2 * reach + 1, 2 * reach + 1):
            found |= pad[dy : dy + h, dx : dx + w] == cb
        if (found & differ).sum() >= NEAR_SHARE * differ.sum():
            return reach
    return 0


def _blur(ga, gb):
    """Smoothed or sharpened (less gradient energy), the share a blur removes, its sigma."""
    energy = [sum(float((np.diff(g, axis=k) ** 2).sum()) for k in (0, 1)) for g in (ga, gb)]
    how, sharp, soft = ("smoothed", ga, gb) if energy[1] < energy[0] else ("sharpened", gb, ga)
    total, best = float(((soft - sharp) ** 2).sum()), (0.0, 0.0)
    for sigma in SIGMAS:
        blurred = ndimage.gaussian_filter(sharp, sigma, mode="nearest", truncate=3)
        best = max(best, (1 - float(((soft - blurred) ** 2).sum()) / total, sigma))
    return how, *best


def _read_panel(ca, cb):
    """One panel's change as (kind, how, figure), or None when it shows the same."""
    differ = ca != cb
    if not differ.any():
        return None
    ga, gb = (sum(_channels(c)).astype(np.float32) / 3 for c in (ca, cb))
    if (shift := _shift(ga, gb, ca, cb)) is not None:
        return "shift", None, shift
    if reach := _near(ca, cb, differ):
        return "resampling", "boundaries", reach
    if min(ga.std(), gb.std()) > 0 and np.corrcoef(ga.ravel(), gb.ravel())[0, 1] >= BLUR_STRUCTURE:
        how, gain, sigma = _blur(ga, gb)
        if gain >= BLUR_GAIN:
            return "resampling", how, sigma
    return "content", None, int(differ.sum())


def _gather(readings, outside):
    """Records for the panels' readings {i: (kind, how, figure)} and the pixels outside panels."""
    groups = {("content", None): []} if outside else {}
    for i, (kind, how, figure) in sorted((i, r) for i, r in readings.items() if r):
        groups.setdefault((kind, tuple(np.sign(figure)) if kind == "shift" else how), []).append(i)
    records = []
    for (kind, how), panels in groups.items():
        figures = [readings[i][2] for i in panels]
        if kind == "shift":
            dy, dx = (round(float(x), 1) for x in np.median(figures, axis=0))
            figures = {"dx": dx, "dy": dy}
        elif kind == "content":
            figures = {"pixels": sum(figures), "outside_pixels": outside}
        else:  # resampling: cells moved (px), or the blur between the two (sigma, px), at most
            figures = {"how": how, "moved_px" if how == "boundaries" else "sigma_px": max(figures)}
        records.append({"kind": kind, "panels": panels, **figures})
    return sorted(records, key=lambda r: r["kind"] == "content")


def read_change(baseline, result, boxes) -> list[dict]:
    """How ``result`` differs from ``baseline``: one record per kind, ``[]`` when the same.

    Parameters
    ----------
    baseline, result : ndarray
        Images as read from the PNGs: uint8 RGB or RGBA.
    boxes : list of Box
        The figure's panels (:func:`panel_boxes`); each image's are the blobs nearest them.

    Returns
    -------
    list of dict
        ``"kind"`` and its figures, kinds in the module's order; records about panels name them
        (``"panels"``: indices into ``boxes``) and their number (``"of"``).
    """
    ca, cb = _codes(baseline), _codes(result)
    if ca.shape != cb.shape:
        return [{"kind": "size", "baseline": list(ca.shape[::-1]), "result": list(cb.shape[::-1])}]
    if np.array_equal(ca, cb):
        return []
    pa, pb = ([None if o is None else _panel(c, o) for o in _blobs(c, boxes)] for c in (ca, cb))
    layout, comparable = _layout(pa, pb)
    frames, pairs = _frames(ca, cb, pa, pb, comparable)
    tones, rest = _tones(pairs) if pairs else (None, pairs)
    readings = {}
    for (i, before, after), (_, left, _) in zip(pairs, rest):
        if tones is None or (left != after).sum() > RESIDUE_SHARE * (before != after).sum():
            readings[i] = _read_panel(left, after)
    outside = ca != cb
    for p in filter(None, pa + pb):
        outside[p.outer[0] : p.outer[1] + 1, p.outer[2] : p.outer[3] + 1] = False
    records = [r for r in (layout, frames, tones) if r] + _gather(readings, int(outside.sum()))
    return [dict(r, of=len(boxes)) if "panels" in r else r for r in records]


def describe(records) -> str:
    """One short line in words for the records of :func:`read_change` ("no change" for none)."""
    same_frames = not any(r["kind"] in ("layout", "frames") for r in records)
    lines = []
    for r in records:
        panels, where = r.get("panels", []), []
        if panels:
            named = f"panel{'s' * (len(panels) > 1)} {', '.join(map(str, panels))} of {r['of']}"
            where.append(f"{len(panels)} of {r['of']} panels" if len(panels) > 3 else named)
        if same_frames and r["kind"] in ("tones", "shift", "resampling"):
            where.append("frames unchanged")
        if r.get("outside_pixels"):
            where.append(f"{r['outside_pixels']} pixels outside the panels")
        if r.get("missing"):
            where.append(f"{len(r['missing'])} not found in one image")
        ways = [f"{abs(v):g} px {w[v < 0]}" for v, w in zip((r.get("dx"), r.get("dy")), _WAYS) if v]
        words = WORDS[r.get("how", r["kind"])].format(**r, ways=" and ".join(ways))
        words += ", reversed" if r.get("reversed") else ""
        lines.append(f"{r['kind']}: {words}" + (f" ({', '.join(where)})" if where else ""))
    return "; ".join(lines) or "no change"
