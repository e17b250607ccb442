from django.urls import path

from debate import views
from debate.scheduling.views import reading_mark_post
from debate.scheduling.views import schedule as schedule_view

app_name = "debate"

urlpatterns = [
    path("", views.home, name="home"),
    path("sessions/", views.session_list, name="session-list"),
    path("me/notifications/", views.notification_settings, name="notification-settings"),
    path("sessions/new/", views.session_new, name="session-new"),
    path("sessions/new/judges", views.session_new_judges, name="session-new-judges"),
    path("sessions/schedule/", schedule_view, name="schedule"),
    path("sessions/schedule/readings", reading_mark_post, name="reading-mark"),
    path("sessions/<int:session_id>/", views.session_room, name="session"),
    path("sessions/<int:session_id>/view.json", views.session_view_json, name="session-view-json"),
    path("sessions/<int:session_id>/speech", views.speech_post, name="speech"),
    path("sessions/<int:session_id>/undo", views.undo_post, name="undo"),
    path("sessions/<int:session_id>/judgment", views.judgment_post, name="judgment"),
    path("sessions/<int:session_id>/vote", views.vote_post, name="vote"),
    path("sessions/<int:session_id>/choice", views.choice_post, name="choice"),
    path("sessions/<int:session_id>/offline-start", views.offline_start_post, name="offline-start"),
    path("sessions/<int:session_id>/draft", views.draft_preview, name="draft"),
    path("sessions/<int:session_id>/note-draft", views.note_draft_post, name="note-draft"),
    path("sessions/<int:session_id>/score", views.score_preview, name="score"),
    path("sessions/<int:session_id>/scratchpad", views.scratchpad_post, name="scratchpad"),
]
