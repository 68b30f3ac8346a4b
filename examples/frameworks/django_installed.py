"""A Django project with the layer inside it: a settings module, and nothing to edit in `wsgi.py` or `asgi.py`.

```python
MIDDLEWARE = ["problemdetails.django.ProblemDetailsMiddleware", ...]
PROBLEMDETAILS = {"CATALOG": "catalog/", "EXCEPTION_MAP": {ZoneLocked: "conflict"}}
```

Run it as Django runs any project:

```console
$ DJANGO_SETTINGS_MODULE=examples.frameworks.django_installed python -m django runserver
```

Settings, URLs and views in one file (its own URLconf), so that it can be
served beside `django_app.py`, which configures Django in its process.
"""

from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from examples.frameworks.common import EXCEPTION_MAP, SECRET, ZoneLocked, conflict

DEBUG = False
SECRET_KEY = "an example project's key, not a secret"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, object] = {}
MIDDLEWARE = ["problemdetails.django.ProblemDetailsMiddleware"]
PROBLEMDETAILS = {"CATALOG": Path(__file__).resolve().parents[2] / "catalog", "EXCEPTION_MAP": EXCEPTION_MAP}


def ok(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


def raise_conflict(request: HttpRequest) -> HttpResponse:
    raise conflict()


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET)


def mapped(request: HttpRequest) -> HttpResponse:
    raise ZoneLocked("zone z1 is locked")


urlpatterns = [
    path("ok", require_GET(ok)),
    path("conflict", require_GET(raise_conflict)),
    path("crash", crash),
    path("mapped", mapped),
]
