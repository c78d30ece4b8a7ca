"""URLconf for a campaign's own host name: the survey at the root, nothing else
(but the uploads its pages show, such as the campaign logo, as config/urls.py serves them)."""

from django.conf import settings
from django.urls import include, path

urlpatterns = [path("", include("surveys.backer_urls"))]

if settings.SERVE_MEDIA:
    # Self-hosted installs serve uploads (campaign logos) from the app; put a
    # proxy or object storage in front when traffic grows.
    from django.urls import re_path
    from django.views.static import serve

    urlpatterns += [
        re_path(
            r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}, name="media"
        )
    ]
