"""Near-duplicate texts: MinHash over word shingles.

Two items are near-duplicates when their title-and-lead texts share most of
their *shingles*: every run of three consecutive words, after folding (case,
accents and punctuation ignored, `feeds.fold`). The share is the Jaccard
similarity |A ∩ B| / |A ∪ B| of the two shingle sets: wire copy with a few
words changed keeps most shingles, a reworded headline over the same lead
keeps the lead's, while two articles about the same topic share only the odd
phrase ("the convention on cluster munitions").

Storing every shingle set would be heavy, so each item keeps a MinHash
signature: for each of 64 fixed hash functions, the smallest hash among its
shingles. Two sets agree on one such minimum with probability equal to their
Jaccard similarity, so the fraction of the 64 that agree estimates it (within
about ±0.06 near the threshold). Texts with fewer than `MIN_SHINGLES` shingles
(a bare headline) get no signature: too short to tell wire copy from a
common phrase ("Lithuania to withdraw from the Convention on Cluster
Munitions" and "Poland to withdraw from …" share six of eight shingles).

A translated lead is out of scope: it shares no shingles. Items in different
languages about the same event are grouped by event threads instead
(`bot.stories`).
"""

from __future__ import annotations

import hashlib
import random
import struct

from feeds.fold import FOLDED_WORD, fold

SHINGLE_WORDS = 3
PERMUTATIONS = 64
MIN_SHINGLES = 8
_PRIME = (1 << 61) - 1  # a Mersenne prime: (a·x + b) mod p permutes [0, p)
# Fixed coefficients: signatures stored today must compare with tomorrow's.
_COEFFICIENTS = [
    (rng.randrange(1, _PRIME), rng.randrange(0, _PRIME))
    for rng in [random.Random(20261127)]
    for _ in range(PERMUTATIONS)
]
_PACK = struct.Struct(f">{PERMUTATIONS}Q")
SIGNATURE_BYTES = _PACK.size


def shingles(text: str) -> set[int]:
    """64-bit hashes of every run of `SHINGLE_WORDS` folded words."""
    words = FOLDED_WORD.findall(fold(text))
    return {
        int.from_bytes(
            hashlib.blake2b(
                " ".join(words[i : i + SHINGLE_WORDS]).encode(), digest_size=8
            ).digest()
        )
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def signature(title: str, summary: str) -> bytes | None:
    """The MinHash signature of an item's text, or None when it is too short."""
    hashes = shingles(f"{title}\n{summary}")
    if len(hashes) < MIN_SHINGLES:
        return None
    return _PACK.pack(
        *(min((a * x + b) % _PRIME for x in hashes) for a, b in _COEFFICIENTS)
    )


def similarity(first: bytes, second: bytes) -> float:
    """Estimated Jaccard similarity of the two texts behind two signatures."""
    a: tuple[int, ...] = _PACK.unpack(first)
    b: tuple[int, ...] = _PACK.unpack(second)
    agree: int = sum(x == y for x, y in zip(a, b, strict=True))
    return agree / PERMUTATIONS


def jaccard(first: str, second: str) -> float:
    """The exact similarity the signatures estimate (for tests and tuning)."""
    a, b = shingles(first), shingles(second)
    return len(a & b) / len(a | b) if a | b else 0.0
