"""Identity across sources: mapping each source's spelling of a model to one LanguageModel."""

from __future__ import annotations

import re

_DATE_TAG = re.compile(r"\s*\((?:[a-z]+\s+)?\d{4}(?:-\d{2}){0,2}\)$")


def normalise(name: str) -> str:
    """The form aliases are stored and looked up in: lowercase, vendor prefix and ':variant'
    suffix dropped, spaces and underscores as hyphens.

    'openai/gpt-4o' -> 'gpt-4o'; 'anthropic/claude-3.5-sonnet:beta' -> 'claude-3.5-sonnet';
    'Llama 3 70B Instruct' -> 'llama-3-70b-instruct'.
    """
    text = name.strip().lower()
    text = text.rsplit("/", 1)[-1]
    text = text.split(":", 1)[0]
    text = _DATE_TAG.sub("", text)
    text = re.sub(r"[\s_]+", "-", text)
    return re.sub(r"[^a-z0-9.+-]", "", text).strip("-.")
