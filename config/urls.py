from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from config.login import login_view, throttled


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Pages link the SVG icon; a browser asking for the old default (on the admin's pages, say)
    is sent there too. Resolved per request: the static manifest may not exist at import time."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/login/", throttled(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    path("accounts/login/", login_view, name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("llm_agents.urls")),
    path("", include("judging.urls")),
    path("", include("debate.urls")),
]
