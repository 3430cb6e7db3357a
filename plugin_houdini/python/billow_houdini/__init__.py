"""billow for Houdini: the Billow Upres SOP (billow::upres::1.0), the Billow Upres TOP and the
shelf tools. The engine runs as a subprocess; this package never imports torch or billow.

Plain modules (no `hou`): paths, frames, command, progress, errors, runner, top,
hda_definition, shelf_logic. The `hou` layer: hou_sop, hou_input, hou_top, hou_shelf,
hou_templates.
"""
