"""The synthetic figure, in numpy: a mannequin of closed tubes in a loose, flared skirt.

Every body part is a surface of revolution around its bone (a "tube"), cut by azimuth into the
halves that DensePose gives separate parts (front/back of limbs and torso, right/left of the
head); each piece is UV-mapped onto its own atlas tile with `atlas.iuv_to_uv`, so the rendered
UVs are global atlas UVs. The skirt hangs from the pelvis, is cut into four quadrants that reuse
the upper-leg tiles (where DensePose would put the legs it hides, and where UV extension maps a
skirt), and sways, flares and ripples per frame by direct vertex displacement.

Blender's axes: z up, the figure faces -y (towards the camera), its right side is -x.
Motions are functions of the frame number only, so a frame renders the same in any order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from billow.uv import atlas

# DensePose's part list (index 1..24), used for the tiles of the atlas.
PART_NAMES = (
    "torso back", "torso front", "right hand", "left hand", "left foot", "right foot",
    "right upper leg back", "left upper leg back", "right upper leg front", "left upper leg front",
    "right lower leg back", "left lower leg back", "right lower leg front", "left lower leg front",
    "left upper arm front", "right upper arm front", "left upper arm back", "right upper arm back",
    "left lower arm front", "right lower arm front", "left lower arm back", "right lower arm back",
    "head right", "head left",
)
# The skirt's quadrants, by azimuth (0 = front, 90 = the figure's left): front-left, back-left,
# back-right, front-right -> the upper-leg tiles on the same side.
GARMENT_PARTS = (10, 8, 7, 9)
TILE_MARGIN = 0.01  # UVs stay this far inside a tile so bilinear lookups never mix two tiles
MOTIONS = ("sway", "twist")
PERIOD = {"sway": 40.0, "twist": 48.0}  # frames per cycle
FRONT_BACK = ((-90.0, 90.0), (90.0, 270.0))


@dataclass(frozen=True)
class Bone:
    name: str
    parent: str | None
    offset: tuple[float, float, float]  # joint position in the parent bone's frame
    rest: tuple[float, float, float] = (0.0, 0.0, 0.0)  # fixed XYZ rotation, degrees


@dataclass(frozen=True)
class Tube:
    """A closed surface of revolution hanging from its bone along -z."""

    bone: str
    top: float  # local z of the upper pole
    length: float
    radius: float
    pieces: tuple[tuple[int, float, float], ...]  # (part, azimuth from, to), degrees
    squash: float = 1.0  # depth / width of the cross-section
    power: float = 6.0  # profile exponent: 2 is an ellipsoid, larger is more like a capsule
    taper: float = 0.15  # radius shrinks by this fraction from top to bottom


def _mirror(side: str, x: float) -> float:
    return -x if side == "R" else x


def _skeleton() -> list[Bone]:
    bones = [Bone("pelvis", None, (0.0, 0.0, 0.95)), Bone("chest", "pelvis", (0.0, 0.0, 0.0)),
             Bone("head", "chest", (0.0, 0.0, 0.56))]
    for s in "RL":
        bones += [Bone(f"upper_arm_{s}", "chest", (_mirror(s, 0.215), 0.0, 0.5)),
                  Bone(f"lower_arm_{s}", f"upper_arm_{s}", (0.0, 0.0, -0.31)),
                  Bone(f"hand_{s}", f"lower_arm_{s}", (0.0, 0.0, -0.27)),
                  Bone(f"upper_leg_{s}", "pelvis", (_mirror(s, 0.095), 0.0, -0.02)),
                  Bone(f"lower_leg_{s}", f"upper_leg_{s}", (0.0, 0.0, -0.45)),
                  # the foot's tube points forward (-y)
                  Bone(f"foot_{s}", f"lower_leg_{s}", (0.0, 0.0, -0.43), (-90.0, 0.0, 0.0))]
    return bones


def _tubes() -> list[Tube]:
    tubes = [Tube("chest", 0.6, 0.66, 0.17, ((2, *FRONT_BACK[0]), (1, *FRONT_BACK[1])),
                  squash=0.62, power=4.0, taper=0.05),
             Tube("head", 0.3, 0.27, 0.105, ((23, -180.0, 0.0), (24, 0.0, 180.0)),
                  squash=1.1, power=2.0, taper=0.0)]
    parts = {"R": {"ua": (16, 18), "la": (20, 22), "hand": 3, "ul": (9, 7), "ll": (13, 11),
                   "foot": 6},
             "L": {"ua": (15, 17), "la": (19, 21), "hand": 4, "ul": (10, 8), "ll": (14, 12),
                   "foot": 5}}
    for s, p in parts.items():
        def halves(front_back):
            return ((front_back[0], *FRONT_BACK[0]), (front_back[1], *FRONT_BACK[1]))

        tubes += [Tube(f"upper_arm_{s}", 0.04, 0.35, 0.052, halves(p["ua"])),
                  Tube(f"lower_arm_{s}", 0.02, 0.3, 0.043, halves(p["la"])),
                  Tube(f"hand_{s}", 0.01, 0.15, 0.045, ((p["hand"], -180.0, 180.0),),
                       squash=0.55, power=2.5, taper=0.1),
                  Tube(f"upper_leg_{s}", 0.06, 0.52, 0.08, halves(p["ul"]), taper=0.25),
                  Tube(f"lower_leg_{s}", 0.03, 0.47, 0.058, halves(p["ll"]), taper=0.25),
                  Tube(f"foot_{s}", 0.06, 0.25, 0.048, ((p["foot"], -180.0, 180.0),),
                       squash=0.75, power=3.0, taper=0.1)]
    return tubes


BONES = _skeleton()
TUBES = _tubes()


def rotation(x: float = 0.0, y: float = 0.0, z: float = 0.0) -> np.ndarray:
    """Rotation matrix of XYZ Euler angles in degrees (Blender's default order: X, then Y, Z)."""
    a, b, c = np.radians([x, y, z])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


@dataclass(frozen=True)
class Pose:
    """Per-bone local rotations (XYZ degrees), the pelvis translation and the skirt's state."""

    angles: dict
    shift: tuple[float, float, float]
    skirt: dict


def pose(motion: str, frame: float) -> Pose:
    """The figure's pose at `frame` for a named motion."""
    if motion not in MOTIONS:
        raise ValueError(f"unknown motion {motion!r} (expected one of {', '.join(MOTIONS)})")
    ph = 2.0 * np.pi * frame / PERIOD[motion]
    s, c = np.sin(ph), np.cos(ph)
    if motion == "sway":
        # weight shifts side to side; arms swing in counter-phase; the skirt trails the hips
        ang = {"pelvis": (0, 4 * s, 10 * s), "chest": (3, -6 * s, 8 * np.sin(ph + 0.5)),
               "head": (5 * np.sin(2 * ph), 5 * np.sin(ph + 1), -6 * s),
               "upper_arm_R": (-18 * s, 24 + 8 * s, 0), "lower_arm_R": (-20 - 15 * s, 0, 0),
               "upper_arm_L": (18 * s, -24 + 8 * s, 0), "lower_arm_L": (-20 + 15 * s, 0, 0),
               "upper_leg_R": (-8 * s, 3 + 3 * s, 0), "lower_leg_R": (6 + 6 * s, 0, 0),
               "upper_leg_L": (8 * s, -3 + 3 * s, 0), "lower_leg_L": (6 - 6 * s, 0, 0)}
        shift = (0.04 * s, 0.0, 0.01 * np.cos(2 * ph))
        skirt = {"dx": -0.07 * np.sin(ph - 0.9), "dy": 0.03 * np.cos(ph - 0.9),
                 "lag": -12.0 * np.sin(ph - 0.8), "flare": 0.08 * np.sin(2 * ph),
                 "ripple": 0.035, "waves": 6, "wave_phase": 2 * ph}
    else:
        # twirl: the body twists back and forth, arms out; the skirt lags and flares with speed
        ang = {"pelvis": (0, 0, 35 * s), "chest": (0, 0, 15 * np.sin(ph - 0.3)),
               "head": (0, 0, 10 * np.sin(ph - 0.6)),
               "upper_arm_R": (-10 * c, 55 + 10 * np.sin(2 * ph), 0),
               "lower_arm_R": (-30, 0, 0),
               "upper_arm_L": (10 * c, -55 - 10 * np.sin(2 * ph), 0),
               "lower_arm_L": (-30, 0, 0),
               "upper_leg_R": (-4 * s, 4, 0), "upper_leg_L": (4 * s, -4, 0),
               "lower_leg_R": (5, 0, 0), "lower_leg_L": (5, 0, 0)}
        shift = (0.0, 0.0, 0.015 * np.abs(c))
        skirt = {"dx": 0.0, "dy": 0.0, "lag": -30.0 * np.sin(ph - 0.7),
                 "flare": 0.28 * np.abs(c), "ripple": 0.05, "waves": 5, "wave_phase": -3 * ph}
    return Pose(ang, shift, skirt)


def bone_frames(p: Pose) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """World (rotation, origin) of every bone (forward kinematics)."""
    out = {}
    for b in BONES:
        local = rotation(*b.rest) @ rotation(*p.angles.get(b.name, (0.0, 0.0, 0.0)))
        if b.parent is None:
            out[b.name] = (local, np.asarray(b.offset) + np.asarray(p.shift))
        else:
            r, t = out[b.parent]
            out[b.name] = (r @ local, t + r @ np.asarray(b.offset))
    return out


@dataclass(frozen=True)
class Mesh:
    """Quads over a vertex grid; `bone` names each vertex's bone, `uv` its global atlas UV."""

    local: np.ndarray  # [V, 3] rest positions in each vertex's bone frame (or unused: skirt)
    bone: np.ndarray  # [V] index into BONES
    faces: np.ndarray  # [F, 4]
    uv: np.ndarray  # [V, 2]
    part: np.ndarray  # [V] DensePose part


def _grid_faces(n_a: int, n_t: int, start: int) -> np.ndarray:
    i, j = np.meshgrid(np.arange(n_t), np.arange(n_a), indexing="ij")
    a = start + i * (n_a + 1) + j
    return np.stack([a, a + 1, a + n_a + 2, a + n_a + 1], axis=-1).reshape(-1, 4)


def _tile_uv(part: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    def inset(x):
        return TILE_MARGIN + (1.0 - 2.0 * TILE_MARGIN) * x

    uv, _ = atlas.iuv_to_uv(np.full(u.shape, part), inset(u), inset(v))
    return uv


def _concat(pieces: list[tuple]) -> Mesh:
    local, bone, faces, uv, part = [], [], [], [], []
    start = 0
    for pos, b, n_a, n_t, puv, p in pieces:
        local.append(pos)
        bone.append(np.full(len(pos), b))
        faces.append(_grid_faces(n_a, n_t, start))
        uv.append(puv)
        part.append(np.full(len(pos), p))
        start += len(pos)
    return Mesh(np.concatenate(local), np.concatenate(bone), np.concatenate(faces),
                np.concatenate(uv).astype(np.float32), np.concatenate(part))


def body_mesh(detail: int = 16) -> Mesh:
    """The mannequin's tubes; `detail` quads per half-turn and along each tube."""
    names = [b.name for b in BONES]
    pieces = []
    for tube in TUBES:
        n_t = detail
        t = np.linspace(0.0, 1.0, n_t + 1)
        profile = tube.radius * (1.0 - np.abs(2.0 * t - 1.0) ** tube.power) ** (1.0 / tube.power)
        profile *= 1.0 - tube.taper * t
        for part, a0, a1 in tube.pieces:
            n_a = max(4, round(detail * (a1 - a0) / 180.0))
            phi = np.radians(np.linspace(a0, a1, n_a + 1))
            tt, pp = np.meshgrid(t, phi, indexing="ij")
            r = np.broadcast_to(profile[:, None], tt.shape)
            pos = np.stack([r * np.sin(pp), -tube.squash * r * np.cos(pp),
                            tube.top - tube.length * tt], axis=-1).reshape(-1, 3)
            # U runs with the azimuth (left to right seen from the front), V = 1 at the top
            uv = _tile_uv(part, ((np.degrees(pp) - a0) / (a1 - a0)).ravel(), (1.0 - tt).ravel())
            pieces.append((pos, names.index(tube.bone), n_a, n_t, uv, part))
    return _concat(pieces)


def posed(mesh: Mesh, p: Pose) -> np.ndarray:
    """World positions [V, 3] of the body's vertices in pose `p`."""
    frames = bone_frames(p)
    out = np.empty_like(mesh.local)
    for k, b in enumerate(BONES):
        sel = mesh.bone == k
        if sel.any():
            r, t = frames[b.name]
            out[sel] = mesh.local[sel] @ r.T + t
    return out


# The skirt: waist and hem radii (x; depth is `SKIRT_SQUASH` of it), waist height and length
# in the pelvis frame.
SKIRT_WAIST, SKIRT_HEM, SKIRT_TOP, SKIRT_LENGTH, SKIRT_SQUASH = 0.19, 0.37, 0.12, 0.72, 0.7


def skirt_mesh(detail: int = 16) -> Mesh:
    """The skirt's topology and UVs: four quadrants, V = 1 at the waist, 0 at the hem."""
    n_a, n_t = detail, 2 * detail
    pieces = []
    for k, part in enumerate(GARMENT_PARTS):
        s, a = np.meshgrid(np.linspace(0.0, 1.0, n_t + 1), np.linspace(0.0, 1.0, n_a + 1),
                           indexing="ij")
        # quadrant k spans azimuth 90k..90(k+1); U grows with the azimuth, so on the front
        # quadrants it runs left to right as seen from the camera, like the body's front tiles
        az = 90.0 * (k + a)
        pos = np.stack([az.ravel(), s.ravel(), np.zeros(az.size)], axis=-1)
        pieces.append((pos, 0, n_a, n_t, _tile_uv(part, a.ravel(), (1.0 - s).ravel()), part))
    return _concat(pieces)


def posed_skirt(mesh: Mesh, p: Pose) -> np.ndarray:
    """World positions of the skirt: hangs from the pelvis, trails, flares and ripples."""
    az, s = np.radians(mesh.local[:, 0]), mesh.local[:, 1]
    k = p.skirt
    flare = 1.0 + k["flare"]
    radius = SKIRT_WAIST + (SKIRT_HEM * flare - SKIRT_WAIST) * s ** 0.75
    radius *= 1.0 + k["ripple"] * s ** 2 * np.sin(k["waves"] * az + k["wave_phase"])
    turned = az + np.radians(k["lag"]) * s ** 1.5  # the hem lags the hips' rotation
    # cloth does not stretch: a flared hem rises
    z = SKIRT_TOP - SKIRT_LENGTH * s * (1.0 - 0.45 * k["flare"] * s)
    local = np.stack([radius * np.sin(turned) + k["dx"] * s ** 2,
                      -SKIRT_SQUASH * radius * np.cos(turned) + k["dy"] * s ** 2, z], axis=-1)
    r, t = bone_frames(p)["pelvis"]
    return local @ r.T + t
