"""Back-office survey design URLs (mounted under /app/)."""

from django.urls import path

from . import design_views as views

SURVEY = "c/<slug:slug>/survey/"
QUESTION = f"{SURVEY}questions/<int:question_id>/"

urlpatterns: list = [
    path(SURVEY, views.survey_settings, name="survey-settings"),
    path(f"{SURVEY}status/", views.survey_status, name="survey-status"),
    path(f"{SURVEY}questions/", views.question_list, name="survey-questions"),
    path(f"{SURVEY}questions/new/", views.question_create, name="survey-question-create"),
    path(QUESTION, views.question_edit, name="survey-question-edit"),
    path(f"{QUESTION}delete/", views.question_delete, name="survey-question-delete"),
    path(f"{QUESTION}move/", views.question_move, name="survey-question-move"),
    path(f"{SURVEY}late-pledges/", views.late_rewards, name="survey-late-rewards"),
    path(f"{SURVEY}preview/", views.preview, name="survey-preview"),
    path(f"{SURVEY}completion/", views.completion, name="survey-stats"),
    path(
        f"{SURVEY}completion/non-responders.csv",
        views.non_responders_csv,
        name="survey-stats-csv",
    ),
]
