"""Which of a substring query's trigrams the search asks its index for (PostgreSQL's GIN
index, SQLite's FTS5 table).

On PostgreSQL, trigrams are of ``index_key_word(key)`` (migration 0005; see
``pkgdex.index.search``), as the GIN index and the sampled counts of migration 0006 see them;
on SQLite, of the key itself, as the FTS5 table and the counts of migration 0008 see them.
"""

from __future__ import annotations


def trigrams(word: str) -> list[str]:
    return [word[i : i + 3] for i in range(len(word) - 2)]


# GIN reads the posting list of every trigram in the pattern, and a query's common trigrams
# ("7co" of "-core", in a quarter of all keys) cost more than they narrow: "n-core-ng" went
# through 5 M postings in 50 ms for 460 candidates, and through 350 K in 5 ms for 600 with its
# three rarer trigrams alone (a posting costs about 10 ns, a candidate's heap read and checks
# about 2 us). So the pattern takes the rarest trigram, then the next rarest ones while their
# postings (estimated from the sample) stay within PG_GRAM_BUDGET in all, and strpos() checks
# the whole query on what it lets through. Estimating the candidates instead fails both ways:
# a query's trigrams occur together far more often than independence says ("next" is in
# nearly every key holding "nex"), and far less than full dependence says.
PG_GRAM_BUDGET = 400_000


def word_pattern(word: str, counts: dict[str, int], sample: int) -> str:
    """A LIKE pattern over ``index_key_word(key)`` that every key containing ``word`` matches:
    the trigrams worth reading, as runs of adjacent ones, in order and kept apart by ``%``.
    ``counts`` holds how often each trigram occurs among every ``sample``-th row."""
    worth = worth_reading(trigrams(word), counts, sample)  # rarest first
    chosen = set(worth)
    for at in reversed(worth):  # of two that overlap, the commoner one goes
        if _overlaps(at, chosen):
            chosen.remove(at)
    segments = [word[first : last + 3] for first, last in _runs(chosen)]
    escaped = (s.replace("\\", "\\\\").replace("%", "\\%") for s in segments)
    return "%" + "%".join(escaped) + "%"


def worth_reading(grams: list[str], counts: dict[str, int], sample: int) -> list[int]:
    """Positions of the grams worth reading, rarest first: the rarest one, then the next rarest
    while their postings (estimated from every ``sample``-th row) stay within the budget."""
    rarest_first = sorted(range(len(grams)), key=lambda at: counts.get(grams[at], 0))
    chosen: list[int] = []
    postings = 0
    for at in rarest_first:
        postings += counts.get(grams[at], 0) * sample
        if chosen and postings > PG_GRAM_BUDGET:
            break  # and every gram after it, commoner still
        chosen.append(at)
    return chosen


def _overlaps(at: int, chosen: set[int]) -> bool:
    """Whether the trigram at ``at`` would share a character with a chosen one without joining
    its run ('%' between two segments keeps them apart, so they could not overlap)."""
    return any(at + step in chosen and at + step // 2 not in chosen for step in (-2, 2))


def _runs(chosen: set[int]) -> list[tuple[int, int]]:
    """The first and last position of each run of consecutive positions, in order."""
    runs: list[tuple[int, int]] = []
    for at in sorted(chosen):
        if runs and runs[-1][1] == at - 1:
            runs[-1] = (runs[-1][0], at)
        else:
            runs.append((at, at))
    return runs
