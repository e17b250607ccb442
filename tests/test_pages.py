"""The home page, login and the admin site, as a user reaches them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from debate.demo import DEMO_PASSWORD, demo_data_create

pytestmark = pytest.mark.django_db


def test_home_page_says_what_the_platform_is(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Debate and consultancy experiments" in response.content.decode()
    assert 'href="/accounts/login/"' in response.content.decode()


def test_demo_staff_login_opens_every_admin_list_and_change_page(client):
    demo_data_create()
    assert client.login(username="admin", password=DEMO_PASSWORD)
    from django.contrib import admin

    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
        first = model.objects.first()
        if first is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            assert client.get(change).status_code == 200, change


def test_login_page_logs_a_demo_user_in(client):
    demo_data_create()
    response = client.post(
        "/accounts/login/", {"username": "judy", "password": DEMO_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert "judy" in response.content.decode()
    client.logout()
    bad = client.post("/accounts/login/", {"username": "judy", "password": "wrong"})
    assert "didn't match" in bad.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_every_page_has_an_icon_and_the_old_default_leads_to_it(client):
    page = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)
