"""temporalUV (dissertation ch. 5): temporally coherent UV coordinates and fast re-texturing.

`atlas` fixes the one texture layout; everything else works on global UVs in [0, 1] plus a mask.
"""
