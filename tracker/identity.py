"""Identity across sources: mapping each source's spelling of a model to one LanguageModel."""

from __future__ import annotations

import csv
import re
from pathlib import Path

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
    the ledger and after the price maps). A curated alias replaces an auto-created one.
    Idempotent.
    """
    from tracker.models import LanguageModel, ModelAlias

    if not path.exists():
        return 0, 0
    with path.open(encoding="utf-8", newline="") as f:
        rows = [(normalise(r["alias"]), r["model"].strip()) for r in csv.DictReader(f)]
    models = dict(
        LanguageModel.objects.filter(slug__in={m for _, m in rows}).values_list("slug", "pk")
    )
    loaded = waiting = 0
    for alias, slug in rows:
        if slug not in models or not alias or alias == slug:
            waiting += slug not in models
            continue
        ModelAlias.objects.update_or_create(
            alias=alias, defaults={"model_id": models[slug], "auto_created": False}
        )
        loaded += 1
    return loaded, waiting
