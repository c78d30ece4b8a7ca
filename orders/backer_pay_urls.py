"""Backer-facing payment and invoice URLs, mounted in the survey (surveys/backer_urls.py)."""

urlpatterns: list = []
