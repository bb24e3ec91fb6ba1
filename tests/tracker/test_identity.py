"""One model, many spellings: offerings from different sources land on the same LanguageModel."""

from decimal import Decimal

import pytest

from tests.conftest import at
from tracker.identity import load_aliases, normalise
from tracker.ingest import Quote, record
from tracker.models import LanguageModel, ModelAlias, Offering, Source


@pytest.mark.parametrize(
    ("spelling", "normal"),
    [
        ("openai/gpt-4o", "gpt-4o"),
        ("anthropic/claude-3.5-sonnet:beta", "claude-3.5-sonnet"),
        ("Llama 3 70B Instruct", "llama-3-70b-instruct"),
        ("GPT-4o (2024-05-13)", "gpt-4o"),
        ("meta_llama_3", "meta-llama-3"),
        ("Anthropic: Claude 3.5 Sonnet", "anthropic-claude-3.5-sonnet"),
    ],
)
def test_spellings_are_normalised(spelling, normal):
    assert normalise(spelling) == normal


def price(provider, pmid, **kw):
    return Quote(provider, pmid, "input", Decimal("2.5"), **kw)


@pytest.mark.django_db
def test_the_same_model_at_two_sellers_is_one_model(make_source):
    record(make_source("map"), [price("openai", "gpt-4o", model="gpt-4o")], at(0))
    record(make_source("reseller"), [price("openrouter", "openai/gpt-4o")], at(0))
    assert LanguageModel.objects.count() == 1
    assert Offering.objects.count() == 2


@pytest.mark.django_db
def test_an_alias_maps_a_different_spelling_to_our_model(make_source):
    gpt4o = LanguageModel.objects.create(slug="claude-3-5-sonnet", name="Claude 3.5 Sonnet")
    ModelAlias.objects.create(alias="claude-3.5-sonnet", model=gpt4o)
    record(make_source(), [price("openrouter", "anthropic/claude-3.5-sonnet")], at(0))
    assert Offering.objects.get().model == gpt4o


@pytest.mark.django_db
def test_a_new_model_is_flagged_and_its_spelling_kept_for_review(make_source):
    quote = price("together", "Qwen/Qwen3-235B-A22B-Instruct-tput", model="qwen3-235b-a22b")
    record(make_source(), [quote], at(0))
    model = LanguageModel.objects.get()
    alias = ModelAlias.objects.get()
    assert (model.slug, model.auto_discovered) == ("qwen3-235b-a22b", True)
    assert (alias.alias, alias.auto_created) == ("qwen3-235b-a22b-instruct-tput", True)


@pytest.mark.django_db
def test_a_curated_source_names_its_own_model_whatever_the_aliases_say(make_source):
    other = LanguageModel.objects.create(slug="gpt-4o", name="GPT-4o")
    ModelAlias.objects.create(alias="gpt-4o-2024-05-13", model=other)
    ledger = make_source("ledger", kind=Source.Kind.LEDGER)
    record(ledger, [price("openai", "gpt-4o-2024-05-13", model="gpt-4o-2024-05-13")], at(0))
    assert Offering.objects.get().model.slug == "gpt-4o-2024-05-13"


@pytest.mark.django_db
def test_curated_aliases_load_once_their_model_exists(tmp_path):
    path = tmp_path / "aliases.csv"
    path.write_text("alias,model,note\nclaude-3.5-sonnet,claude-3-5-sonnet,OpenRouter id\n")
    assert load_aliases(path) == (0, 1)
    LanguageModel.objects.create(slug="claude-3-5-sonnet", name="Claude 3.5 Sonnet")
    assert load_aliases(path) == (1, 0)
    assert load_aliases(path) == (1, 0)  # idempotent
    assert ModelAlias.objects.get().auto_created is False
