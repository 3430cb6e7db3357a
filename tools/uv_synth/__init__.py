"""The synthetic temporalUV benchmark: a figure in a loose skirt rendered with Blender, with
ground-truth UVs and DensePose-like raw IUVs. A development tool, kept outside the shipped
package (tools/ is not installed); `billow uv synth` runs it from a checkout."""
