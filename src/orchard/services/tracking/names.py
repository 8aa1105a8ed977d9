"""Friendly random run names, as MLflow and Azure ML give them (`sincere_tree_42`)."""

from __future__ import annotations

import secrets

_ADJECTIVES = (
    "able",
    "bold",
    "brave",
    "bright",
    "calm",
    "clever",
    "crisp",
    "eager",
    "fair",
    "gentle",
    "happy",
    "keen",
    "kind",
    "lively",
    "lucky",
    "merry",
    "neat",
    "polite",
    "proud",
    "quick",
    "quiet",
    "sharp",
    "shy",
    "sincere",
    "smart",
    "steady",
    "sunny",
    "swift",
    "tidy",
    "wise",
)
_NOUNS = (
    "apple",
    "bird",
    "brook",
    "cloud",
    "cherry",
    "dove",
    "fern",
    "field",
    "fox",
    "grape",
    "hill",
    "lake",
    "leaf",
    "lemon",
    "maple",
    "meadow",
    "moon",
    "oak",
    "owl",
    "pear",
    "pine",
    "plum",
    "rain",
    "river",
    "seed",
    "sky",
    "stone",
    "tree",
    "wave",
    "willow",
)


def random_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}_{secrets.randbelow(1000)}"
