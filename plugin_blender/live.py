"""Live Preview: the current frame, upres'd on the warm engine, kept up to date while the artist
moves Detail or the mask, changes frame or model.

A `bpy.app.timers` timer (`tick`) runs while any object has Live Preview on. Each tick compares
the object's settings signature with the last one; after DEBOUNCE seconds without a change (a
slider drag is one change, not fifty runs), and when no request of that object is running, it
sends one preview request to the warm engine and goes on ticking; the answer is loaded into the
object's preview Volume on a later tick. The timer never blocks Blender.
"""

from __future__ import annotations

import time

import bpy

DEBOUNCE = 0.35
INTERVAL = 0.1

_STATE: dict[str, dict] = {}  # input object name -> its live-preview state


def signature(context, obj) -> tuple:
    """Everything a preview of `obj` depends on."""
    s = obj.billow
    mask = None
    if s.mask_object is not None:
        e = s.mask_object
        mask = (e.empty_display_type, round(e.empty_display_size, 6),
                tuple(round(v, 6) for row in e.matrix_world for v in row), s.mask_falloff)
    return (context.scene.frame_current, round(s.detail, 6), mask, s.model_file, s.scale,
            s.up_axis, s.pass_flame, s.pass_heat, s.pass_color, s.write_velocity,
            s.device, s.output_folder, s.material_density,
            tuple(round(v, 6) for row in obj.matrix_world for v in row))


def _live_objects():
    return [o for o in bpy.data.objects
            if o.get("billow_role") is None and getattr(o, "billow", None) is not None
            and o.billow.live_preview]


def _status(context, text: str) -> None:
    wm = context.window_manager
    if wm is not None:
        wm.billow_status = text
        for window in wm.windows:
            for area in window.screen.areas:
                if area.type in ("VIEW_3D", "PROPERTIES"):
                    area.tag_redraw()


def step(context, obj, now: float | None = None) -> str:
    """One live-preview step for `obj`: what happened (idle, waiting, started, loaded, failed)."""
    from .operators import apply_result, make_plan, start_job

    now = time.monotonic() if now is None else now
    st = _STATE.setdefault(obj.name, {"sig": None, "changed": 0.0, "job": None, "plan": None,
                                      "shown": None, "running": None})
    sig = signature(context, obj)
    if sig != st["sig"]:
        st["sig"], st["changed"] = sig, now
    if st["job"] is not None:
        snap = st["job"].status.snapshot()
        if not snap.finished:
            return "running"
        job_sig, plan, via = st["running"], st["plan"], st["job"].via
        st["job"] = st["plan"] = None
        level, message, out = apply_result(context, plan, snap, via)
        st["shown"] = job_sig
        _status(context, f"billow live preview: {message.removeprefix('billow: ')}"
                if out is not None else message)
        return "loaded" if out is not None else "failed"
    if st["shown"] == sig or now - st["changed"] < DEBOUNCE:
        return "idle" if st["shown"] == sig else "waiting"
    from .operators import _ACTIVE

    if obj.name in _ACTIVE:  # its Upres is running (on the warm engine, maybe): not behind it
        return "waiting"
    from .core.command import EngineNotFound
    from .core.mask import MaskError
    from .scene import SourceError

    try:
        plan = make_plan(context, obj, "preview")
    except (SourceError, MaskError, EngineNotFound, ValueError) as e:
        st["shown"] = sig  # wait for the next change before trying again
        _status(context, f"billow live preview: {e}")
        return "failed"
    st["job"], st["plan"], st["running"] = start_job(context, plan), plan, sig
    _status(context, "billow live preview: updating...")
    return "started"


def tick():
    """The timer: a step for every object with Live Preview on; stops when none is left."""
    context = bpy.context
    objects = _live_objects()
    for name in [n for n in _STATE if n not in {o.name for o in objects}]:
        _STATE.pop(name)
    if not objects:
        return None
    for obj in objects:
        try:
            step(context, obj)
        except (ReferenceError, RuntimeError) as e:  # object removed, context gone
            print(f"billow live preview: {e}")
    return INTERVAL


def ensure_timer() -> None:
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=INTERVAL)


def register():
    pass


def unregister():
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    _STATE.clear()
