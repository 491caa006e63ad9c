"""Text of one subtitle cue: speaker turns as slots, re-wrapped into the original line count.

A cue's lines are usually one sentence broken for the screen, so a turn's lines are joined
into one slot (the model translates a sentence, not halves of it) and the translation is
wrapped back into as many lines as the original had. Lines starting with a dash are
separate speakers and get their own slots. Leading and trailing formatting tags (`<i>`,
`<v Name>`, `{\\an8}`) and the dash stay out of the slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = r"(?:<[^<>]*>|\{[^{}]*\})"
_LEAD = re.compile(rf"(?:\s*{_TAG})*\s*(?:[-–—]\s*)?(?:{_TAG}\s*)*")
# Matched against the reversed text, so the trailing tags are found by an anchored match
# instead of a `$`-anchored search that backtracks from every position.
_TRAIL_REVERSED = re.compile(r"(?:\s*(?:>[^<>]*<|\}[^{}]*\{))*\s*")
_TURN = re.compile(rf"\s*(?:{_TAG}\s*)*[-–—]")


@dataclass(frozen=True)
class Turn:
    """One speaker's lines in a cue, with the translatable core cut out of them."""

    lines: tuple[str, ...]
    lead: str
    core: str
    trail: str

    def render(self, core: str) -> list[str]:
        """The turn's lines with `core` in place of the original text."""
        if core == self.core:
            return list(self.lines)
        wrapped = wrap(" ".join(core.split()), len(self.lines))
        wrapped[0] = self.lead + wrapped[0]
        wrapped[-1] += self.trail
        return wrapped


def turns(text: str) -> list[Turn]:
    """Split a cue's text (lines joined by LF) into speaker turns."""
    grouped: list[list[str]] = []
    for line in text.split("\n"):
        if not grouped or _TURN.match(line):
            grouped.append([line])
        else:
            grouped[-1].append(line)
    return [_turn(lines) for lines in grouped]


def render(cue: list[Turn], cores: list[str]) -> str:
    """The cue's text (lines joined by LF) with new cores, one per turn."""
    return "\n".join(
        line for turn, core in zip(cue, cores, strict=True) for line in turn.render(core)
    )


def wrap(text: str, count: int) -> list[str]:
    """Break text at spaces into at most `count` lines of similar length."""
    words = text.split(" ")
    if count <= 1 or len(words) <= 1:
        return [text]
    lines: list[str] = []
    current: list[str] = []
    done = 0
    for word in words:
        current.append(word)
        length = done + len(" ".join(current))
        if len(lines) < count - 1 and length >= len(text) * (len(lines) + 1) / count:
            lines.append(" ".join(current))
            done, current = length + 1, []
    if current:
        lines.append(" ".join(current))
    return lines


def _turn(lines: list[str]) -> Turn:
    joined = " ".join(line.strip() for line in lines)
    lead_match = _LEAD.match(joined)
    lead = lead_match.group() if lead_match else ""
    rest = joined[len(lead) :]
    trail_match = _TRAIL_REVERSED.match(rest[::-1])
    trail_length = len(trail_match.group()) if trail_match else 0
    cut = len(rest) - trail_length
    return Turn(tuple(lines), lead, rest[:cut], rest[cut:])
