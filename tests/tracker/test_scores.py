"""Capability scores are joined to our models by slug or alias; unknown models are counted."""

from datetime import date
from decimal import Decimal

import pytest

from scrapers.base import ScoreQuote
from tracker.models import CapabilityScore, LanguageModel, ModelAlias
from tracker.scraping import record_scores

pytestmark = pytest.mark.django_db


@pytest.fixture
def gpt4o(make_source):
    model = LanguageModel.objects.create(slug="gpt-4o", name="GPT-4o")
    ModelAlias.objects.create(alias="chatgpt-4o-latest", model=model)
    return model


def score(model, value, day=None):
    return ScoreQuote(model, "lmarena_text", Decimal(value), day)


def test_scores_join_our_models_by_slug_or_alias(gpt4o, make_source):
    source = make_source("lmarena")
    result = record_scores(source, [score("GPT-4o", "1285"), score("mystery-model", "1100")])
    assert result == (1, 0, 1)
    assert CapabilityScore.objects.get().model == gpt4o


def test_the_most_recent_measurement_of_a_model_wins(gpt4o, make_source):
    source = make_source("lmarena")
    record_scores(
        source,
        [
            score("gpt-4o", "1285", date(2024, 8, 1)),
            score("chatgpt-4o-latest", "1338", date(2025, 3, 26)),
        ],
    )
    assert CapabilityScore.objects.get().score == Decimal("1338")


def test_recording_scores_twice_changes_nothing(gpt4o, make_source):
    source = make_source("lmarena")
    record_scores(source, [score("gpt-4o", "1285")])
    assert record_scores(source, [score("gpt-4o", "1285")]) == (0, 1, 0)
    assert CapabilityScore.objects.count() == 1
