"""Run machinery shared by billow's two trainers (tempoGAN smoke upres, `billow.train`, and
temporalUV, `billow.uv`): the run folder and its checkpoints, hardware and device choice, the
loss log, the optimiser step and process-wide runtime settings, the config fields every run
has, preset and resume planning, the GAN loss core, and ONNX export, parity check and the ONNX
Runtime session. Products build on this package; it imports no product.
"""
