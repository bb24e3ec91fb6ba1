"""Identity across sources: mapping each source's spelling of a model to one LanguageModel."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from django.db import transaction

# Who made a model, from the organisation prefix of an id such as 'meta-llama/Llama-3-70B'.
CREATOR_PREFIXES = {
    "meta-llama": "meta",
    "mistralai": "mistral",
    "deepseek-ai": "deepseek",
    "deepseek": "deepseek",
    "qwen": "qwen",
    "google": "google",
    "openai": "openai",
    "anthropic": "anthropic",
    "x-ai": "x-ai",
    "moonshotai": "moonshotai",
}
_VARIANT = re.compile(r":[a-z0-9.-]+$")  # ':free', ':beta'; not 'Vendor: Model' display names
_DATE_TAG = re.compile(r"\s*\((?:[a-z]+\s+)?\d{4}(?:-\d{2}){0,2}\)$")


def slugify(text: str) -> str:
    """Lowercase letters, digits, '.', '_' and '-' only; may be empty."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")


def normalise(name: str) -> str:
    """The form aliases are stored and looked up in: lowercase, vendor prefix and ':variant'
    suffix dropped, spaces and underscores as hyphens.

    'openai/gpt-4o' -> 'gpt-4o'; 'anthropic/claude-3.5-sonnet:beta' -> 'claude-3.5-sonnet';
    'Llama 3 70B Instruct' -> 'llama-3-70b-instruct'.
    """
    text = name.strip().lower()
    text = text.rsplit("/", 1)[-1]
    text = _VARIANT.sub("", text)
    text = _DATE_TAG.sub("", text)
    text = re.sub(r"[\s_]+", "-", text)
    return re.sub(r"[^a-z0-9.+-]", "", text).strip("-.")


ALIASES_PATH = Path(__file__).resolve().parent / "data" / "aliases.csv"


def load_aliases(path: Path = ALIASES_PATH) -> tuple[int, int]:
    """Load curated aliases (alias,model,note) for models that exist; returns (loaded, waiting).

    An alias whose model does not exist yet is left for a later load (seed loads twice: after
    the ledger and after the price maps). A curated alias replaces an auto-created one, and
    offerings that an alias new or changed here gives to another model move to it (adopt()).
    Idempotent: an unchanged file writes nothing.
    """
    from tracker.models import LanguageModel, ModelAlias

    if not path.exists():
        return 0, 0
    with path.open(encoding="utf-8", newline="") as f:
        rows = [(normalise(r["alias"]), r["model"].strip()) for r in csv.DictReader(f)]
    models = dict(
        LanguageModel.objects.filter(slug__in={m for _, m in rows}).values_list("slug", "pk")
    )
    wanted: dict[str, int] = {}
    waiting = 0
    for alias, slug in rows:
        if slug not in models or not alias or alias == slug:
            waiting += slug not in models
            continue
        wanted[alias] = models[slug]
    have = {
        alias: (pk, model_id, auto)
        for alias, pk, model_id, auto in ModelAlias.objects.filter(alias__in=wanted)
        .order_by()
        .values_list("alias", "pk", "model_id", "auto_created")
    }
    changed = {
        alias: model_id
        for alias, model_id in wanted.items()
        if have.get(alias, (None, None, True))[1:] != (model_id, False)
    }
    with transaction.atomic():
        ModelAlias.objects.bulk_create(
            [ModelAlias(alias=a, model_id=m) for a, m in changed.items() if a not in have]
        )
        for alias in changed.keys() & have.keys():
            ModelAlias.objects.filter(pk=have[alias][0]).update(
                model_id=changed[alias], auto_created=False
            )
        adopt(changed)
    return len(wanted), waiting


def adopt(aliases: Mapping[str, int]) -> int:
    """Offerings on an auto-discovered model whose spelling one of `aliases` (alias -> model
    id, set by a person or the curated file) gives to another model move to that model: the
    seller's id normalised, or the auto-discovered model's own slug. Their prices follow
    (spans and changes belong to the offering). An auto-discovered model left without
    offerings is merged into the one that took most of them (merge()). Returns how many
    offerings moved.

    Ingest applies aliases to new offerings only; this is how an alias added or corrected
    later reaches the offerings created before it.
    """
    from tracker.models import Offering

    if not aliases:
        return 0
    moves: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for pk, pmid, model_id, slug in Offering.objects.filter(
        model__auto_discovered=True
    ).values_list("pk", "provider_model_id", "model_id", "model__slug"):
        target = aliases.get(normalise(pmid), aliases.get(slug))
        if target is not None and target != model_id:
            moves[model_id][target].append(pk)
    moved = 0
    with transaction.atomic():
        for old, targets in moves.items():
            for new, offering_ids in targets.items():
                moved += Offering.objects.filter(pk__in=offering_ids).update(model_id=new)
            if not Offering.objects.filter(model_id=old).exists():
                merge(old, max(targets, key=lambda new: len(targets[new])))
    return moved


def merge(old_id: int, into_id: int) -> None:
    """Fold the auto-discovered model `old_id`, which has no offerings left, into `into_id`:
    its aliases and alert rules move, its slug becomes an alias, its capability scores move
    unless `into_id` has that benchmark from that source already, and it is deleted."""
    from tracker.alerts.models import Rule
    from tracker.models import CapabilityScore, LanguageModel, ModelAlias

    with transaction.atomic():
        old = LanguageModel.objects.select_for_update().get(pk=old_id)
        ModelAlias.objects.filter(model_id=old_id).update(model_id=into_id)
        if normalise(old.slug) != LanguageModel.objects.get(pk=into_id).slug:
            ModelAlias.objects.update_or_create(
                alias=normalise(old.slug), defaults={"model_id": into_id, "auto_created": False}
            )
        Rule.objects.filter(model_id=old_id).update(model_id=into_id)
        held = set(
            CapabilityScore.objects.filter(model_id=into_id).values_list("benchmark", "source")
        )
        for score in CapabilityScore.objects.filter(model_id=old_id):
            if (score.benchmark, score.source) not in held:
                score.model_id = into_id
                score.save(update_fields=["model"])
        old.delete()  # what is left of it (duplicate scores) goes with it
