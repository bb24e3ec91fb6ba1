"""Epoch AI Benchmarking Hub adapter: ECI and GPQA Diamond scores from the zip or one CSV."""

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from scrapers import epoch_eci
from scrapers.base import Fetched, ParseError
from tests.conftest import FIXTURES

FETCHED_AT = datetime(2025, 12, 18, 6, 0, tzinfo=UTC)
HERE = FIXTURES / "epoch_eci"
ECI_CSV = (HERE / "epoch_capabilities_index.csv").read_bytes()
GPQA_CSV = (HERE / "gpqa_diamond.csv").read_bytes()
GPQA_HEADER = "Model version,mean_score,Best score (across scorers),Release date,Started at\n"


def parsed(body: bytes, url: str = epoch_eci.URL):
    return epoch_eci.parse(Fetched(body, url, FETCHED_AT))


def scores(result, benchmark: str) -> dict[str, Decimal]:
    return {s.model: s.score for s in result.scores if s.benchmark == benchmark}


def days(result, benchmark: str) -> dict[str, date | None]:
    return {s.model: s.measured_on for s in result.scores if s.benchmark == benchmark}


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def parse_error(body: bytes) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parsed(body)
    assert caught.value.source == "epoch_eci"
    assert str(caught.value).startswith("epoch_eci: ")
    return caught.value


def test_eci_scores_keep_every_digit_of_the_csv_text():
    eci = scores(parsed(ECI_CSV), "eci")
    assert eci["gpt-5.2-2025-12-11_xhigh"] == Decimal("152.4182891569458")
    assert str(eci["claude-opus-4-5-20251101_32K"]) == "149.86957925424835"
    assert str(eci["openai/gpt-oss-120b_high"]) == "139.76129702790502"


def test_eci_models_are_epoch_model_versions_as_they_stand():
    assert set(scores(parsed(ECI_CSV), "eci")) == {
        "gpt-5.2-2025-12-11_xhigh",
        "gemini-3-flash-preview",
        "claude-opus-4-5-20251101_32K",
        "gemini-2.5-pro",
        "DeepSeek-R1-0528",
        "openai/gpt-oss-120b_high",
        "claude-3-5-haiku-20241022",
        "Mistral-7B-Instruct-v0.2",
    }


def test_eci_is_dated_by_the_model_release_date_and_undated_without_one():
    eci = days(parsed(ECI_CSV), "eci")
    assert eci["gpt-5.2-2025-12-11_xhigh"] == date(2025, 12, 11)
    assert eci["claude-3-5-haiku-20241022"] == date(2024, 10, 22)
    assert eci["Mistral-7B-Instruct-v0.2"] is None


def test_eci_rows_without_a_score_are_skipped_and_counted():
    result = parsed(ECI_CSV)
    assert "glm-4.5" not in scores(result, "eci")
    assert "text-davinci-003" not in scores(result, "eci")  # a quoted cell spans two lines
    assert result.skipped == {"row without a score": 2}


def test_gpqa_score_is_the_best_score_across_scorers():
    gpqa = scores(parsed(GPQA_CSV), "gpqa_diamond")
    assert gpqa["claude-3-7-sonnet-20250219_64K"] == Decimal("0.7973484848484849")  # mean 0.785...
    assert gpqa["grok-3-beta"] == Decimal("0.7575757575757576")  # mean 0.6758...
    assert gpqa["gpt-5.2-2025-12-11_xhigh"] == Decimal("0.914")
    assert len(gpqa) == 11


def test_gpqa_is_dated_by_the_day_its_run_started():
    gpqa = days(parsed(GPQA_CSV), "gpqa_diamond")
    assert gpqa["gemini-2.5-pro"] == date(2025, 11, 16)  # released 2025-06-17
    assert gpqa["gemini-3-flash-preview"] == date(2025, 12, 17)
    assert gpqa["grok-4-0709"] is None  # no Started at


def test_gpqa_falls_back_to_mean_score_when_the_best_score_column_is_gone():
    body = (
        b"Model version,mean_score,Started at\no3-2025-04-16_high,0.8181818181818182,2025-04-16\n"
    )
    assert scores(parsed(body), "gpqa_diamond") == {
        "o3-2025-04-16_high": Decimal("0.8181818181818182")
    }


def test_zip_gives_both_benchmarks_as_the_single_csvs_do():
    from_zip = parsed((HERE / "benchmarks.zip").read_bytes())
    assert {s.benchmark for s in from_zip.scores} == {"eci", "gpqa_diamond"}
    assert sorted(from_zip.scores, key=repr) == sorted(
        parsed(ECI_CSV).scores + parsed(GPQA_CSV).scores, key=repr
    )
    assert from_zip.skipped == {"row without a score": 2}


def test_later_eci_table_in_the_zip_folder_is_read_by_model_group():
    eci_scores = (  # the layout of epoch_capabilities_index/eci_scores.csv in 2026 bundles
        b"Model,Display name,eci,eci_ci_low,eci_ci_high,date,Organization,"
        b"Country (of organization),Model accessibility,Accessibility group,model_versions\n"
        b"Claude Fable 5,Claude Fable 5,163.27,160.54,167.1,2026-06-09,Anthropic,"
        b"United States of America,API access,Closed weights,\n"
    )
    body = zipped(
        {"epoch_capabilities_index/eci_scores.csv": eci_scores, "gpqa_diamond.csv": GPQA_CSV}
    )
    result = parsed(body)
    assert scores(result, "eci") == {"Claude Fable 5": Decimal("163.27")}
    assert days(result, "eci") == {"Claude Fable 5": date(2026, 6, 9)}
    assert len(scores(result, "gpqa_diamond")) == 11


def test_zip_with_both_eci_tables_reads_only_epoch_capabilities_index_csv():
    later = b"Model,eci,date\nClaude Fable 5,163.27,2026-06-09\n"
    body = zipped(
        {"epoch_capabilities_index/eci_scores.csv": later, "epoch_capabilities_index.csv": ECI_CSV}
    )
    assert "Claude Fable 5" not in scores(parsed(body), "eci")
    assert len(scores(parsed(body), "eci")) == 8


def test_zip_without_one_table_reads_the_other_and_counts_the_missing_one():
    result = parsed(zipped({"README.md": b"Licensing", "epoch_capabilities_index.csv": ECI_CSV}))
    assert {s.benchmark for s in result.scores} == {"eci"}
    assert result.skipped["zip without gpqa_diamond.csv"] == 1


def test_zip_without_either_table_is_a_parse_error():
    assert "none of" in str(parse_error(zipped({"README.md": b"Licensing"})))


def test_damaged_zip_is_a_parse_error():
    assert "zip" in str(parse_error(b"PK\x03\x04" + b"\x00" * 40))


def test_later_row_for_the_same_model_wins_and_the_earlier_is_counted():
    body = (
        GPQA_HEADER + "gpt-4o-2024-11-20,0.5,0.5,2024-11-20,2025-01-10T00:00:00Z\n"
        "gpt-4o-2024-11-20,0.6,0.6,2024-11-20,2025-03-02T00:00:00Z\n"
        "gpt-4o-2024-11-20,0.4,0.4,2024-11-20,2025-02-01T00:00:00Z\n"
    ).encode()
    result = parsed(body)
    assert scores(result, "gpqa_diamond") == {"gpt-4o-2024-11-20": Decimal("0.6")}
    assert result.skipped == {"earlier row for the same model": 2}


def test_unreadable_scores_and_dates_are_skipped_and_counted():
    body = (
        GPQA_HEADER + "a,0.5,n/a,2024-01-01,2025-01-01T00:00:00Z\n"
        "b,0.5,NaN,2024-01-01,2025-01-01T00:00:00Z\n"
        "c,0.5,0.5,2024-01-01,last spring\n"
        ",0.5,0.5,2024-01-01,2025-01-01T00:00:00Z\n"
        "d,0.5,0.5,2024-01-01,2025-01-01T00:00:00Z\n"
    ).encode()
    result = parsed(body)
    assert set(scores(result, "gpqa_diamond")) == {"d"}
    assert result.skipped == {"unreadable score": 2, "unreadable date": 1, "row without a model": 1}


def test_model_names_are_only_stripped_of_surrounding_spaces():
    body = GPQA_HEADER.encode() + b" Meta-Llama-3.1-405B-Instruct ,0.5,0.5,2024-07-23,\n"
    assert set(scores(parsed(body), "gpqa_diamond")) == {"Meta-Llama-3.1-405B-Instruct"}


def test_scores_name_the_url_they_were_fetched_from():
    url = "https://epoch.ai/data/benchmark_data.zip"
    assert {s.source_url for s in parsed((HERE / "benchmarks.zip").read_bytes(), url).scores} == {
        url
    }


def test_csv_without_the_model_column_is_a_parse_error():
    body = ECI_CSV.replace(b"Model version,", b"Model id,", 1)
    assert "no model column" in str(parse_error(body))


def test_csv_without_a_score_column_is_a_parse_error():
    body = ECI_CSV.replace(b",ECI Score,", b",Score,", 1)
    assert "no score column" in str(parse_error(body))


def test_table_in_the_zip_without_its_score_column_is_a_parse_error():
    body = zipped({"gpqa_diamond.csv": b"Model version,stderr\ngpt-4o,0.02\n"})
    assert "gpqa_diamond.csv has no score column" in str(parse_error(body))


def test_csv_with_no_score_in_any_row_is_a_parse_error():
    body = b"Model version,ECI Score,Release date\nglm-4.5,,2025-08-03\n"
    assert "no scores" in str(parse_error(body))


def test_html_page_is_a_parse_error():
    assert "HTML" in str(parse_error((FIXTURES / "errors" / "challenge.html").read_bytes()))


def test_body_that_is_not_utf8_is_a_parse_error():
    assert "UTF-8" in str(parse_error(b"Model version,ECI Score\n\xff\xfe,1\n"))
