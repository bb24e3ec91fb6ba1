"""The bundled capability scores load offline, exactly, once, and refuse rows they cannot place."""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers import ledger
from tracker import identity, scores, scraping
from tracker.models import CapabilityScore, LanguageModel, ModelAlias, ScrapeRun
from tracker.seed import seed

pytestmark = pytest.mark.django_db

HEADER = "model,benchmark,score,measured_on,source,source_url,note\n"
GPT4_MMLU = "gpt-4,mmlu,86.4,2023-03-15,OpenAI,https://arxiv.org/abs/2303.08774,5-shot\n"


@pytest.fixture
def ledger_models() -> None:
    """The ledger's models and the curated aliases: what the scores file may name."""
    scraping.ensure_sources()
    run = scraping.run_source(
        ledger.SLUG, trigger=ScrapeRun.Trigger.SEED, url=ledger.URL, body=ledger.PATH.read_bytes()
    )
    assert run.status == ScrapeRun.Status.SUCCEEDED, run.error
    identity.load_aliases()


@pytest.fixture
def gpt4() -> LanguageModel:
    model = LanguageModel.objects.create(slug="gpt-4", name="GPT-4")
    ModelAlias.objects.create(alias="gpt-4-0314", model=model)
    return model


def bundled_rows() -> list[dict[str, str]]:
    with scores.PATH.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "scores.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def snapshot() -> list[tuple[object, ...]]:
    return list(
        CapabilityScore.objects.order_by("pk").values_list(
            "pk", "model__slug", "benchmark", "score", "source", "source_url", "measured_on"
        )
    )


def test_every_bundled_row_loads_exactly_as_written(ledger_models):
    rows = bundled_rows()
    assert scores.load() == (len(rows), 0)
    assert CapabilityScore.objects.count() == len(rows)
    models = {alias: slug for alias, slug in ModelAlias.objects.values_list("alias", "model__slug")}
    for row in rows:
        slug = models.get(identity.normalise(row["model"]), row["model"])
        stored = CapabilityScore.objects.get(
            model__slug=slug, benchmark=row["benchmark"], source=row["source"]
        )
        assert isinstance(stored.score, Decimal)
        assert stored.score == Decimal(row["score"]), row
        assert stored.source_url == row["source_url"]
        day = row["measured_on"]
        assert stored.measured_on == (date.fromisoformat(day) if day else None)


def test_the_file_covers_the_flagship_models_on_each_benchmark():
    rows = bundled_rows()
    assert len({row["model"] for row in rows}) >= 40
    for benchmark in scores.RANGES:
        assert sum(row["benchmark"] == benchmark for row in rows) >= 30, benchmark


def test_gpt4_has_the_mmlu_figure_that_defines_gpt4_level(ledger_models):
    scores.load()
    stored = CapabilityScore.objects.get(model__slug="gpt-4", benchmark="mmlu")
    assert stored.score == Decimal("86.4")
    assert "GPT-4 Technical Report" in stored.source


def test_scores_keep_their_decimal_places(tmp_path, gpt4):
    path = write(
        tmp_path,
        GPT4_MMLU,
        "gpt-4,gpqa_diamond,0.3573,2025-10-23,Epoch AI,https://epoch.ai/benchmarks,\n",
        "gpt-4,eci,126.0740,2023-03-14,Epoch AI,https://epoch.ai/benchmarks,\n",
    )
    scores.load(path)
    stored = dict(CapabilityScore.objects.values_list("benchmark", "score"))
    assert stored == {
        "mmlu": Decimal("86.4"),
        "gpqa_diamond": Decimal("0.3573"),
        "eci": Decimal("126.074"),
    }
    assert str(stored["gpqa_diamond"]) == "0.3573"


def test_seeding_twice_changes_nothing():
    seed(say=lambda line: None)
    first = snapshot()
    assert len(first) == len(bundled_rows())
    said: list[str] = []
    seed(say=said.append)
    assert snapshot() == first
    assert f"capability scores: 0 new, {len(first)} refreshed (scores.csv)" in said


def test_a_row_naming_an_unknown_model_fails_with_its_line_and_records_nothing(tmp_path, gpt4):
    path = write(
        tmp_path,
        GPT4_MMLU,
        "gpt-4-0314,eci,126.07,2023-03-14,Epoch AI,https://epoch.ai/benchmarks,alias\n",
        "gpt-9,mmlu,99.0,2031-01-01,Oracle,https://example.com/,\n",
    )
    with pytest.raises(scores.ScoresFileError, match=r"scores.csv line 4: unknown model 'gpt-9'"):
        scores.load(path)
    assert not CapabilityScore.objects.exists()


def test_a_model_is_found_by_its_alias(tmp_path, gpt4):
    path = write(tmp_path, "GPT-4-0314,eci,126.07,,Epoch AI,https://epoch.ai/benchmarks,\n")
    assert scores.load(path) == (1, 0)
    assert CapabilityScore.objects.get().model == gpt4


def test_two_rows_for_one_model_benchmark_and_source_are_refused(tmp_path, gpt4):
    path = write(
        tmp_path,
        GPT4_MMLU,
        "gpt-4-0314,mmlu,86.5,2023-03-15,OpenAI,https://arxiv.org/abs/2303.08774,\n",
    )
    with pytest.raises(scores.ScoresFileError, match=r"line 3: .* already on line 2"):
        scores.load(path)
    assert not CapabilityScore.objects.exists()


def test_the_same_score_from_two_sources_is_kept_twice(tmp_path, gpt4):
    path = write(
        tmp_path,
        GPT4_MMLU,
        "gpt-4,mmlu,82.4,,Stanford CRFM HELM Lite,https://crfm.stanford.edu/helm/lite/,\n",
    )
    scores.load(path)
    assert sorted(CapabilityScore.objects.values_list("source", "score")) == [
        ("OpenAI", Decimal("86.4")),
        ("Stanford CRFM HELM Lite", Decimal("82.4")),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("gpt-4,mmlu,lots,,OpenAI,https://openai.com/,", "score 'lots' is not a number"),
        ("gpt-4,mmlu,101,,OpenAI,https://openai.com/,", "mmlu score 101 is outside 0..100"),
        ("gpt-4,gpqa_diamond,35.7,,Epoch,https://epoch.ai/,", "outside 0..1"),
        ("gpt-4,eci,NaN,,Epoch,https://epoch.ai/,", "outside"),
        ("gpt-4,mmlu,86.40001,,OpenAI,https://openai.com/,", "more than 4 decimal places"),
        ("gpt-4,hellaswag,95.3,,OpenAI,https://openai.com/,", "benchmark 'hellaswag' is not one"),
        (
            "gpt-4,mmlu,86.4,2023-13-01,OpenAI,https://openai.com/,",
            "measured_on '2023-13-01' is not a date",
        ),
        ("gpt-4,mmlu,86.4,,,https://openai.com/,", "source must be"),
        ("gpt-4,mmlu,86.4,,OpenAI,http://openai.com/,", "source_url must be an https URL"),
        ("gpt-4,mmlu,86.4,,OpenAI,https://openai.com/", "expected 7 cells"),
        ("gpt-4,mmlu,86.4,,OpenAI,https://openai.com/,,extra", "expected 7 cells"),
        (",mmlu,86.4,,OpenAI,https://openai.com/,", "no model"),
    ],
)
def test_a_bad_cell_is_refused_naming_its_line(tmp_path, gpt4, line, message):
    path = write(tmp_path, GPT4_MMLU, line + "\n")
    with pytest.raises(scores.ScoresFileError, match=f"scores.csv line 3: .*{message}"):
        scores.load(path)
    assert not CapabilityScore.objects.exists()


def test_a_file_with_other_columns_is_refused(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("model,benchmark,score\ngpt-4,mmlu,86.4\n", encoding="utf-8")
    with pytest.raises(scores.ScoresFileError, match="the header must be model,benchmark,"):
        scores.load(path)
