from django.urls import path

from llm_agents import views

app_name = "llm_agents"

urlpatterns = [
    path("batches/", views.batch_list, name="batch-list"),
    path("batches/<str:batch_id>/", views.batch_detail, name="batch-detail"),
    path("sessions/<int:session_id>/retry", views.turn_retry, name="turn-retry"),
]
