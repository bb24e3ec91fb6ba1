from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def usd(value: Decimal | None) -> str:
    """A price as people write it: $2.50, $0.15, $0.0375, $60 (never 0.0100 or 1E+1)."""
    if value is None:
        return "\N{EN DASH}"
    value = Decimal(value)
    if value >= 1 or value == 0:
        text = f"{value:,.2f}"
        return "$" + (text[:-3] if text.endswith(".00") and value >= 10 else text)
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"
