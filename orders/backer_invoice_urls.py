"""Backer-facing invoice downloads, mounted in the survey (surveys/backer_urls.py)."""

urlpatterns: list = []
