"""The routes' one dependency: the services built for this ingress (serve_app.services.composition)."""

from __future__ import annotations

from fastapi import Request

from serve_app.services.composition import Services


def services(request: Request) -> Services:
    return request.app.state.services


__all__ = ["Services", "services"]
