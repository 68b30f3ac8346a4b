"""Framework hand-overs: one file per framework, each a `Framework` (see `base.py`).

`install(app, handover)` finds the framework of the app a middleware wraps
(looking through wrappers that keep it as `.app`) and installs its hand-over;
`FRAMEWORKS` also reads each framework's own exceptions as problems, for every
framework that is imported.
"""

from __future__ import annotations

from typing import Any

from problemdetails._handovers.aiohttp import AioHTTP
from problemdetails._handovers.base import Framework, HandOver
from problemdetails._handovers.blacksheep import BlackSheep
from problemdetails._handovers.connexion import Connexion
from problemdetails._handovers.django import Django
from problemdetails._handovers.drf import DRF
from problemdetails._handovers.falcon import Falcon
from problemdetails._handovers.flask import Flask, Quart, Werkzeug
from problemdetails._handovers.litestar import Litestar
from problemdetails._handovers.ninja import Ninja
from problemdetails._handovers.pyramid import Pyramid
from problemdetails._handovers.sanic import Sanic
from problemdetails._handovers.starlette import Starlette
from problemdetails._handovers.tornado import Tornado

__all__ = ["FRAMEWORKS", "HandOver", "framework_of", "install"]

# DRF and Django Ninja before Django: their exceptions are what their views raise.
FRAMEWORKS: tuple[Framework, ...] = (
    Connexion(),  # before Starlette: its `ProblemException`s are Starlette's `HTTPException`s too
    Starlette(),
    Litestar(),
    DRF(),
    Ninja(),
    Django(),
    Werkzeug(),
    Flask(),
    Quart(),
    Falcon(),
    BlackSheep(),
    AioHTTP(),
    Tornado(),
    Sanic(),
    Pyramid(),
)


def framework_of(app: object) -> tuple[Framework, Any] | None:
    """The framework of `app`, and its application object, looking through middleware that wrap it as `.app`."""
    seen: set[int] = set()
    current: Any = app
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for framework in FRAMEWORKS:
            if framework.apps and framework.owns(current):
                return framework, current
        # A bound method (`flask_app.wsgi_app`) stands for its app; other wrappers keep theirs as `.app`.
        current = getattr(current, "__self__", None) or getattr(current, "app", None)
    return None


def install(app: object, handover: HandOver) -> Framework | None:
    """Install the hand-over that `app`'s framework needs; the framework, or None for an app of none."""
    found = framework_of(app)
    if found is None:
        return None
    framework, framework_app = found
    framework.install(framework_app, handover)
    handover.integrated = True
    return framework
