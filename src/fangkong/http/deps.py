"""The FastAPI dependencies every route takes: the application context, the caller, the
caller's address, and the guarded :class:`~fangkong.auth.guard.Call` built from them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fangkong.auth.guard import Call
from fangkong.auth.model import Actor
from fangkong.http.context import AppContext, app_context, client_address, current_actor


def request_call(request: Request) -> Call:
    """The guarded call of this request: store, audit key, caller, address, time zone."""
    ctx = app_context(request)
    return Call(
        engine=ctx.engine,
        key=ctx.keys.audit,
        actor=current_actor(request),
        address=client_address(request),
        tz=ctx.settings.tz,
    )


Ctx = Annotated[AppContext, Depends(app_context)]
Caller = Annotated[Actor, Depends(current_actor)]
Address = Annotated[str, Depends(client_address)]
CallDep = Annotated[Call, Depends(request_call)]
