"""Draw docs/parms.png: the Billow Upres asset's parameter pane, schematic, for the README.

Drawn from the same definitions the asset is generated from (`billow_houdini.hda_definition`),
so it cannot drift from the asset; it is a schematic (Houdini is not run here), one column per
tab, each parameter as its label and a widget of its kind with its default.

    python plugin_houdini/docs/make_parm_image.py [OUT.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

from billow_houdini.hda_definition import PARMS  # noqa: E402


def _widget(p: dict) -> str:
    kind = p["type"]
    if kind == "toggle":
        return "[x]" if p.get("default") else "[ ]"
    if kind == "button":
        return f"< {p['label']} >"
    if kind == "menu":
        labels = dict(p["menu"])
        return f"{labels.get(p['default'], p['default'])}  v"
    if kind == "file":
        return f"{p.get('default') or ''}  [...]"
    exprs = p.get("expr")
    value = exprs if exprs else p.get("default")
    if isinstance(value, list):
        return "  ".join(str(v) for v in value)
    return str(value)


def _plain(text: str) -> str:
    """Houdini's $VARIABLES shown as typed (matplotlib reads $...$ as mathematics)."""
    return text.replace("$", r"\$")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else HERE / "parms.png"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max(len(f["parms"]) for f in PARMS)
    fig, axes = plt.subplots(1, len(PARMS), figsize=(4.2 * len(PARMS), 0.42 * rows + 1.2))
    for ax, folder in zip(axes, PARMS):
        ax.set_xlim(0, 1)
        ax.set_ylim(rows + 0.5, -1)
        ax.axis("off")
        ax.set_facecolor("#3a3a3a")
        ax.add_patch(plt.Rectangle((0, -1), 1, rows + 1.5, color="#3a3a3a", zorder=0))
        ax.text(0.02, -0.5, folder["label"], color="white", weight="bold", fontsize=11,
                va="center")
        for i, p in enumerate(folder["parms"]):
            hidden = ("hidden if " + p["hide_when"].replace("} {", " or").strip("{} ")
                      if p.get("hide_when") else "")
            if p["type"] == "button":
                ax.text(0.5, i + 0.5, _widget(p), color="white", ha="center", va="center",
                        fontsize=8, bbox=dict(fc="#555555", ec="#777777"))
                continue
            ax.text(0.40, i + 0.5, _plain(p["label"]), color="#dddddd", ha="right",
                    va="center", fontsize=7.5)
            ax.text(0.43, i + 0.5, _plain(_widget(p)[:34] or " " * 12), color="white", ha="left",
                    va="center", fontsize=7.5, family="monospace",
                    bbox=dict(fc="#2a2a2a", ec="#555555", pad=2))
            if hidden:
                ax.text(0.43, i + 0.85, _plain(hidden), color="#999999", ha="left",
                        va="center", fontsize=6)
    fig.suptitle("Billow Upres (billow::upres::1.0): parameter tabs, schematic drawn from "
                 "hda_definition.py", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80, facecolor="#2b2b2b")
    print(f"make_parm_image: wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
