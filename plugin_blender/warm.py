"""The warm engine inside Blender: one `billow serve` process (core/server.py) for the session,
started at the first preview, used by previews and by Upres while it runs, restarted when the
engine setting changes or it stopped, and ended when the add-on is disabled or Blender quits
(its stdin closes with Blender in any case)."""

from __future__ import annotations

import atexit

from .core.server import EngineServer, ServerError

_SERVER: EngineServer | None = None


def server(context, prefix: list[str], model: str | None = None) -> EngineServer:
    """The running warm engine for this engine `prefix` (started, with `model` loaded first)."""
    global _SERVER
    if _SERVER is not None and _SERVER.alive and _SERVER.prefix == list(prefix):
        return _SERVER
    shutdown()
    args = ("--model", model) if model else ()
    _SERVER = EngineServer(list(prefix), args).start()
    if not _SERVER.alive:
        raise ServerError("the warm engine stopped at start-up")
    return _SERVER


def current() -> EngineServer | None:
    return _SERVER


def running(prefix: list[str]) -> EngineServer | None:
    """The warm engine if one is running for this engine `prefix` (never starts one)."""
    if _SERVER is not None and _SERVER.alive and _SERVER.prefix == list(prefix):
        return _SERVER
    return None


def shutdown() -> None:
    global _SERVER
    if _SERVER is not None:
        _SERVER.close()
        _SERVER = None


atexit.register(shutdown)


def register():
    pass


def unregister():
    shutdown()
