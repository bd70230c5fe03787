"""bot.neardup: wire copy with small edits is a near-duplicate; another article is not."""

from __future__ import annotations

import hashlib
import random

import pytest

from bot.config import Stories
from bot.neardup import (
    _COEFFICIENTS,
    _PRIME,
    SIGNATURE_BYTES,
    jaccard,
    minhash,
    shingles,
    signature,
    similarity,
)

THRESHOLD = Stories().near_duplicate

LEAD = (
    "The Seimas voted 96 to 12 on Thursday to withdraw Lithuania from the "
    "Convention on Cluster Munitions, citing the security situation in the region. "
    "The withdrawal takes effect six months after the United Nations is notified."
)
TITLE = "Lithuania votes to leave cluster munitions treaty"
WIRE_LT = (
    "Seimas ketvirtadienį 96 balsais prieš 12 nusprendė, kad Lietuva pasitrauks iš "
    "Konvencijos dėl kasetinių šaudmenų; sprendimas įsigalios praėjus šešiems "
    "mėnesiams po pranešimo Jungtinėms Tautoms."
)

NEAR = {
    "the same wire copy": (TITLE, LEAD),
    "a few words changed": (
        TITLE,
        LEAD.replace("Thursday", "Thursday evening").replace("citing", "pointing to"),
    ),
    "a reworded headline": (
        "Lithuanian parliament backs exit from cluster bomb ban",
        LEAD,
    ),
    "case, accents and punctuation": (TITLE.upper(), LEAD.replace(",", " —")),
    "a sentence cut": (TITLE, LEAD.split(". ")[0] + "."),
}
FAR = {
    "the same topic, another article": (
        "Lithuanian defence minister says leaving the cluster munitions convention is under review",
        "Lithuania's defence minister said on Monday that withdrawing from the "
        "Convention on Cluster Munitions was being reviewed by the government.",
    ),
    "another event the same day": (
        "Seimas debates leaving the Ottawa mine ban treaty",
        "Lithuanian lawmakers debated on Thursday a proposal to withdraw from the "
        "Ottawa Convention banning anti-personnel mines.",
    ),
    "a translation": (
        "Seimas pritarė pasitraukimui iš Konvencijos dėl kasetinių šaudmenų",
        WIRE_LT,
    ),
}


def _score(title: str, summary: str) -> float:
    a, b = signature(TITLE, LEAD), signature(title, summary)
    assert a is not None and b is not None
    return similarity(a, b)


@pytest.mark.parametrize("case", sorted(NEAR))
def test_near_duplicates_reach_the_default_threshold(case: str) -> None:
    assert _score(*NEAR[case]) >= THRESHOLD


@pytest.mark.parametrize("case", sorted(FAR))
def test_other_articles_stay_below_the_default_threshold(case: str) -> None:
    assert _score(*FAR[case]) < THRESHOLD


def test_the_signature_estimates_the_exact_similarity() -> None:
    for title, summary in [*NEAR.values(), *FAR.values()]:
        exact = jaccard(f"{TITLE}\n{LEAD}", f"{title}\n{summary}")
        assert abs(_score(title, summary) - exact) <= 0.2


def test_a_bare_headline_gets_no_signature() -> None:
    assert signature("Lithuania leaves", "") is None
    assert signature("", "") is None
    # Headlines alone are too short: these two would look 75 % alike.
    assert (
        signature("Lithuania to withdraw from the Convention on Cluster Munitions", "")
        is None
    )
    assert signature(TITLE, "Seimas vote on Thursday.") is not None  # ten words


def test_signatures_are_stable_across_runs() -> None:
    # Stored signatures must compare with tomorrow's: fixed seeds, no hash().
    # (A golden value: if this changes, old signatures stop matching new ones.)
    first = signature(TITLE, LEAD)
    assert first is not None and len(first) == 512
    assert first[:16].hex() == "00e0d37a2c21f471001fba7b8e42b11c"
    assert hashlib.sha256(first).hexdigest() == (
        "d329a835712d8b9f000468a442ee34e9d72d847424fdef63a0a5496b970bb5ae"
    )


def _plain_minhash(hashes: set[int]) -> bytes:
    """The definition, one hash function and one shingle at a time."""
    return b"".join(
        min((a * x + b) % _PRIME for x in hashes).to_bytes(8) for a, b in _COEFFICIENTS
    )


def test_the_minhash_is_the_plain_formula_bit_for_bit() -> None:
    a0, b0 = _COEFFICIENTS[0]
    # x that take the first hash function to each residue near 0 and p: the
    # lanes the fast reduction has to correct.
    edges = {((r - b0) * pow(a0, -1, _PRIME)) % _PRIME for r in range(-40, 40)}
    rng = random.Random(7)
    cases = [
        shingles(f"{TITLE}\n{LEAD}"),
        {0, 1, _PRIME - 1, _PRIME, _PRIME + 1, (1 << 64) - 1},
        edges,
        {x + _PRIME for x in edges if x + _PRIME < 1 << 64},
        *({rng.getrandbits(64) for _ in range(n)} for n in (1, 8, 33, 200)),
    ]
    for hashes in cases:
        assert minhash(hashes) == _plain_minhash(hashes)


def _lanes_equal(first: bytes, second: bytes) -> int:
    return sum(first[i : i + 8] == second[i : i + 8] for i in range(0, 512, 8))


def test_similarity_counts_the_hash_functions_that_agree() -> None:
    base = signature(TITLE, LEAD)
    assert base is not None
    rng = random.Random(11)
    for flip in (0x01, 0x80, 0xFF):  # a lane's lowest bit, its top bit, all
        for lanes in (0, 1, 5, 63, 64):
            other = bytearray(base)
            for lane in rng.sample(range(64), lanes):
                other[lane * 8 + rng.randrange(8)] ^= flip
            assert (
                similarity(base, bytes(other))
                == _lanes_equal(base, bytes(other)) / 64
                == (64 - lanes) / 64
            )
    zeros, ones = bytes(SIGNATURE_BYTES), b"\xff" * SIGNATURE_BYTES
    assert similarity(zeros, ones) == 0.0
    assert similarity(ones, ones) == 1.0


def test_similarity_refuses_what_is_not_a_signature() -> None:
    with pytest.raises(ValueError, match="not a MinHash signature"):
        similarity(bytes(SIGNATURE_BYTES), bytes(8))


def test_minhash_refuses_what_its_lanes_cannot_hold() -> None:
    with pytest.raises(ValueError, match="no shingles"):
        minhash([])
    for bad in (-1, 1 << 64):
        with pytest.raises(ValueError, match="not a 64-bit hash"):
            minhash([1, bad])
