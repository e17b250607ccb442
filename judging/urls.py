from django.urls import path

from judging import views
from judging.leaderboards import views as leaderboard_views

app_name = "judging"

urlpatterns = [
    path("leaderboards/", leaderboard_views.leaderboards_page, name="leaderboards"),
    path("me/", leaderboard_views.my_history_page, name="my-history"),
    path(
        "people/<int:user_id>/history/",
        leaderboard_views.participant_history_page,
        name="participant-history",
    ),
    path("analysis/", views.analysis_page, name="analysis"),
    path("analysis/table.csv", views.analysis_table_csv, name="analysis-csv"),
    path("analysis/charts/<str:name>.svg", views.analysis_chart, name="analysis-chart"),
    path("analysis/figures/<str:name>.<str:fmt>", views.analysis_figure, name="analysis-figure"),
    path("sessions/<int:session_id>/error-tags", views.error_tags_post, name="error-tags"),
    path("sessions/<int:session_id>/survey", views.survey_page, name="survey"),
    path(
        "sessions/<int:session_id>/offline-judges",
        views.offline_judge_post,
        name="offline-judges",
    ),
]
