"""Which segmentation to trust for one image: the general segmenter's or a person segmenter's.

``general`` mode runs a cheap person segmenter (MediaPipe selfie, 256², ~3 ms) beside u2netp and
:func:`decide` picks one of the two probabilities per image, from signals of the two masks
(each thresholded at 0.5, compared on the general probability's grid):

``iou``                 intersection over union of the two masks.
``general_in_person``   the fraction of the general mask inside the person mask (1 when the
                        general mask is empty): do both talk about the same subject?
``person_missed``       the fraction of the person model's *confident* core (p ≥ 0.9) that the
                        general mask leaves out: how much of the person u2netp did not find.
``person_unsure``       pixels with 0.1 < p < 0.9 per pixel of the person mask: the person
                        model hedges (high on animals and objects it half-recognises).
``person_coverage``     the fraction of the image the person mask covers.

The rule (:class:`RouteRule`): trust the person model when it sees a person with confidence
(coverage ≥ 1 %, unsure ≤ 0.35), the general mask lies inside that person (≥ 0.75), and the
general mask misses a large part of it (≥ 0.25). Otherwise keep the general segmenter: where the
two agree, u2netp's edges are the better ones (measured: 9 of the 11 agreeing GT images), and where
the person model is unsure or looks elsewhere, the subject is most likely not a person.

Why this rule and these numbers (``bench/eval_route.py`` prints the signals and the per-image
SAD for every GT image): on the shared GT images u2netp fails badly once
(p3m_p_514ca06a__on_GT26r: it finds the hair and misses the face and body, person_missed 0.66);
the other eleven have person_missed ≤ 0.04. The thresholds sit in those wide gaps, not at
values fitted to the data. Fusions per pixel (mean, confidence-weighted mean, union, cutting
u2netp where the person model is sure of background) were measured too and rejected: they
help one portrait and make the GT05 toy up to 1.7× worse.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, Optional

import numpy as np

__all__ = ["Route", "RouteRule", "decide", "route_signals"]


@dataclass(frozen=True)
class RouteRule:
    """Thresholds of :func:`decide` (see the module docstring)."""

    min_person_coverage: float = 0.01
    max_person_unsure: float = 0.35
    min_general_in_person: float = 0.75
    min_person_missed: float = 0.25
    core: float = 0.9  # the person model's confident core: p >= core


@dataclass
class Route:
    """One decision: ``choice`` is "general" or "person"; ``probability`` the one to use (on its
    own network grid); ``signals`` the numbers it was made from; ``reason`` in words."""

    choice: str
    probability: np.ndarray
    signals: Dict[str, float] = field(default_factory=dict)
    reason: str = ""

    def info(self, general: str, person: str) -> Dict[str, object]:
        """What ``CutoutResult.info["route"]`` holds: the model used, the decision, the signals."""
        return {
            "model": person if self.choice == "person" else general,
            "choice": self.choice,
            "general": general,
            "person": person,
            "reason": self.reason,
            "signals": {k: round(float(v), 4) for k, v in self.signals.items()},
        }


def _on_grid(p: np.ndarray, shape) -> np.ndarray:
    p = np.ascontiguousarray(p, np.float32)
    if p.shape == tuple(shape):
        return p
    from .. import ops

    return np.clip(ops.resize(p, tuple(shape), method="bilinear"), 0.0, 1.0)


def route_signals(general: np.ndarray, person: np.ndarray, core: float = 0.9) -> Dict[str, float]:
    """The signals of the module docstring for two (h, w) probabilities in [0, 1] (the person
    probability is resized, bilinear, to the general one's grid when they differ)."""
    g = np.asarray(general, np.float32)
    p = _on_grid(person, g.shape)
    gm, pm = g > 0.5, p > 0.5
    pcore = p >= core
    n_g, n_p, n_core = int(gm.sum()), int(pm.sum()), int(pcore.sum())
    inter, union = int((gm & pm).sum()), int((gm | pm).sum())
    unsure = int(((p > 0.1) & (p < 0.9)).sum())
    return {
        "iou": inter / union if union else 1.0,
        "general_in_person": inter / n_g if n_g else 1.0,
        "person_missed": int((pcore & ~gm).sum()) / n_core if n_core else 0.0,
        "person_unsure": unsure / n_p if n_p else float(unsure > 0) * 1e3,
        "person_coverage": n_p / pm.size,
        "general_coverage": n_g / gm.size,
    }


def decide(general: np.ndarray, person: np.ndarray, rule: Optional[RouteRule] = None) -> Route:
    """Pick the general or the person probability for one image (see the module docstring).

    Parameters
    ----------
    general, person : (h, w) float32 probabilities in [0, 1] of the general segmenter and of the
        person segmenter, each on its own network grid (stretched over the whole image).
    rule : the thresholds (default :class:`RouteRule`).

    Examples
    --------
    >>> g = np.zeros((64, 64), np.float32); g[10:20, 20:40] = 1      # u2netp: the hair only
    >>> p = np.zeros((32, 32), np.float32); p[5:32, 8:24] = 1        # the person model: all of it
    >>> decide(g, p).choice
    'person'
    >>> decide(p.repeat(2, 0).repeat(2, 1), p).choice                # they agree: u2netp's edges
    'general'
    """
    rule = rule or RouteRule()
    s = route_signals(general, person, rule.core)
    if s["person_coverage"] < rule.min_person_coverage:
        return Route(
            "general",
            general,
            s,
            "no person: the person mask covers "
            f"{s['person_coverage']:.1%} < {rule.min_person_coverage:.0%} of the image",
        )
    if s["person_unsure"] > rule.max_person_unsure:
        return Route(
            "general",
            general,
            s,
            f"the person model is unsure ({s['person_unsure']:.2f} > {rule.max_person_unsure}): likely not a person",
        )
    if s["general_in_person"] < rule.min_general_in_person:
        return Route(
            "general",
            general,
            s,
            f"the subjects differ: {s['general_in_person']:.0%} of the general "
            f"mask lies inside the person (< {rule.min_general_in_person:.0%})",
        )
    if s["person_missed"] < rule.min_person_missed:
        return Route(
            "general",
            general,
            s,
            f"they agree (the general mask misses {s['person_missed']:.0%} of the person): the general model's edges",
        )
    return Route(
        "person",
        person,
        s,
        f"the general mask misses {s['person_missed']:.0%} of a confident person "
        f"(>= {rule.min_person_missed:.0%}) and lies inside it",
    )


def rule_dict(rule: Optional[RouteRule] = None) -> Dict[str, float]:
    """The thresholds as a plain dict (for reports)."""
    return asdict(rule or RouteRule())
