"""One model, many spellings: offerings from different sources land on the same LanguageModel."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard import chartkit
from tests.conftest import at
from tracker import identity
from tracker.alerts.models import Rule, Subscriber
from tracker.identity import load_aliases, normalise
from tracker.ingest import Quote, record
from tracker.models import LanguageModel, ModelAlias, Offering, PriceSpan, Source


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


# --- aliases added later: identity.adopt() and merge() ---

QWEN_TOGETHER = "Qwen/Qwen3-235B-A22B-Instruct-tput"


def _auto_qwen(make_source) -> LanguageModel:
    """An auto-discovered model, as ingest makes one: a score and an alert rule on it."""
    record(make_source("together-map"), [price("together", QWEN_TOGETHER, model="qwen3-a")], at(0))
    auto = LanguageModel.objects.get(slug="qwen3-a")
    auto.scores.create(benchmark="eci", score=Decimal(140), source="epoch")
    auto.scores.create(benchmark="gpqa", score=Decimal("0.7"), source="epoch")
    subscriber = Subscriber.objects.create(email="ann@example.org", confirmed_at=timezone.now())
    Rule.objects.create(
        subscriber=subscriber, target=Rule.Target.MODEL, model=auto, condition=Rule.Condition.ANY
    )
    return auto


@pytest.mark.django_db
def test_an_alias_added_later_moves_offerings_and_folds_the_auto_model_in(make_source):
    auto = _auto_qwen(make_source)
    canonical = LanguageModel.objects.create(slug="qwen3-235b", name="Qwen3 235B")
    canonical.scores.create(benchmark="eci", score=Decimal(141), source="epoch")
    spans_before = list(PriceSpan.objects.values_list("pk", "offering_id"))
    charts_before = chartkit.data_version()
    assert identity.adopt({"qwen3-235b-a22b-instruct-tput": canonical.pk}) == 1
    assert chartkit.data_version() != charts_before  # cached charts are drawn again
    assert Offering.objects.get().model == canonical
    assert not LanguageModel.objects.filter(pk=auto.pk).exists()
    assert list(PriceSpan.objects.values_list("pk", "offering_id")) == spans_before
    assert dict(ModelAlias.objects.values_list("alias", "model__slug")) == {
        "qwen3-235b-a22b-instruct-tput": "qwen3-235b",  # ingest's alias for the seller's id
        "qwen3-a": "qwen3-235b",  # the folded model's slug, for the spellings that made it
    }
    assert Rule.objects.get().model == canonical
    assert sorted(canonical.scores.values_list("benchmark", "score")) == [
        ("eci", Decimal(141)),  # its own score stays; the folded one's goes
        ("gpqa", Decimal("0.7")),
    ]


@pytest.mark.django_db
def test_offerings_on_a_model_someone_chose_never_move(make_source):
    chosen = LanguageModel.objects.create(slug="qwen3-a", name="Qwen3 A")
    record(make_source("together-map"), [price("together", QWEN_TOGETHER, model="qwen3-a")], at(0))
    other = LanguageModel.objects.create(slug="qwen3-235b", name="Qwen3 235B")
    assert identity.adopt({"qwen3-235b-a22b-instruct-tput": other.pk, "qwen3-a": other.pk}) == 0
    assert Offering.objects.get().model == chosen


@pytest.mark.django_db
def test_an_auto_model_keeping_other_offerings_stays(make_source):
    record(
        make_source("map"),
        [
            price("together", QWEN_TOGETHER, model="qwen3-a"),
            price("fireworks", "qwen3-a-fw", model="qwen3-a"),
        ],
        at(0),
    )
    auto = LanguageModel.objects.get(slug="qwen3-a")
    assert Offering.objects.filter(model=auto).count() == 2
    canonical = LanguageModel.objects.create(slug="qwen3-235b", name="Qwen3 235B")
    assert identity.adopt({"qwen3-235b-a22b-instruct-tput": canonical.pk}) == 1
    assert Offering.objects.get(provider__slug="fireworks").model == auto


@pytest.mark.django_db
def test_an_operator_correcting_an_alias_in_the_admin_moves_its_offerings(client, make_source):
    _auto_qwen(make_source)
    canonical = LanguageModel.objects.create(slug="qwen3-235b", name="Qwen3 235B")
    alias = ModelAlias.objects.get(alias="qwen3-235b-a22b-instruct-tput")
    client.force_login(User.objects.create_superuser("op", "op@example.org", "pw"))
    response = client.post(
        f"/admin/tracker/modelalias/{alias.pk}/change/",
        {"alias": alias.alias, "model": canonical.pk, "auto_created": "on"},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 offering(s) moved to qwen3-235b" in response.content.decode()
    assert Offering.objects.get().model == canonical
    assert ModelAlias.objects.get(pk=alias.pk).auto_created is False  # reviewed


@pytest.mark.django_db
def test_the_curated_file_reaches_offerings_made_before_it_and_rewrites_nothing_unchanged(
    make_source, tmp_path
):
    _auto_qwen(make_source)
    LanguageModel.objects.create(slug="qwen3-235b", name="Qwen3 235B")
    path = tmp_path / "aliases.csv"
    path.write_text("alias,model,note\nQwen/Qwen3-235B-A22B-Instruct-tput,qwen3-235b,Together\n")
    assert load_aliases(path) == (1, 0)
    assert Offering.objects.get().model.slug == "qwen3-235b"
    with CaptureQueriesContext(connection) as queries:
        assert load_aliases(path) == (1, 0)
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert [w for w in writes if "SAVEPOINT" not in w.upper()] == []
