"""LMArena text leaderboard adapter: overall Arena ratings from arena-catalog's JSON."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from scrapers import lmarena
from scrapers.base import Fetched, ParseError
from tests.conftest import FIXTURES

FETCHED_AT = datetime(2025, 12, 18, 6, 0, tzinfo=UTC)
SMALL = (FIXTURES / "lmarena" / "leaderboard-text_small.json").read_bytes()


def parsed(body: bytes, url: str = lmarena.URL):
    return lmarena.parse(Fetched(body, url, FETCHED_AT))


def ratings(result) -> dict[str, Decimal]:
    return {s.model: s.score for s in result.scores}


def parse_error(body: bytes) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parsed(body)
    assert caught.value.source == "lmarena"
    assert str(caught.value).startswith("lmarena: ")
    return caught.value


def test_overall_ratings_keep_every_digit_of_the_json_number():
    result = ratings(parsed(SMALL))
    assert result["gemini-3-pro"] == Decimal("1486.6027120272704")
    assert str(result["gpt-4o-2024-08-06"]) == "1283.465895957351"


def test_every_model_of_the_overall_leaderboard_is_read_under_its_arena_name():
    assert set(ratings(parsed(SMALL))) == {
        "gemini-3-pro",
        "gemini-2.5-pro",
        "grok-4.1-thinking",
        "claude-opus-4-5-20251101",
        "gpt-5.1-high",
        "glm-4.6",
        "deepseek-r1-0528",
        "gpt-5-high",
        "claude-3-5-sonnet-20241022",
        "gpt-4o-2024-08-06",
    }


def test_only_the_full_category_is_read_and_the_others_are_not_counted():
    result = parsed(SMALL)
    # coding rates it 1498.05..., chinese rates gemini-3-pro 1525.10...
    assert ratings(result)["claude-opus-4-5-20251101"] == Decimal("1446.431063509376")
    assert ratings(result)["gemini-3-pro"] == Decimal("1486.6027120272704")
    assert "claude-opus-4-5-20251101-thinking-32k" not in ratings(result)  # only under coding
    assert len(result.scores) == 10
    assert not result.skipped


def test_scores_are_lmarena_text_undated_and_name_the_fetched_url():
    result = parsed(SMALL, "https://example.test/leaderboard-text.json")
    assert {(s.benchmark, s.measured_on, s.source_url) for s in result.scores} == {
        ("lmarena_text", None, "https://example.test/leaderboard-text.json")
    }


def test_entries_without_a_rating_are_skipped_and_counted():
    body = json.dumps(
        {"full": {"a": {"rating_q975": 1300.5}, "b": {"rating": None}, "c": {"rating": 1250.25}}}
    ).encode()
    result = parsed(body)
    assert ratings(result) == {"c": Decimal("1250.25")}
    assert result.skipped == {"entry without a rating": 2}


def test_unreadable_and_malformed_entries_are_skipped_and_counted():
    body = (
        b'{"full": {"nan": {"rating": NaN}, "text": {"rating": "high"}, "flag": {"rating": true},'
        b' "list": [1300], "  ": {"rating": 1200}, "whole": {"rating": 1300}}}'
    )
    result = parsed(body)
    assert ratings(result) == {"whole": Decimal(1300)}
    assert result.skipped == {
        "unreadable rating": 3,
        "malformed entry": 1,
        "entry without a model name": 1,
    }


def test_model_names_are_only_stripped_of_surrounding_spaces():
    body = b'{"full": {" GPT-4o-2024-05-13 ": {"rating": 1285.5}}}'
    assert set(ratings(parsed(body))) == {"GPT-4o-2024-05-13"}


def test_malformed_json_is_a_parse_error():
    assert "not JSON" in str(parse_error(SMALL[: len(SMALL) // 2]))


def test_html_page_is_a_parse_error():
    assert "not JSON" in str(parse_error((FIXTURES / "errors" / "challenge.html").read_bytes()))


def test_json_without_the_overall_category_is_a_parse_error():
    body = json.dumps({"coding": {"glm-4.6": {"rating": 1441.1}}}).encode()
    assert "no 'full' (overall) category; categories: ['coding']" in str(parse_error(body))


def test_json_that_is_not_an_object_of_categories_is_a_parse_error():
    assert "expected an object of categories" in str(parse_error(b'[{"full": {}}]'))


def test_overall_category_without_any_rating_is_a_parse_error():
    assert "no ratings" in str(parse_error(b'{"full": {}}'))
