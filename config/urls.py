from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # Pages link the SVG icon; a browser asking for the old default (the admin's pages) gets it too.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("llm_agents.urls")),
    path("", include("judging.urls")),
    path("", include("debate.urls")),
]
