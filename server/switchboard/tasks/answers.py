"""JSON in model answers, read the way models write it: in fences, in prose, more than once.

A model may write a draft and then correct it; the reader of a task gets every JSON value in
the answer, in order, and chooses (a review takes the last one that holds findings). Deeply
nested or enormous JSON is refused rather than allowed to exhaust the parser.
"""

from __future__ import annotations

import json
from typing import Any

from ..gateway import InvalidAnswer
from ..gateway.reasoning import answer_of
from .blocks import fenced_blocks

MAX_ANSWER_CHARS = 200_000
# Starting points tried in prose for bare JSON: a long answer full of braces must stay cheap.
_MAX_STARTS = 200


def json_values(answer: str) -> list[Any]:
    """The JSON values in `answer` after its reasoning: each fenced block that is JSON, then
    objects and arrays standing in the prose; InvalidAnswer when there is none."""
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidAnswer("the answer is implausibly large")
    text = answer_of(answer)
    blocks = fenced_blocks(text)
    values = [value for block in blocks if (value := _loads(block.body)) is not _NOTHING]
    values += _bare_values(blocks.outside if len(blocks) else text)
    if not values:
        raise InvalidAnswer("the answer contains no JSON")
    return values


_NOTHING = object()


def _loads(text: str) -> Any:
    stripped = text.strip()
    if stripped[:1] not in ("{", "["):
        return _NOTHING
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        return _NOTHING


def _bare_values(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    values: list[Any] = []
    starts = 0
    index = 0
    while index < len(text) and starts < _MAX_STARTS:
        if text[index] not in "{[":
            index += 1
            continue
        starts += 1
        try:
            value, end = decoder.raw_decode(text, index)
        except (ValueError, RecursionError):
            index += 1
            continue
        values.append(value)
        index = end
    return values
