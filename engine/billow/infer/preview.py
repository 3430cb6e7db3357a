"""A picture from every upres (`billow upres --preview`): input vs output side by side, every
N frames, and a GIF of them at the end.

The picture is an emission/absorption projection along the camera axis (the horizontal axis
that is not x: z for y-up caches, y for z-up ones) with a constant emission, which depends on
each pixel's optical depth tau only:

    colour = emission * (1 - exp(-tau)) + background * exp(-tau),
    tau    = density_scale * h * (sum of the densities along the ray),

h = 1 / (largest extent of the input block in its own cells), so a column of density 1 across
the block has optical depth `density_scale` at either resolution (the transfer function of
`billow.metrics.render`, without its key light). Column sums add up over tiles and slabs, so
the output is read back from its sparse grid slab by slab and never held densely, and the
input is the nearest-upsampled low-res projection (the projection of the nearest-upsampled
volume). Cost: a few milliseconds per 128^3 frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import OutputError
from ..io.atomic import describe_os_error, atomic_path

EMISSION = np.array([1.0, 0.97, 0.92], np.float32)  # warm white smoke
BACKGROUND = np.array([0.06, 0.065, 0.08], np.float32)
# the transfer function's colours, background (index 0) to emission (255)
PALETTE = (np.linspace(0.0, 1.0, 256)[:, None] * (EMISSION - BACKGROUND) + BACKGROUND) * 255
PALETTE = (PALETTE + 0.5).astype(np.uint8)
GIF_WIDTH = 720  # GIF frames are box-downsampled to at most this width
SLAB_BYTES = 64 * 2**20  # output read back in slabs of at most this size


def view_axes(up: str) -> tuple[int, int, int]:
    """(depth, row, column) index axes of the picture in the cache's own index space."""
    u = "xyz".index(up)
    depth = 2 if u != 2 else 1
    col = ({0, 1, 2} - {u, depth}).pop()
    return depth, u, col


class UpresPreview:
    """Writes `PATH` (a .png, overwritten with the latest frame) or `DIR/preview.####.png`,
    and at `close()` a GIF of every preview frame (`PATH` with .gif, or `DIR/preview.gif`)."""

    def __init__(self, path: str | Path, every: int = 1, *, scale: int, up: str = "y",
                 density_scale: float = 6.0, label: str = ""):
        self.path, self.every, self.scale, self.up = Path(path), max(1, int(every)), scale, up
        self.density_scale, self.label = density_scale, label
        self.single = self.path.suffix.lower() == ".png"
        folder = self.path.parent if self.single else self.path
        self.gif = (self.path.with_suffix(".gif") if self.single
                    else self.path / "preview.gif")
        self._frames: list[np.ndarray] = []
        self.last_png: Path | None = None
        self.written = 0
        # fail now, with one line, rather than after the first frame's upres
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".billow-preview-probe-{id(self)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise OutputError(f"--preview {path}: cannot write there ({describe_os_error(e)})") from e

    def wants(self, index: int, total: int) -> bool:
        """Frame `index` (0-based) of `total`: every N-th, and always the last."""
        return index % self.every == 0 or index == total - 1

    def png_path(self, frame) -> Path:
        if self.single:
            return self.path
        return self.path / f"preview.{int(frame) if frame is not None else 0:04d}.png"

    def add(self, frame, inputs, grid) -> Path:
        """`inputs`: the frame's density Volumes (one per window) in the cache's index space;
        `grid`: the written output density grid (openvdb), whose index = scale x input index."""
        depth, row, col = view_axes(self.up)
        s = self.scale
        lo = np.min([np.array(v.offset) for v in inputs], axis=0)
        hi = np.max([np.array(v.offset) + np.array(v.data.shape[:3]) for v in inputs], axis=0)
        shape = hi - lo
        tau_in = np.zeros((shape[row], shape[col]), np.float32)
        for v in inputs:
            col_sum = v.data.sum(axis=depth, dtype=np.float32)  # remaining axes in order
            if row > col:
                col_sum = col_sum.T
            o = np.array(v.offset) - lo
            tau_in[o[row]:o[row] + col_sum.shape[0], o[col]:o[col] + col_sum.shape[1]] += col_sum
        h = 1.0 / max(int(shape.max()), 1)
        tau_in *= self.density_scale * h
        tau_in = tau_in.repeat(s, 0).repeat(s, 1)
        tau_out = self._output_sums(grid, lo * s, shape * s, depth, row, col)
        tau_out *= self.density_scale * h / s
        picture = self._compose(frame, tau_in, tau_out)
        path = self.png_path(frame)
        self._save_png(picture, path)
        self.last_png = path
        self.written += 1
        self._frames.append(_shrink(picture, GIF_WIDTH))
        return path

    @staticmethod
    def _output_sums(grid, lo, shape, depth, row, col) -> np.ndarray:
        """Column sums of the output grid over the box, read in slabs along the depth axis."""
        out = np.zeros((shape[row], shape[col]), np.float32)
        if grid.activeVoxelCount() == 0 or shape.min() <= 0:
            return out
        cross = int(shape[row]) * int(shape[col]) * 4
        step = int(max(1, min(shape[depth], SLAB_BYTES // max(cross, 1))))
        for start in range(0, int(shape[depth]), step):
            n = min(step, int(shape[depth]) - start)
            dims = [int(x) for x in shape]
            dims[depth] = n
            slab = np.zeros(dims, np.float32)
            corner = [int(x) for x in lo]
            corner[depth] += start
            grid.copyToArray(slab, tuple(corner))
            part = slab.sum(axis=depth)
            out += part.T if row > col else part
        return out

    @staticmethod
    def _coverage(tau: np.ndarray) -> np.ndarray:
        """1 - exp(-tau) as palette indices 0..255, up at the top."""
        a = 1.0 - np.exp(-np.maximum(tau, 0.0))
        return np.flipud((a * 255 + 0.5).astype(np.uint8))

    def _compose(self, frame, tau_in: np.ndarray, tau_out: np.ndarray) -> np.ndarray:
        """The side-by-side picture as indices into `PALETTE` [H, W] uint8: every colour of
        the transfer function lies on one ramp (background to emission), so the picture is
        stored as a palette image (PNG and GIF without any colour quantisation)."""
        from PIL import Image, ImageDraw

        a, b = self._coverage(tau_in), self._coverage(tau_out)
        zoom = max(1, -(-256 // max(b.shape[0], 1)))  # at least 256 pixels high
        gap = np.full((b.shape[0], max(2, b.shape[1] // 64)), 255, np.uint8)
        image = np.concatenate([a, gap, b], axis=1)
        if zoom > 1:
            image = image.repeat(zoom, 0).repeat(zoom, 1)
        pil = Image.fromarray(np.ascontiguousarray(image))  # uint8 [H, W]: mode "L"
        draw = ImageDraw.Draw(pil)
        draw.text((6, 4), f"input (nearest)  frame {frame}", fill=235)
        draw.text(((a.shape[1] + gap.shape[1]) * zoom + 6, 4),
                  f"billow x{self.scale}{'  ' + self.label if self.label else ''}", fill=235)
        return np.asarray(pil)

    @staticmethod
    def _image(indices: np.ndarray):
        from PIL import Image

        h, w = indices.shape
        img = Image.frombytes("P", (w, h), np.ascontiguousarray(indices).tobytes())
        img.putpalette(PALETTE.tobytes())
        return img

    @classmethod
    def _save_png(cls, picture: np.ndarray, path: Path) -> None:
        with atomic_path(path, durable=False) as tmp:
            cls._image(picture).save(tmp, format="PNG", compress_level=1)

    def close(self) -> Path | None:
        """Write the GIF of every preview frame; returns its path (None without frames)."""
        if not self._frames:
            return None
        # the active box can grow or shrink between frames: pad every frame to the largest
        h = max(f.shape[0] for f in self._frames)
        w = max(f.shape[1] for f in self._frames)
        images = []
        for f in self._frames:
            canvas = np.zeros((h, w), np.uint8)  # index 0: the background
            canvas[:f.shape[0], :f.shape[1]] = f
            images.append(self._image(canvas))
        with atomic_path(self.gif, durable=False) as tmp:
            images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                           duration=1000 // 12, loop=0)
        return self.gif


def _shrink(picture: np.ndarray, width: int) -> np.ndarray:
    """Box-downsample by an integer factor to at most `width` pixels wide."""
    f = -(-picture.shape[1] // width)
    if f <= 1:
        return picture
    h, w = picture.shape[0] // f * f, picture.shape[1] // f * f
    # averaging indices is averaging colours: the palette is a linear ramp
    p = picture[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3))
    return (p + 0.5).astype(np.uint8)
