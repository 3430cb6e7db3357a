"""`interpolate_cubic` (the Catmull-Rom up-sampling networks use, from ONNX-exportable ops) is
`upsample(..., "tricubic")` (the one the baselines and metrics use), in 2D and 3D, at several
factors, and its unpadded form is the same field without the cells that read the border."""

import pytest
import torch

from billow.ops import interpolate_cubic, upsample
from billow.run import onnx


@pytest.mark.parametrize("shape, factor", [((2, 3, 7, 5), 4), ((1, 2, 6, 5, 7), 4),
                                           ((1, 1, 9, 8, 6), 2), ((1, 1, 5, 6), 3)])
def test_equals_the_index_arithmetic_tricubic(shape, factor):
    torch.manual_seed(0)
    x = torch.rand(shape)
    a, b = interpolate_cubic(x, factor), upsample(x, factor, "tricubic")
    assert a.shape == b.shape
    assert (a - b).abs().max() < 1e-6
    inner = (slice(None), slice(None)) + (slice(2 * factor, -2 * factor),) * (len(shape) - 2)
    assert torch.equal(interpolate_cubic(x, factor, pad=False), a[inner])


def test_keeps_constants_and_the_block_placement():
    """Constant in, constant out (its phases' weights sum to one); a ramp keeps its centre:
    each 4^D block's mean is the input cell's value away from the border."""
    x = torch.full((1, 1, 6, 6, 6), 0.7)
    assert torch.allclose(interpolate_cubic(x, 4), torch.full((1, 1, 24, 24, 24), 0.7))
    ramp = torch.arange(8.0).reshape(1, 1, 8, 1).expand(1, 1, 8, 5).contiguous()
    y = interpolate_cubic(ramp, 4)[0, 0]
    blocks = y.reshape(8, 4, 5, 4).mean(dim=(1, 3))
    assert torch.allclose(blocks[2:-2], ramp[0, 0, 2:-2], atol=1e-5)  # taps reach 2 cells


def test_exports_to_onnx_and_runs_in_onnx_runtime(tmp_path):
    ort = pytest.importorskip("onnxruntime")

    class Up(torch.nn.Module):
        def forward(self, x):
            return interpolate_cubic(x, 4)

    path = tmp_path / "cubic.onnx"
    onnx.export(Up(), path, (torch.rand(1, 1, 5, 6, 7),), ["x"], ["y"],
                {"x": {2: "X", 3: "Y", 4: "Z"}, "y": {2: "4X", 3: "4Y", 4: "4Z"}})
    x = torch.rand(1, 1, 7, 4, 6)  # another size than the export's
    y = ort.InferenceSession(str(path)).run(None, {"x": x.numpy()})[0]
    assert abs(torch.from_numpy(y) - upsample(x, 4, "tricubic")).max() < 1e-6
