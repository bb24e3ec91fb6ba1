"""{{ rule|describe }}: a rule in one sentence."""

from django import template

from tracker.alerts import services
from tracker.alerts.models import Rule

register = template.Library()


@register.filter
def describe(rule: Rule) -> str:
    return services.describe(rule)
