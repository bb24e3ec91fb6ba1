"""Every model is in the admin, and its list and add pages load."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User

TRACKER_MODELS = list(apps.get_app_config("tracker").get_models())


def test_every_tracker_model_is_registered():
    missing = [m.__name__ for m in TRACKER_MODELS if m not in admin.site._registry]
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", TRACKER_MODELS, ids=lambda m: m.__name__)
def test_list_and_add_pages_load(client, model):
    client.force_login(User.objects.create_superuser("op", "op@example.org", "pw"))
    base = f"/admin/tracker/{model._meta.model_name}/"
    assert client.get(base).status_code == 200
    assert client.get(base + "add/").status_code == 200
