from django.urls import path

from debate import views

app_name = "debate"

urlpatterns = [
    path("", views.home, name="home"),
    path("sessions/<int:session_id>/view.json", views.session_view_json, name="session-view-json"),
]
