"""Reading model answers tolerantly, and refusing the ones that cannot be used."""

from __future__ import annotations

import json
import re
from typing import Any

from ..gateway import InvalidAnswer

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)\n?"
    r"^(?P=indent)(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)

MAX_ANSWER_CHARS = 200_000


def code_block(answer: str) -> str:
    """The content of the first fenced code block, or InvalidAnswer when there is none."""
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidAnswer("the answer is implausibly large")
    text = answer.replace("\r\n", "\n")
    match = _FENCE.search(text)
    if match is None:
        # A lone opening fence (the answer was cut before the closing one) is not an answer.
        raise InvalidAnswer("the answer has no fenced code block")
    body = match.group("body")
    indent = match.group("indent")
    if indent:
        body = "\n".join(line.removeprefix(indent) for line in body.split("\n"))
    return body


def fence_for(code: str) -> str:
    """A backtick fence longer than any run of backticks inside `code`."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def json_payload(answer: str) -> Any:
    """The first JSON object or array in `answer`, ignoring fences and chatter around it."""
    text = answer.strip()
    match = _FENCE.search(text)
    if match is not None and match.group("body").lstrip()[:1] in ("{", "["):
        text = match.group("body")
    decoder = json.JSONDecoder()
    for index, char in enumerate(text):
        if char in "{[":
            try:
                value, _ = decoder.raw_decode(text, index)
            except ValueError:
                continue
            return value
    raise InvalidAnswer("the answer contains no JSON")
