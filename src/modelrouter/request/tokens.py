"""Offline token estimates for chat messages.

An estimate, by design: pre-inference counts for most providers' tokenizers
cannot be exact, and exact cost always comes from the usage the provider
reports. We do not ship a BPE tokenizer (tiktoken downloads its encodings at
first use, which fails offline, and it would still be wrong for non-OpenAI
models). The estimate counts word pieces the way BPE vocabularies split them:
runs of letters cost one token per four characters (at least one), digits one
per three, every other visible character one; plus a fixed overhead per message
and per image, close to OpenAI's published accounting.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from modelrouter.request.model import Message

__all__ = ["IMAGE_TOKENS", "estimate_tokens", "messages_digest", "text_tokens"]

PER_MESSAGE = 4
PER_REPLY = 3
# A high-detail 1024x1024 image on OpenAI's accounting; vendors differ.
IMAGE_TOKENS = 765

_PIECES = re.compile(r"[^\W\d_]+|\d+|[^\s\w]|_", re.UNICODE)


def text_tokens(text: str) -> int:
    count = 0
    for piece in _PIECES.findall(text):
        if piece[0].isdigit():
            count += -(-len(piece) // 3)
        elif piece[0].isalpha():
            count += -(-len(piece) // 4)
        else:
            count += 1
    return count


def estimate_tokens(messages: Sequence[Message]) -> tuple[int, bool]:
    """(estimated input tokens, whether any message carries an image)."""
    total = PER_REPLY
    has_image = False
    for message in messages:
        total += PER_MESSAGE
        content = message.content
        if isinstance(content, str):
            total += text_tokens(content)
        elif content is not None:
            for part in content:
                if part.text:
                    total += text_tokens(part.text)
                if part.type in ("image_url", "input_image", "image"):
                    total += IMAGE_TOKENS
                    has_image = True
    return total, has_image


def messages_digest(messages: Sequence[Message]) -> str:
    """A stable fingerprint of the messages, recorded instead of their text."""
    payload = json.dumps(
        [message.model_dump(mode="json") for message in messages],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()
