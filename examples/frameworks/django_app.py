"""Django (ASGI and WSGI) with Django REST framework and Django Ninja, each handler wrapped in one line.

```python
asgi_app = ProblemMiddleware(get_asgi_application(), catalog=CATALOG)
wsgi_app = WSGIProblemMiddleware(get_wsgi_application(), catalog=CATALOG)
REST_FRAMEWORK = {"EXCEPTION_HANDLER": "problemdetails.drf_exception_handler"}
problemdetails.install(api, catalog=CATALOG)  # the NinjaAPI
```

A whole project in one file: its settings, URLs, views and middleware. The
plain Django views are at the contract's paths; the DRF views are the same
under `/drf/`, plus DRF's validation, authentication and throttling; the Ninja
API's under `/ninja/`, plus its validation, authentication and throttling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="an example project's key, not a secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    MIDDLEWARE=[f"{__name__}.Gateway"],
    DATABASES={},
    REST_FRAMEWORK={
        "EXCEPTION_HANDLER": "problemdetails.drf_exception_handler",
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "UNAUTHENTICATED_USER": None,
    },
    LOGGING_CONFIG=None,  # the middleware logs every problem; Django's request logging stays off here
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402  (after settings, as Django requires)
from django.core.exceptions import PermissionDenied, SuspiciousOperation  # noqa: E402
from django.core.handlers.asgi import ASGIRequest  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views import View  # noqa: E402
from django.views.decorators.http import require_GET  # noqa: E402
from ninja import Field, NinjaAPI, Router, Schema  # noqa: E402
from ninja.errors import Throttled as NinjaThrottled  # noqa: E402
from ninja.security import HttpBearer  # noqa: E402
from rest_framework import serializers  # noqa: E402
from rest_framework.authentication import BasicAuthentication  # noqa: E402
from rest_framework.exceptions import Throttled  # noqa: E402
from rest_framework.permissions import IsAuthenticated  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from examples.frameworks.common import (  # noqa: E402
    CATALOG,
    EXCEPTION_MAP,
    SECRET,
    ZoneLocked,
    async_chunks,
    chunks,
    conflict,
    forbidden,
    gone,
)
from problemdetails import ProblemMiddleware, WSGIProblemMiddleware, install  # noqa: E402


class Gateway:
    """A Django middleware of the project's own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.endswith("/from-middleware"):
            raise forbidden()
        return self.get_response(request)


@require_GET
def ok(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


@require_GET
def raise_conflict(request: HttpRequest) -> HttpResponse:
    raise conflict()


class Invitation(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        raise gone()


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET)


def mapped(request: HttpRequest) -> HttpResponse:
    raise ZoneLocked("zone z1 is locked")


def unavailable(request: HttpRequest) -> HttpResponse:
    raise CATALOG["unavailable"](retry_after=30)


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("a forged session")


def http_error(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("not for you")  # Django's HTTP errors carry no headers


def stream(request: HttpRequest) -> HttpResponse:
    # Django streams an async iterator under ASGI and a plain one under WSGI.
    body = async_chunks() if isinstance(request, ASGIRequest) else chunks()
    return StreamingHttpResponse(body, content_type="application/octet-stream")


# -- DRF


class ProfileSerializer(serializers.Serializer[Any]):
    color = serializers.ChoiceField(choices=["green", "red", "blue"])


class AccountSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=10)
    profile = ProfileSerializer()
    tags = serializers.ListField(child=serializers.IntegerField(), required=False)


class DRFOk(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class DRFConflict(APIView):
    def get(self, request: Request) -> Response:
        raise conflict()


class DRFGone(APIView):
    def get(self, request: Request) -> Response:
        raise gone()


class DRFCrash(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError(SECRET)


class DRFMapped(APIView):
    def get(self, request: Request) -> Response:
        raise ZoneLocked("zone z1 is locked")


class DRFThrottled(APIView):
    def get(self, request: Request) -> Response:
        raise Throttled(wait=7)


class DRFValidate(APIView):
    def post(self, request: Request) -> Response:
        serializer = AccountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"ok": True})


# Limits DRF formats into its messages and drops: the items carry them as `params`.
class LineSerializer(serializers.Serializer[Any]):
    qty = serializers.IntegerField(min_value=1, max_value=99)
    price = serializers.DecimalField(max_digits=5, decimal_places=2)


class OrderSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField(min_length=3, max_length=8)
    lines = LineSerializer(many=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=4), required=False)
    note = serializers.CharField()


class DRFOrders(APIView):
    def post(self, request: Request) -> Response:
        OrderSerializer(data=request.data).is_valid(raise_exception=True)
        return Response({"ok": True})


class DRFPrivate(APIView):
    authentication_classes: ClassVar = [BasicAuthentication]
    permission_classes: ClassVar = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


# -- Django Ninja

api = NinjaAPI(urls_namespace="ninja")
invitations = Router()


class Profile(Schema):
    color: Literal["green", "red", "blue"]


class Account(Schema):
    name: str = Field(max_length=10)
    profile: Profile


class Token(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        return None  # no token is good


@api.get("/ok")
def ninja_ok(request: HttpRequest) -> dict[str, bool]:
    return {"ok": True}


@api.get("/conflict")
def ninja_conflict(request: HttpRequest) -> None:
    raise conflict()


@invitations.get("/class")
def ninja_gone(request: HttpRequest) -> None:
    raise gone()


api.add_router("/", invitations)


@api.get("/crash")
def ninja_crash(request: HttpRequest) -> None:
    raise RuntimeError(SECRET)


@api.get("/mapped")
def ninja_mapped(request: HttpRequest) -> None:
    raise ZoneLocked("zone z1 is locked")


@api.get("/http-error")
def ninja_throttled(request: HttpRequest) -> None:
    raise NinjaThrottled(wait=7)


@api.post("/validate")
def ninja_validate(request: HttpRequest, account: Account) -> dict[str, bool]:
    return {"ok": True}


@api.get("/private", auth=Token())
def ninja_private(request: HttpRequest) -> dict[str, bool]:
    return {"ok": True}


install(api, catalog=CATALOG, exception_map=EXCEPTION_MAP)

urlpatterns = [
    path("ninja/", api.urls),
    path("ninja/stream", stream),
    path("ok", ok),
    path("conflict", raise_conflict),
    path("class", Invitation.as_view()),
    path("crash", crash),
    path("mapped", mapped),
    path("http-error", http_error),
    path("suspicious", suspicious),
    path("unavailable", unavailable),
    path("stream", stream),
    path("drf/ok", DRFOk.as_view()),
    path("drf/conflict", DRFConflict.as_view()),
    path("drf/class", DRFGone.as_view()),
    path("drf/crash", DRFCrash.as_view()),
    path("drf/mapped", DRFMapped.as_view()),
    path("drf/http-error", DRFThrottled.as_view()),
    path("drf/validate", DRFValidate.as_view()),
    path("drf/orders", DRFOrders.as_view()),
    path("drf/private", DRFPrivate.as_view()),
    path("drf/stream", stream),
]

asgi_app = ProblemMiddleware(get_asgi_application(), catalog=CATALOG, exception_map=EXCEPTION_MAP)
wsgi_app = WSGIProblemMiddleware(get_wsgi_application(), catalog=CATALOG, exception_map=EXCEPTION_MAP)

# The same project with the layer installed in each handler's own middleware chain, as the
# `MIDDLEWARE` setting puts it (`problemdetails.django.ProblemDetailsMiddleware`), with no wrapper.
installed_asgi_app = install(get_asgi_application(), catalog=CATALOG, exception_map=EXCEPTION_MAP)
installed_wsgi_app = install(get_wsgi_application(), catalog=CATALOG, exception_map=EXCEPTION_MAP)
