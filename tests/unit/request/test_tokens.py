from __future__ import annotations

from modelrouter.request.model import Message
from modelrouter.request.tokens import IMAGE_TOKENS, estimate_tokens, text_tokens


def test_longer_text_costs_more_tokens() -> None:
    short = text_tokens("Hello there")
    long = text_tokens("Hello there, " * 50)
    assert 0 < short < long


def test_estimate_is_close_to_bpe_for_english() -> None:
    # "The quick brown fox jumps over the lazy dog." is 10 tokens in cl100k/o200k.
    assert 9 <= text_tokens("The quick brown fox jumps over the lazy dog.") <= 13


def test_images_count_and_are_flagged() -> None:
    message = Message.model_validate(
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
    )
    tokens, has_image = estimate_tokens([message])
    assert has_image and tokens >= IMAGE_TOKENS
