"""Dataset releases: dated, content-hashed snapshots of every table (see dashboard/releases.py)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

RELEASE_NAME_RE = RegexValidator(r"^\d{4}-\d{2}-\d{2}$", "A date: YYYY-MM-DD.")


class Release(models.Model):
    """One dated release. Its files live under RELEASES_DIR/<name>/ and are never pruned."""

    name = models.CharField(max_length=10, unique=True, validators=[RELEASE_NAME_RE])
    built_at = models.DateTimeField()
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows = models.JSONField(default=dict, help_text="Rows per table.")
    changes = models.JSONField(
        null=True,
        blank=True,
        help_text="Per table: rows added, removed, corrected since the last one.",
    )

    class Meta:
        ordering = ["-name"]

    def __str__(self) -> str:
        return self.name


class ReleaseFile(models.Model):
    """A file of a release, with the SHA-256 of its bytes."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=100, help_text="The file's name in the release directory.")
    table = models.CharField(max_length=32, blank=True)
    format = models.CharField(max_length=16)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["release", "name"]
        constraints = [
            models.UniqueConstraint(fields=["release", "name"], name="releasefile_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.release.name}/{self.name}"
