"""Back-office URL of the catalog translations (mounted under /app/)."""

from django.urls import path

from . import catalog_text_views as views

urlpatterns: list = [
    path(
        "c/<slug:slug>/survey/translations/", views.survey_translations, name="survey-translations"
    ),
]
