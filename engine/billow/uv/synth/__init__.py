"""The synthetic temporalUV benchmark: a figure in a loose skirt rendered with Blender, with
ground-truth UVs and DensePose-like raw IUVs (`billow uv synth`)."""
