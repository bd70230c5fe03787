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
from collections.abc import Iterable

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


def _lanes(value: int, width: int) -> int:
    """`value` in each of PERMUTATIONS lanes of `width` bits, as one integer."""
    return int.from_bytes(value.to_bytes(width // 8) * PERMUTATIONS)


# The 64 hash functions at once: with a_i and b_i in 128-bit lanes (the first
# function in the top lane), A·x + B holds every a_i·x + b_i (< 2**126, so no
# lane spills into the next) after one multiplication. Each lane is then
# reduced mod p = 2**61 - 1 without dividing, as 2**61 ≡ 1: y ≡ (y mod 2**61)
# + (y >> 61), twice, gives a value below p + 32, and p is taken off the few
# lanes that reach it. A bit-for-bit match of the plain formula, a few
# big-integer operations per shingle instead of 64 multiplications and
# divisions (tests/test_neardup.py holds the two to each other).
_WIDE = 128
_BELOW = 1 << 64
_A = int.from_bytes(b"".join(a.to_bytes(16) for a, _ in _COEFFICIENTS))
_B = int.from_bytes(b"".join(b.to_bytes(16) for _, b in _COEFFICIENTS))
_LOW61 = _lanes((1 << 61) - 1, _WIDE)
_LOW65 = _lanes((1 << 65) - 1, _WIDE)
_LOW5 = _lanes(31, _WIDE)
_ONES = _lanes(1, _WIDE)
_WIDE_PACK = struct.Struct(f">{2 * PERMUTATIONS}Q")  # each lane's two halves
# A signature read as one integer has a 64-bit lane per hash function. With
# LOW the low 63 bits of every lane and HIGH the top bit, (d & LOW) + LOW
# carries into a lane's top bit exactly when its low bits are not all zero
# (never beyond it), so ((d & LOW) + LOW | d) & HIGH has one bit per lane
# where d is not zero: a few big-integer operations, not 64 comparisons.
_LOW = int.from_bytes(bytes.fromhex("7f" + "ff" * 7) * PERMUTATIONS)
_HIGH = int.from_bytes(bytes.fromhex("80" + "00" * 7) * PERMUTATIONS)


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
    return minhash(hashes)


def minhash(hashes: Iterable[int]) -> bytes:
    """For each hash function, the smallest (a·x + b) mod p over the 64-bit
    hashes x: the signature of one non-empty shingle set."""
    rows = []
    for x in hashes:
        if not 0 <= x < _BELOW:  # a wider value would spill into the next lane
            raise ValueError(f"minhash: {x} is not a 64-bit hash")
        y = _A * x + _B
        y = (y & _LOW61) + ((y >> 61) & _LOW65)
        y = (y & _LOW61) + ((y >> 61) & _LOW5)
        y -= (((y + _ONES) >> 61) & _ONES) * _PRIME  # the lanes >= p
        # Every lane is now below 2**61: its low half is the whole value.
        rows.append(_WIDE_PACK.unpack(y.to_bytes(_WIDE_PACK.size))[1::2])
    if not rows:
        raise ValueError("minhash: no shingles to sign")
    return _PACK.pack(*map(min, zip(*rows, strict=True)))


def similarity(first: bytes, second: bytes) -> float:
    """Estimated Jaccard similarity of the two texts behind two signatures."""
    if len(first) != SIGNATURE_BYTES or len(second) != SIGNATURE_BYTES:
        raise ValueError("similarity: not a MinHash signature")
    # A hash function agrees where the two lanes are equal: where XOR is zero.
    differ = int.from_bytes(first) ^ int.from_bytes(second)
    disagree = (((differ & _LOW) + _LOW) | differ) & _HIGH
    return (PERMUTATIONS - disagree.bit_count()) / PERMUTATIONS


def jaccard(first: str, second: str) -> float:
    """The exact similarity the signatures estimate (for tests and tuning)."""
    a, b = shingles(first), shingles(second)
    return len(a & b) / len(a | b) if a | b else 0.0
