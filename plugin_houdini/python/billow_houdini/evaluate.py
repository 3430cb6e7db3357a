"""File parameters evaluated as Houdini evaluates them, except the frame number. Plain Python:
the `hou` calls come in as arguments, so tests run without Houdini.

A cache path is a pattern: `$F4` must reach the engine unexpanded. Houdini's own evaluation
(`parm.evalAsString()`) replaces it with the current frame, while the raw text
(`parm.unexpandedString()`) keeps backtick expressions, `chs()` references and `$OS` literally.
So: follow channel references to the parameter that holds the text, hide the frame tokens
outside backticks behind placeholders, let Houdini expand the rest in the context of the node
that owns the text (so `$OS`, relative `chs()` paths and backticks mean what they mean there),
and put the frame tokens back.
"""

from __future__ import annotations

import re

# $F, $F4, ${F}, ${F4} (not $FF, $FPS, $FSTART...)
FRAME_TOKEN = re.compile(r"\$\{F(\d*)\}|\$F(\d*)(?![A-Za-z_0-9])")
_PLACEHOLDER = "BILLOWFRAMETOKEN{}X"
_PLACEHOLDER_RE = re.compile(r"BILLOWFRAMETOKEN(\d+)X")


class ExpressionError(ValueError):
    """A path parameter whose value is an expression that cannot keep a frame pattern."""


def protect_frame_tokens(text: str) -> tuple[str, list[str]]:
    """`text` with frame tokens outside backticks replaced by placeholders, and the tokens.
    Inside backticks (`` `padzero(4, $F)` ``) the token is part of an expression and stays."""
    tokens: list[str] = []
    out, inside = [], False
    for k, part in enumerate(str(text).split("`")):
        if k:
            out.append("`")
            inside = not inside
        if inside:
            out.append(part)
            continue

        def hide(m):
            tokens.append(m.group(0))
            return _PLACEHOLDER.format(len(tokens) - 1)

        out.append(FRAME_TOKEN.sub(hide, part))
    return "".join(out), tokens


def restore_frame_tokens(text: str, tokens: list[str]) -> str:
    return _PLACEHOLDER_RE.sub(lambda m: tokens[int(m.group(1))], text)


def expand_keeping_frames(text: str, expand) -> str:
    """`expand(text)` (Houdini's expansion: variables, backticks, expressions) with the frame
    tokens outside backticks kept as they are."""
    hidden, tokens = protect_frame_tokens(text)
    return restore_frame_tokens(expand(hidden), tokens)


def source_parm(parm, limit: int = 32):
    """The parameter that holds `parm`'s text: channel references (`chs("../cache/file")`,
    the way a File Cache's path is wired in) are followed to their end."""
    seen = 0
    while seen < limit:
        ref = parm.getReferencedParm()
        if ref is None or ref.path() == parm.path():
            return parm
        parm, seen = ref, seen + 1
    raise ExpressionError(f"{parm.path()}: channel references loop")


def evaluate_path(parm, expand_in, operation_failed=Exception) -> str:
    """A file parameter's value as the engine needs it: everything Houdini would expand,
    expanded in the context of the node that holds the text, frame tokens kept.

    `expand_in(node, text)` runs Houdini's expansion with `node` as the current node (in
    Houdini: `hou.setPwd(node)` and `hou.text.expandString(text)`); `operation_failed` is
    `hou.OperationFailed` (what `unexpandedString()` raises for an expression parameter)."""
    holder = source_parm(parm)
    try:
        raw = holder.unexpandedString()
    except operation_failed:  # a Python/hscript expression that is not a plain reference
        value = holder.evalAsString()
        if FRAME_TOKEN.search(value) or "#" in value:
            return value  # the expression returned a pattern: use it
        raise ExpressionError(
            f"{parm.path()}: its expression gives '{value}' at this frame, not a frame "
            "pattern; write the path as text with $F4 (backticks are fine) or reference a "
            "parameter that holds one") from None
    return expand_keeping_frames(raw, lambda text: expand_in(holder.node(), text))


def expander(hou):
    """`expand_in(node, text)` for `evaluate_path` from the `hou` module: Houdini's expansion
    of `text` as seen from `node` ($OS is its name, relative `chs()` paths start there)."""

    def expand_in(node, text: str) -> str:
        previous = hou.pwd()
        hou.setPwd(node)
        try:
            return hou.text.expandString(text)
        finally:
            hou.setPwd(previous)

    return expand_in
