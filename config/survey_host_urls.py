"""URLconf for a campaign's own host name: the survey at the root, nothing else."""

from django.urls import include, path

urlpatterns = [path("", include("surveys.backer_urls"))]
