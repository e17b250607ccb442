from django.urls import path

from judging import views

app_name = "judging"

urlpatterns = [
    path("analysis/", views.analysis_page, name="analysis"),
    path("analysis/table.csv", views.analysis_table_csv, name="analysis-csv"),
    path("analysis/charts/<str:name>.svg", views.analysis_chart, name="analysis-chart"),
    path("sessions/<int:session_id>/error-tags", views.error_tags_post, name="error-tags"),
]
