"""File parameters evaluated as Houdini does (backticks, chs() references, $OS at the node that
holds the text) with $F4 kept for the engine. `hou` is faked by the few calls the code makes:
Parm.getReferencedParm/path/node/unexpandedString/evalAsString and an expansion function."""

from __future__ import annotations

import re

import pytest

from billow_houdini.evaluate import (ExpressionError, evaluate_path, expand_keeping_frames,
                                     protect_frame_tokens)
from billow_houdini.paths import hashes

FRAME = 12


class OperationFailed(Exception):
    """Stands in for hou.OperationFailed."""


class Node:
    def __init__(self, path):
        self._path = path

    def name(self):
        return self._path.rsplit("/", 1)[-1]

    def path(self):
        return self._path


class Parm:
    """A Houdini parameter: raw text, or an expression (`expr`), maybe a channel reference."""

    def __init__(self, node, name, raw=None, ref=None, expr=None):
        self._node, self.name, self.raw, self.ref, self.expr = node, name, raw, ref, expr

    def path(self):
        return f"{self._node.path()}/{self.name}"

    def node(self):
        return self._node

    def getReferencedParm(self):
        return self.ref if self.ref is not None else self

    def unexpandedString(self):
        if self.raw is None:
            raise OperationFailed("expression")
        return self.raw

    def evalAsString(self):
        return fake_expand(self._node, self.expr if self.raw is None else self.raw)


VARS = {"HIP": "/shows/abc/sh010", "JOB": "/shows/abc"}
CHANNELS = {("/obj/pyro/filecache1", "../version"): "v012"}


def fake_expand(node, text):
    """Houdini's expansion, as far as these tests need it: backticks (chs() and padzero with
    $F), $OS of the current node, scene variables and $F/$F4 at the current frame."""

    def backtick(m):
        expr = m.group(1)
        chs = re.fullmatch(r'chs\("([^"]+)"\)', expr)
        if chs:
            return CHANNELS[(node.path(), chs.group(1))]
        pad = re.fullmatch(r"padzero\((\d+), \$F\)", expr)
        if pad:
            return f"{FRAME:0{int(pad.group(1))}d}"
        raise AssertionError(f"unexpected expression {expr}")

    text = re.sub(r"`([^`]*)`", backtick, text)
    text = text.replace("$OS", node.name())
    for k, v in VARS.items():
        text = text.replace(f"${k}", v)
    text = re.sub(r"\$\{?F(\d*)\}?", lambda m: f"{FRAME:0{int(m.group(1) or 0)}d}", text)
    return text


SOP = Node("/obj/pyro/billow_upres2")
CACHE = Node("/obj/pyro/filecache1")


def evaluate(parm):
    return evaluate_path(parm, fake_expand, OperationFailed)


def test_frame_tokens_are_hidden_outside_backticks_only():
    hidden, tokens = protect_frame_tokens("$HIP/a.`padzero(4, $F)`.$F4.${F}.$FPS.vdb")
    assert tokens == ["$F4", "${F}"]
    assert "`padzero(4, $F)`" in hidden and "$FPS" in hidden and "$F4" not in hidden


def test_variables_and_backticks_expand_and_the_frame_token_stays():
    p = Parm(SOP, "outcache", "$HIP/geo/billow/$OS.$F4.vdb")
    assert evaluate(p) == "/shows/abc/sh010/geo/billow/billow_upres2.$F4.vdb"
    # the plain evaluation Houdini would do loses the pattern; this is what we avoid
    assert p.evalAsString() == "/shows/abc/sh010/geo/billow/billow_upres2.0012.vdb"
    assert expand_keeping_frames("${F4}/x", lambda t: t) == "${F4}/x"


def test_a_chs_reference_is_followed_and_expanded_at_its_own_node():
    """A File Cache's path wired in with chs(): its text, with its $OS and backticks."""
    cache_file = Parm(CACHE, "file", "$HIP/geo/$OS.`chs(\"../version\")`.$F4.vdb")
    p = Parm(SOP, "incache", ref=cache_file, expr='chs("../filecache1/file")')
    assert evaluate(p) == "/shows/abc/sh010/geo/filecache1.v012.$F4.vdb"


def test_a_frame_expression_inside_backticks_is_evaluated_like_houdini():
    p = Parm(SOP, "incache", "$HIP/geo/pyro.`padzero(4, $F)`.vdb")
    assert evaluate(p) == "/shows/abc/sh010/geo/pyro.0012.vdb"  # Houdini's meaning, kept


def test_an_expression_parameter_must_give_a_pattern():
    ok = Parm(SOP, "incache", expr="'$HIP/geo/pyro.####.vdb'")
    ok.evalAsString = lambda: "/shows/abc/sh010/geo/pyro.####.vdb"
    assert evaluate(ok) == "/shows/abc/sh010/geo/pyro.####.vdb"
    bad = Parm(SOP, "incache", expr="$HIP/geo/pyro.$F4.vdb")
    with pytest.raises(ExpressionError, match="not a frame pattern"):
        evaluate(bad)


def test_the_top_gets_the_sops_resolved_path():
    """Issue 18 item 12: $OS resolved at the SOP, then written with #### for PDG."""
    p = Parm(SOP, "outcache", "$HIP/geo/billow/$OS.$F4.vdb")
    assert hashes(evaluate(p)) == "/shows/abc/sh010/geo/billow/billow_upres2.####.vdb"


def test_reference_loops_are_reported():
    a = Parm(SOP, "a", "x")
    b = Parm(SOP, "b", "y", ref=a)
    a.ref = b
    with pytest.raises(ExpressionError, match="loop"):
        evaluate(a)


def test_the_houdini_expander_sets_and_restores_the_current_node():
    calls = []

    class Text:
        @staticmethod
        def expandString(text):
            calls.append(("expand", current[0].path(), text))
            return fake_expand(current[0], text)

    current = [Node("/obj")]

    class Hou:
        text = Text

        @staticmethod
        def pwd():
            return current[0]

        @staticmethod
        def setPwd(node):
            current[0] = node

    from billow_houdini.evaluate import expander

    p = Parm(SOP, "outcache", "$HIP/$OS.$F4.vdb")
    assert evaluate_path(p, expander(Hou), OperationFailed) == "/shows/abc/sh010/billow_upres2.$F4.vdb"
    assert calls[0][1] == SOP.path() and "$F4" not in calls[0][2]
    assert current[0].path() == "/obj"  # restored
