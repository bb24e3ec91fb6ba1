"""dashboard.filters: the one parser of download and API filters."""

from datetime import UTC, date, datetime

import pytest
from django.http import QueryDict

from dashboard.filters import FilterError, Filters, parse_filters


def parse(query: str) -> Filters:
    return parse_filters(QueryDict(query))


def test_no_parameters_is_no_filter():
    assert parse("").is_empty and parse("format=csv").is_empty


def test_values_may_be_repeated_or_comma_separated_and_mean_the_same():
    assert parse("model=b&model=a") == parse("model=a,b") == parse("model=b,a,a")
    assert parse("model=a,b").models == ("a", "b")


def test_every_filter_is_parsed():
    f = parse("provider=openai&model=gpt-4o&meter=input,output&source=ledger&tier=over_200k"
              "&from=2025-01-01&to=2025-01-31")  # fmt: skip
    assert f == Filters(
        providers=("openai",), models=("gpt-4o",), meters=("input", "output"),
        sources=("ledger",), tiers=("over_200k",), start=date(2025, 1, 1),
        end=date(2025, 1, 31),
    )  # fmt: skip


def test_an_empty_tier_is_the_base_tier_not_no_filter():
    assert parse("tier=").tiers == ("",)
    assert parse("tier=,over_200k").tiers == ("", "over_200k")


def test_the_date_range_covers_whole_utc_days():
    f = parse("from=2025-01-01&to=2025-01-31")
    assert f.start_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert f.end_at == datetime(2025, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("meter=tokens", "meter"),
        ("model=GPT 4", "model"),
        ("provider=../etc", "provider"),
        ("source=a,-b", "source"),
        ("tier=Over", "tier"),
        ("from=2025-13-01", "from"),
        ("from=yesterday", "from"),
        ("to=2025-01-01T00:00:00", "to"),
        ("from=2025-02-01&to=2025-01-01", "to"),
        ("from=2025-01-01&from=2025-01-02", "from"),
        ("model=" + ",".join(f"m{i}" for i in range(201)), "model"),
    ],
)
def test_a_bad_value_raises_naming_its_parameter(query, param):
    with pytest.raises(FilterError) as caught:
        parse(query)
    assert caught.value.param == param
    assert str(caught.value).startswith(f"{param}: ")


def test_a_plain_mapping_works_like_a_query_dict():
    assert parse_filters({"model": ["a", "b"], "meter": "input"}) == parse("model=a,b&meter=input")


def test_the_canonical_query_string_round_trips():
    f = parse("to=2025-01-31&tier=&model=b,a&meter=output")
    assert f.query_string() == "model=a,b&meter=output&tier=&to=2025-01-31"
    assert parse(f.query_string()) == f


def test_the_slug_is_readable_when_short_and_a_hash_when_long():
    assert parse("").slug() == ""
    assert (
        parse("provider=openai&meter=input,output").slug() == "provider-openai_meter-input+output"
    )
    assert parse("tier=").slug() == "tier-base"
    long = parse("model=" + ",".join(f"model-number-{i}" for i in range(10)))
    assert len(long.slug()) == 12 and long.slug() == parse(long.query_string()).slug()


def test_the_last_representable_day_is_refused_not_overflowed():
    from datetime import date

    with pytest.raises(FilterError) as raised:
        parse_filters({"to": date.max.isoformat()})
    assert raised.value.param == "to"
