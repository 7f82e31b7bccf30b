"""alphacut as an HTTP service: rembg's dialect (``/api/remove``), the remove.bg API v1.0
(``/v1.0/removebg``, ``/v1.0/account``) and alphacut's own (``/v1/cutout``, ``/v1/models``,
``/healthz``, ``/readyz``, ``/metrics``), on one engine that batches requests for the network.

``alphacut serve`` runs it; :func:`create_app` returns the ASGI app for embedding. Needs the
``server`` extra (``pip install "alphacut[server]"``: FastAPI, uvicorn, python-multipart,
prometheus-client).

Layout: :mod:`.app` (the app, the middleware around every request), :mod:`.service` (sessions,
batching queue, limits, timeouts, :class:`ServiceError`), one module per dialect
(:mod:`.rembg`, :mod:`.removebg`, :mod:`.native`) that only translates parameters and renders
errors, :mod:`.urls` (the SSRF-safe fetcher), :mod:`.config` (:class:`ServerConfig`),
:mod:`.metrics`.
"""

from __future__ import annotations

from .config import ServerConfig

__all__ = ["ServerConfig", "create_app", "require_server_packages"]


def require_server_packages() -> None:
    """Raise :class:`alphacut.Error` naming the ``server`` extra when one of its packages is missing."""
    import importlib.util

    from ..errors import Error

    missing = [
        m for m in ("fastapi", "uvicorn", "multipart", "prometheus_client") if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise Error(f'the server needs {", ".join(missing)}: pip install "alphacut[server]"')


def create_app(config=None, **kwargs):
    """The ASGI app (see :func:`alphacut.server.app.create_app`)."""
    require_server_packages()
    from .app import create_app as _create_app

    return _create_app(config, **kwargs)
