"""The host-agnostic half of the Blender extension: building engine commands, running the engine
as a subprocess, reading its `--progress json` lines, frame patterns and detail masks.

Nothing in this package imports `bpy` (or torch, or the engine): it is plain Python, unit-tested
without Blender, and the `bpy` layer beside it only reads properties, calls into here and loads
the result (STYLE.md rule 6).
"""
