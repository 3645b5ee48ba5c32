"""A large text (a chunk of an upload) is masked exactly as its lines would be on their own.

Texts over a few KB take another path: the finders skip the literals that a text's vocabulary (its
distinct words) rules out. These tests embed every known secret and look-alike in a large neutral log
and require the same spans, shifted, as the short text gives.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given

from faultmaven.infrastructure.security.sanitizer import Sanitizer, find_spans
from tests.security.test_sanitizer import DETECTION_TABLE, PROPERTY_SETTINGS
from tests.security.test_sanitizer_families import ENGINEER_LINES, FAMILIES

PADDING = "\n".join(
    f"2024-05-01 12:{index % 60:02d}:{index * 7 % 60:02d},{index:03d} INFO  [worker-{index % 8}] "
    f"com.acme.orders.Service: request {index} completed in {index * 13 % 997} ms status=200"
    for index in range(60)
)
LOOK_ALIKES = [
    "password authentication failed for user postgres; API key rejected; access token expired",
    "mkdir -p /var/run/app && ssh -p 2222 bob@host && mysql -P 3306 -h db",
    "keyId: -127633188 cache_key=user:42 sort_key=created_at routing_key=orders.created",
    "tin cans 123456, spin 99999, span 1234567 and pan 42 in the tax bracket",
    "ES91 not an iban, DE00 1234 either, order BE12345678901 shipped",
]


def _assert_same_spans_in_a_large_text(text: str) -> None:
    big = f"{PADDING}\n{text}\n{PADDING}"
    offset = len(PADDING) + 1
    expected = [(start + offset, end + offset, kind) for start, end, kind in find_spans(text)]
    assert find_spans(big) == expected


def test_the_padding_is_large_and_neutral() -> None:
    assert len(PADDING) > 4096
    assert find_spans(PADDING) == []


@pytest.mark.parametrize("text", [row[0] for row in DETECTION_TABLE] + ENGINEER_LINES + LOOK_ALIKES)
def test_known_lines_are_masked_alike_in_a_large_text(text: str) -> None:
    _assert_same_spans_in_a_large_text(text)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_is_masked_alike_in_a_large_text(family: str) -> None:
    @PROPERTY_SETTINGS
    @given(case=FAMILIES[family])
    def check(case: tuple[str, list[str]]) -> None:
        text, _ = case
        assume(text.strip())
        _assert_same_spans_in_a_large_text(text)

    check()


def test_a_map_reloaded_per_batch_keeps_its_placeholders() -> None:
    sanitizer = Sanitizer()
    stored: dict[str, str] = {}
    for text in ("from 10.0.0.1 and 10.0.0.2", "from 10.0.0.2 and 10.0.0.3"):
        batch_map = dict(stored)  # as the upload path loads the case's table for every batch
        masked = sanitizer.sanitize(text, batch_map)
        stored = batch_map
    assert masked == "from <IP_ADDRESS_2> and <IP_ADDRESS_3>"
    assert stored == {f"<IP_ADDRESS_{number}>": f"10.0.0.{number}" for number in (1, 2, 3)}


def test_equal_maps_of_two_cases_stay_apart() -> None:
    sanitizer = Sanitizer()
    first: dict[str, str] = {}
    second: dict[str, str] = {}
    assert sanitizer.sanitize("peer 10.0.0.1", first) == "peer <IP_ADDRESS_1>"
    assert sanitizer.sanitize("peer 10.9.9.9", second) == "peer <IP_ADDRESS_1>"
    assert sanitizer.sanitize("peer 10.0.0.1", dict(first)) == "peer <IP_ADDRESS_1>"
    assert first == {"<IP_ADDRESS_1>": "10.0.0.1"} and second == {"<IP_ADDRESS_1>": "10.9.9.9"}
