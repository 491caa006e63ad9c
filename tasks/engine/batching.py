"""Group segments into model calls: sorted by length, bounded by a token budget.

Sorting keeps padding low (segments of a batch have similar lengths); the budget
bounds memory. Token counts are estimated from characters (about 4 per token for
the languages opus-mt serves), which is cheap and close enough to size batches.
"""

from __future__ import annotations

from collections.abc import Iterator

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """A cheap token estimate for sizing batches."""
    return len(text) // CHARS_PER_TOKEN + 2


def chunks(texts: list[str], token_budget: int, max_batch: int = 256) -> Iterator[list[int]]:
    """Yield index lists into `texts`: each chunk's padded size fits the budget.

    A padded batch costs `len(chunk) * longest`, so texts are taken shortest
    first and a chunk closes when adding the next would overflow the budget.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    chunk: list[int] = []
    longest = 0
    for i in order:
        size = estimate_tokens(texts[i])
        grown = max(longest, size)
        if chunk and (grown * (len(chunk) + 1) > token_budget or len(chunk) >= max_batch):
            yield chunk
            chunk, grown = [], size
        chunk.append(i)
        longest = grown
    if chunk:
        yield chunk
