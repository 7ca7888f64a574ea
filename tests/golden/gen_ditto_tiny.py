#!/usr/bin/env python3
"""A tiny but complete `ditto_onnx` folder: every graph with the published I/O.

gen_ditto_folder.py's stand-in has the real *inputs* and scalar outputs;
gen_ditto_onnx.py's graphs have the real *structure* at reduced sizes. This
script writes, into fixtures/ditto_tiny/, the 12 files of Ditto's folder
(the names gen_ditto_folder.py uses) where every graph has exactly the
published input AND output names, element types, order and shapes
(OPS.md section 2, confirmed against the wrappers in antgroup/ditto-talkinghead
core/models/*.py, core/aux_models/*.py), with tiny internals: the structure
modules of gen_ditto_onnx.py (imported, same layer types, small configs),
seeded random weights, plus adapters where the real I/O needs one (listed in
ADAPTERS below and in the manifest). So the whole talking-head pipeline can
run end to end, on a CPU, in a test.

The face-analysis nets are *biased*: their outputs are a fixed, plausible face
layout (a prior added in the graph) plus a small input-dependent term, so
registration (PIPELINE.md 2.2-2.7) finds exactly one face near the centre of
any natural-looking image and its landmarks give a valid, upright crop:

- insightface_det: every level's class bias is -4 (score sigmoid(-4) = 0.018;
  lower logits would leave onnxruntime's Sigmoid, the reference, inexact);
  one stride-32 anchor (anchor 0 of cell column 6, row 8: centre (192, 256)
  of the 512 input) gets +12 through an in-graph one-hot map, so its score is
  sigmoid(8) = 0.9997, and that anchor's box distances / 5 points are set
  through the same map (box (105.6, 128, 304, 384) in the 512 input: on
  portrait.png, letterboxed by 1.6, the face box (66, 80, 190, 240)). The
  head weights are scaled down so the input moves logits by well under 1.
- landmark106 (tanh), landmark203 (sigmoid), face_mesh (linear): the last
  layer's bias is the layout (atanh / logit of it), its weights scaled down.
  The layouts are one face drawn in "face units" (the detector box is
  [-1, 1]^2: eyes at (-0.40, -0.19) and (0.40, -0.19), mouth at (0, 0.5), a
  jaw contour, brows, nose), mapped through the crops the pipeline makes
  (the 192 box crop, the rotated 224 and 512 crops of PIPELINE.md 2.4, the
  BlazeFace ROI), with the indices the pipeline reads placed on purpose
  (106: 33/35/40/39 and 87/89/94/93 around the eyes, 52/61 the mouth corners;
  203: 0/6/12/18, 24/30/36/42, 48/66; 478: the eye corners, lids and irises
  of EyeAttrUtilsByMP). So on portrait.png the points land on the drawn face.
- blaze_face: the same one-hot prior on one stride-16 anchor (index 722:
  cell x 3, y 4, anchor 0) for classificators (+8, others -8) and regressors
  (the face box in the 128 input and 6 keypoints, eyes level).
- motion_extractor: the heads' weights scaled down, biases plausible: pose
  logits peaked at 0 degrees, scale 1.2, canonical kp a seeded spread in
  [-0.45, 0.45]^2 x [-0.15, 0.15], t and exp 0. stitch_network: the last
  layer scaled by 0.01 (a small delta). lmdm: the final layer by 0.05.

For each graph `<name>.io.safetensors` holds its inputs (`input/<name>`) and
onnxruntime's outputs (`output/<name>`, CPU, optimisations off, one thread).
The image nets' inputs are portrait.png through the pipeline's crops
(computed here in numpy: letterbox, box crop, rotated crops, ROI); hubert's
is the first 6480 samples of speech.wav; warp's feature_3d is the appearance
extractor's output, its keypoints the motion extractor's x_s
(transform_keypoint) and x_s plus seeded noise; decoder's feature is warp's
output; lmdm's are seeded normals. The graphs whose tensors are big
(appearance, warp, decoder) end in a nearest upsampling, so their io files,
though megabytes at the real shapes, are blocky and compress well in git.

Also portrait.png (256x320, a face drawn with numpy, PNG by zlib + struct)
and speech.wav (2 s, 16 kHz, mono, 16-bit: a vowel-like harmonic signal in
four syllables), and manifest.json (versions, per graph the I/O, adapters,
sizes, and the geometry the biased nets give on portrait.png).

Rerunning gives identical bytes. Run (CI never runs it):
    /work/venv-ditto/bin/python tests/golden/gen_ditto_tiny.py [--out DIR]
"""

import argparse
import json
import os
import platform
import struct
import sys
import time
import warnings
import zlib

import numpy as np
import onnx
import onnxruntime as ort
import safetensors
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_ditto_onnx as G  # noqa: E402  (the structure modules)

SEED = 20250901
MAX_ONNX_BYTES = 300 * 1000
MAX_ONNX_TOTAL = 2500 * 1000
OPSET = 17
OPSET_GRID = 20  # 5-D GridSample

# ---------------------------------------------------------------------------
# the face: portrait.png's face and the layouts the biased nets reproduce
# ---------------------------------------------------------------------------

PORTRAIT_W, PORTRAIT_H = 256, 320
FACE_C = np.array([128.0, 160.0])  # face ellipse centre (x, y) in portrait.png
FACE_HALF = np.array([62.0, 80.0])  # its semi-axes = half the detector box
EYE_U = 0.40  # eye centres at (-+0.40, -0.19) face units
EYE_V = -0.19
EYE_HW, EYE_HH = 0.14, 0.03  # eye half width, lid half opening (face units)
MOUTH_V, MOUTH_HW = 0.50, 0.28
DET_SIZE = 512
DET_ANCHOR = (6, 8)  # stride-32 cell (column, row): centre (192, 256)
BLAZE_ANCHOR = 512 + (4 * 8 + 3) * 6  # stride-16 group, cell x 3, y 4, anchor 0 = 722


def ring(n, cx, cy, rx, ry, a0=0.0):
    a = a0 + 2 * np.pi * np.arange(n) / n
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], 1)


def contour(n):
    t = np.linspace(-0.15, np.pi + 0.15, n)
    return np.stack([0.95 * np.cos(t), 0.95 * np.sin(t)], 1)


def brow(n, cx):
    x = np.linspace(cx - 0.22, cx + 0.22, n)
    return np.stack([x, -0.38 - 0.05 * (1 - ((x - cx) / 0.22) ** 2)], 1)


def layout106():
    p = np.zeros((106, 2))
    p[0:33] = contour(33)
    for base, ex, outer, inner in ((33, -EYE_U, 33, 39), (87, EYE_U, 87, 93)):
        p[base:base + 10] = ring(10, ex, EYE_V, EYE_HW, EYE_HH)
        sign = -1 if ex < 0 else 1
        p[outer] = (ex + sign * EYE_HW, EYE_V)
        p[inner] = (ex - sign * EYE_HW, EYE_V)
        p[base + 2] = (ex, EYE_V - EYE_HH)  # 35 / 89: upper lid
        p[base + 7] = (ex, EYE_V + EYE_HH)  # 40 / 94: lower lid
    p[43:48] = np.stack([np.zeros(5), np.linspace(-0.12, 0.18, 5)], 1)  # nose bridge
    p[48:52] = [(-0.12, 0.22), (-0.06, 0.24), (0.06, 0.24), (0.12, 0.22)]  # nostrils
    p[52:70] = ring(18, 0.0, MOUTH_V, MOUTH_HW, 0.08)  # 52 right corner, 61 left corner
    p[70:72] = [(0.0, MOUTH_V - 0.02), (0.0, MOUTH_V + 0.02)]
    p[72:80] = brow(8, -EYE_U)
    p[80:87] = brow(7, EYE_U)
    p[97:106] = [(-0.3, -0.62), (0.0, -0.66), (0.3, -0.62), (-0.55, 0.15), (0.55, 0.15), (-0.35, 0.3),
                 (0.35, 0.3), (-0.15, 0.8), (0.15, 0.8)]
    return p


def layout203(rng):
    p = np.zeros((203, 2))
    # 0, 6, 12, 18: outer corner, upper lid, inner corner, lower lid (and 24..47 likewise)
    p[0:24] = ring(24, -EYE_U, EYE_V, EYE_HW, EYE_HH, a0=np.pi)
    p[24:48] = ring(24, EYE_U, EYE_V, EYE_HW, EYE_HH, a0=np.pi)
    p[48:84] = ring(36, 0.0, MOUTH_V, MOUTH_HW, 0.08)  # 48 and 66 the corners
    p[84:117] = contour(33)
    p[117:127] = brow(10, -EYE_U)
    p[127:137] = brow(10, EYE_U)
    p[137:152] = np.stack([np.r_[np.zeros(9), np.linspace(-0.12, 0.12, 6)],
                           np.r_[np.linspace(-0.12, 0.2, 9), np.full(6, 0.23)]], 1)
    r = np.sqrt(rng.uniform(0, 1, 51)) * 0.8
    a = rng.uniform(0, 2 * np.pi, 51)
    p[152:203] = np.stack([r * np.cos(a), r * np.sin(a) * 1.05], 1)
    return p


MESH_LEFT = dict(outer=33, inner=133, lids=((145, 159), (144, 160), (153, 158)), iris=468)
MESH_RIGHT = dict(outer=263, inner=362, lids=((374, 386), (373, 387), (380, 385)), iris=473)


def layout478(rng):
    p = np.zeros((478, 3))
    r = np.sqrt(rng.uniform(0, 1, 478)) * 0.9
    a = rng.uniform(0, 2 * np.pi, 478)
    p[:, 0], p[:, 1] = r * np.cos(a), r * np.sin(a)
    p[0:33, :2] = contour(33)  # not MediaPipe's order; only the eye indices are read
    for e, ex in ((MESH_LEFT, -EYE_U), (MESH_RIGHT, EYE_U)):
        sign = -1 if ex < 0 else 1
        p[e["outer"], :2] = (ex + sign * EYE_HW, EYE_V)
        p[e["inner"], :2] = (ex - sign * EYE_HW, EYE_V)
        for k, (lo, up) in enumerate(e["lids"]):
            dx = (0.0, 0.05, -0.05)[k] * sign
            h = EYE_HH if k == 0 else 0.8 * EYE_HH
            p[lo, :2] = (ex + dx, EYE_V + h)
            p[up, :2] = (ex + dx, EYE_V - h)
        p[e["iris"], :2] = (ex, EYE_V)
        p[e["iris"] + 1:e["iris"] + 5, :2] = ring(4, ex, EYE_V, 0.04, 0.04)
    p[:, 2] = 0.25 * (p[:, 0] ** 2 + p[:, 1] ** 2) - 0.2  # a convex face, in face units
    return p


def to_portrait(u):
    return FACE_C + u[:, :2] * FACE_HALF


# ---------------------------------------------------------------------------
# the pipeline's geometry (PIPELINE.md 2.2-2.7), in numpy, for the layouts
# and for the golden inputs
# ---------------------------------------------------------------------------

def crop_transform(p, kind, dsize, scale, vy):
    """PIPELINE.md 2.4 (= engine/pipelines/talking_head/crop.cpp): 2x3 original -> crop."""
    if kind == 106:
        el, er, lip = p[[33, 35, 40, 39]].mean(0), p[[87, 89, 94, 93]].mean(0), p[[52, 61]].mean(0)
    else:
        el, er, lip = p[[0, 6, 12, 18]].mean(0), p[[24, 30, 36, 42]].mean(0), p[[48, 66]].mean(0)
    q0 = (el + er) / 2
    uy = lip - q0
    n = np.hypot(*uy)
    uy = uy / n if n > 1e-3 else np.array([0.0, 1.0])
    ux = np.array([uy[1], -uy[0]])
    c0 = p.mean(0)
    r = np.stack([(p - c0) @ ux, (p - c0) @ uy], 1)
    lt, rb = r.min(0), r.max(0)
    c1 = (lt + rb) / 2
    size = (rb - lt).max() * scale
    c = c0 + ux * c1[0] + uy * c1[1] + uy * (vy * size)
    s, t = dsize / size, dsize / 2
    return np.array([[s * ux[0], s * ux[1], t - s * (ux @ c)], [s * uy[0], s * uy[1], t - s * (uy @ c)]])


def apply(m, p):
    return p @ m[:, :2].T + m[:, 2]


def invert(m):
    a = np.vstack([m, [0, 0, 1]])
    return np.linalg.inv(a)[:2]


def bilinear(img, x, y):
    """img HxWxC float; samples at pixel coordinates x, y (arrays), zeros outside (per tap)."""
    h, w = img.shape[:2]
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    out = 0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            ok = ((xi >= 0) & (xi < w) & (yi >= 0) & (yi < h))[..., None]
            out = out + wx * wy * np.where(ok, img[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)], 0.0)
    return out


def warp_affine(img, m, w, h):
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    b = invert(m)
    return bilinear(img, b[0, 0] * u + b[0, 1] * v + b[0, 2], b[1, 0] * u + b[1, 1] * v + b[1, 2])


def resize(img, w, h):
    """Bilinear with half-pixel centres (OpenCV INTER_LINEAR upsampling / mild downsampling)."""
    ih, iw = img.shape[:2]
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    x = np.clip((u + 0.5) * iw / w - 0.5, 0, iw - 1)
    y = np.clip((v + 0.5) * ih / h - 0.5, 0, ih - 1)
    return bilinear(img, x, y)


def u8(img):
    return np.clip(np.floor(img + 0.5), 0, 255)


def softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def transform_keypoint(kp_out):
    """PIPELINE.md 5.1-5.3 on the motion extractor's outputs -> [1, 21, 3]."""
    deg = [3 * (softmax(kp_out[k][0]) * np.arange(66)).sum() - 97.5 for k in ("pitch", "yaw", "roll")]
    p, y, r = (d * np.pi / 180 for d in deg)
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    rot = rz @ ry @ rx
    c = kp_out["kp"].reshape(21, 3).astype(np.float64)
    e = kp_out["exp"].reshape(21, 3).astype(np.float64)
    t = kp_out["t"].reshape(3).astype(np.float64)
    x = kp_out["scale"].reshape(()) * (c @ rot.T + e) + np.array([t[0], t[1], 0.0])
    return x[None].astype(np.float32)


class Geometry:
    """Where the biased nets put the face on portrait.png, through every crop."""

    def __init__(self, rng):
        self.box = np.r_[FACE_C - FACE_HALF, FACE_C + FACE_HALF]  # x1, y1, x2, y2 in the portrait
        self.det_scale = DET_SIZE / PORTRAIT_H  # r = h / w > 1: new_h = 512
        self.det_w = int(DET_SIZE / (PORTRAIT_H / PORTRAIT_W))
        # the 106 net's box crop (2.3)
        s = 192 / (1.5 * (self.box[2:] - self.box[:2]).max())
        self.m106 = np.array([[s, 0, 96 - s * FACE_C[0]], [0, s, 96 - s * FACE_C[1]]])
        self.p106 = to_portrait(layout106())
        self.m224 = crop_transform(self.p106, 106, 224, 1.5, -0.1)
        self.p203 = to_portrait(layout203(rng))
        self.m512 = crop_transform(self.p203, 203, 512, 2.3, -0.125)
        # BlazeFace's box in the 128 input: the detector box through the 512 crop
        corners = apply(self.m512, self.box.reshape(2, 2)) / 4
        self.blaze_box = corners.reshape(4)  # x1, y1, x2, y2 in the 128 input
        # the face mesh ROI (2.7) in the 512 crop: square, 1.5 x the longer side, rotation 0
        bc = corners.mean(0) * 4
        side = 1.5 * (corners[1] - corners[0]).max() * 4
        self.roi = (bc[0], bc[1], side)
        mesh_u = layout478(rng)
        q = apply(self.m512, to_portrait(mesh_u))  # in the 512 crop
        k = 256 / side
        self.mesh = np.c_[(q - (bc - side / 2)) * k,
                          mesh_u[:, 2] * FACE_HALF[0] * self.m512[0, 0] * k]  # 256-pixel units, z too

    # Golden inputs from the portrait (uint8 RGB HxWx3 as float)
    def det_input(self, rgb):
        small = u8(resize(rgb, self.det_w, DET_SIZE))
        canvas = np.zeros((DET_SIZE, DET_SIZE, 3))
        canvas[:, :self.det_w] = small
        bgr = canvas[..., ::-1]
        return ((bgr - 127.5) / 128).transpose(2, 0, 1)[None].astype(np.float32)

    def lmk106_input(self, rgb):
        return u8(warp_affine(rgb, self.m106, 192, 192))[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32)

    def lmk203_input(self, rgb):
        return (u8(warp_affine(rgb, self.m224, 224, 224)) / 255).transpose(2, 0, 1)[None].astype(np.float32)

    def crop512(self, rgb):
        return u8(warp_affine(rgb, self.m512, 512, 512))

    def input256(self, rgb):
        c = self.crop512(rgb)
        c = u8(c.reshape(256, 2, 256, 2, 3).mean((1, 3)))
        return (c / 255).transpose(2, 0, 1)[None].astype(np.float32)

    def blaze_input(self, rgb):
        return (u8(resize(self.crop512(rgb), 128, 128)) / 127.5 - 1)[None].astype(np.float32)

    def mesh_input(self, rgb):
        cx, cy, side = self.roi
        k = 256 / side
        m = np.array([[k, 0, -(cx - side / 2) * k], [0, k, -(cy - side / 2) * k]])
        return (u8(warp_affine(self.crop512(rgb), m, 256, 256)) / 255)[None].astype(np.float32)


# ---------------------------------------------------------------------------
# the tiny networks: gen_ditto_onnx.py's modules with the real I/O
# ---------------------------------------------------------------------------

ADAPTERS = {
    "appearance_extractor": "front AvgPool2d(4) (256 -> 64); AppearanceFeatureExtractor(expansion 4, 2 down "
                            "blocks, 4 x 4 reshape, 6 ResBlock3d) -> [1,4,4,16,16]; tail Conv3d 1x1x1 4 -> 32 and "
                            "nearest Resize x(4,4,4) -> [1,32,16,64,64]",
    "motion_extractor": "none: MotionExtractor(dims 8/12/16/24, depths 1/1/2/1) takes 256 (stem 4x4/4); heads' "
                        "weights scaled down, biases set (pose peaked at 0 degrees, scale 1.2, a kp spread)",
    "warp_network": "front AvgPool3d(4) ([1,32,16,64,64] -> [1,32,4,16,16]); WarpingNetwork(21 kp, compress 1, "
                    "hourglass expansion 2, 4 blocks, max 8, third/fourth 8 channels) with two kernels made 1x1x1 for "
                    "the size: the DenseMotionNetwork mask conv (7x7x7 in Ditto) and the hourglass's final conv "
                    "(3x3x3 in Ditto): 21 keypoints fix their widths at 46 -> 22 and 46 -> 46 channels, 1.4 MB "
                    "and 230 kB as published (the other 8 hourglass convs keep 3x3x3); "
                    "standard GridSample (opset 20) on 5-D; tail Conv2d 1x1 8 -> 256 and nearest Resize x4 -> "
                    "[1,256,64,64]",
    "decoder": "front AvgPool2d(4) and Conv2d 1x1 256 -> 4 ([1,4,16,16]); SPADEDecoder(label 4, fc 8, hidden 4, 6 "
               "middle blocks, up_1 to 2 channels, PixelShuffle 2, sigmoid) -> [1,3,128,128]; tail nearest Resize "
               "x4 -> [1,3,512,512], in [0, 1]; conv_img scaled by 0.15 (an unsaturated image)",
    "stitch_network": "none: StitchingNetwork MLP 126-32-32-16-65, the delta applied in the graph; last layer "
                      "scaled by 0.01",
    "lmdm": "none: LMDM(latent 8, ff 16, 2 heads, 1 decoder layer, 2 encoder layers, 80 frames, cond 1103, "
            "motion 265); final layer scaled by 0.05",
    "hubert": "Hubert(conv 8 channels with HuBERT's kernels / strides: stride 320, receptive field 400; hidden 16, "
              "2 heads, 2 layers, positional k16 g4); tail Linear 16 -> 1024; dynamic sample count",
    "insightface_det": "none for the size: SCRFD(ch 8/8/12/16, fpn 8) takes 512 (strides 8, 16, 32); class bias -4 "
                       "and head weights scaled down; a one-hot [1,1,16,16] map adds the face prior at one stride-32 "
                       "anchor (score, box, points)",
    "landmark106": "front (data - 127.5) / 128 (Sub, Mul: the normalisation 2d106det carries) and AvgPool2d(6) "
                   "(192 -> 32); Landmark106 (BN kept, PReLU); tail Tanh; fc bias = atanh(layout)",
    "landmark203": "none for the size: Landmark203 (inverted residuals, ReLU6) takes 224; tail Sigmoid; fc bias = "
                   "logit(layout)",
    "blaze_face": "none for the size: BlazeFace (BlazeBlocks, F.pad) takes 128 (896 anchors); classifier bias -8, "
                  "heads scaled down; a one-hot [1,896,1] map adds the face prior at anchor 722",
    "face_mesh": "front AvgPool2d(8) after the NHWC -> NCHW transpose (256 -> 32); FaceMesh body; the mesh head "
                 "Conv2d 1x1 16 -> 4 then 2x2 4 -> 1434 (bias = layout); flag bias +5",
}


class TinyAppearance(G.AppearanceFeatureExtractor):
    def __init__(self):
        super().__init__(expansion=4, down_blocks=2, reshape_channel=4, reshape_depth=4, resblocks=6)
        self.front = nn.AvgPool2d(4)
        self.expand = nn.Conv3d(4, 32, kernel_size=1)

    def forward(self, image):
        out = super().forward(self.front(image))  # [1, 4, 4, 16, 16]
        return F.interpolate(self.expand(out), scale_factor=(4, 4, 4))  # nearest: [1, 32, 16, 64, 64]


class TinyWarp(G.WarpingNetwork):
    def __init__(self):
        super().__init__(num_kp=21, expansion=2, feature_channel=32, depth=4, down_blocks=2, dm_expansion=2,
                         dm_blocks=4, dm_max_features=8, compress=1)
        dm = self.dense_motion_network
        dm.mask = nn.Conv3d(dm.hourglass.out_filters, 22, kernel_size=1)  # 7x7x7 in Ditto
        f = dm.hourglass.out_filters
        dm.hourglass.conv = nn.Conv3d(f, f, kernel_size=1)  # 3x3x3 in Ditto
        self.front = nn.AvgPool3d(4)
        self.expand = nn.Conv2d(8, 256, kernel_size=1)

    def forward(self, feature_3d, kp_source, kp_driving):
        out = super().forward(self.front(feature_3d), kp_source, kp_driving)  # [1, 8, 16, 16]
        return F.interpolate(self.expand(out), scale_factor=4)  # [1, 256, 64, 64]


class TinyDecoder(G.SPADEDecoder):
    def __init__(self):
        super().__init__(expansion=1, down_blocks=2, out_channels=2, hidden=4, middle_blocks=6)
        self.front_pool = nn.AvgPool2d(4)
        self.front = nn.Conv2d(256, 4, kernel_size=1)

    def forward(self, feature):
        img = super().forward(self.front(self.front_pool(feature)))  # [1, 3, 128, 128], sigmoid
        return F.interpolate(img, scale_factor=4)  # [1, 3, 512, 512]


class TinyHubert(G.Hubert):
    def __init__(self):
        super().__init__(conv=8, d=16, heads=2, ff=32, layers=2, pos_k=16, pos_groups=4)
        self.out = nn.Linear(16, 1024)

    def forward(self, input_values):
        return self.out(super().forward(input_values))  # [frames, 1024]


class TinySCRFD(G.SCRFD):
    def __init__(self):
        super().__init__(ch=(8, 8, 12, 16), fpn=8, anchors=2)
        n = DET_SIZE // 32
        onehot = torch.zeros(1, 1, n, n)
        onehot[0, 0, DET_ANCHOR[1], DET_ANCHOR[0]] = 1
        self.register_buffer("face_cell", onehot)
        self.register_buffer("face_score", torch.zeros(1, 2, 1, 1))
        self.register_buffer("face_box", torch.zeros(1, 8, 1, 1))
        self.register_buffer("face_kps", torch.zeros(1, 20, 1, 1))

    def forward(self, image):  # gen_ditto_onnx.SCRFD.forward with the prior at stride 32
        c1 = self.layer1(self.stem(image))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        lat = [l(c) for l, c in zip(self.lateral, (c2, c3, c4))]
        for i in (2, 1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], scale_factor=2, mode="nearest")
        outs = [conv(l) for conv, l in zip(self.fpn_convs, lat)]
        for i in range(2):
            outs[i + 1] = outs[i + 1] + self.down_convs[i](outs[i])
        outs = [outs[0]] + [conv(o) for conv, o in zip(self.pafpn_convs, outs[1:])]
        scores, boxes, kps = [], [], []
        for i, (o, head) in enumerate(zip(outs, self.heads)):
            f = head["stack"](o)
            cls, reg, pts = head["cls"](f), head["reg"](f) * self.scales[i], head["kps"](f)
            if i == 2:
                cls = cls + self.face_cell * self.face_score
                reg = reg + self.face_cell * self.face_box
                pts = pts + self.face_cell * self.face_kps
            scores.append(torch.sigmoid(cls).permute(0, 2, 3, 1).reshape(-1, 1))
            boxes.append(reg.permute(0, 2, 3, 1).reshape(-1, 4))
            kps.append(pts.permute(0, 2, 3, 1).reshape(-1, 10))
        return (*scores, *boxes, *kps)


class TinyLandmark106(G.Landmark106):
    def __init__(self):
        super().__init__()
        self.front = nn.AvgPool2d(6)

    def forward(self, data):
        return torch.tanh(super().forward(self.front((data - 127.5) * 0.0078125)))


class TinyLandmark203(G.Landmark203):
    def forward(self, input):
        return torch.sigmoid(super().forward(input))


class TinyBlazeFace(G.BlazeFace):
    def __init__(self):
        super().__init__()
        onehot = torch.zeros(1, 896, 1)
        onehot[0, BLAZE_ANCHOR, 0] = 1
        self.register_buffer("face_anchor", onehot)
        self.register_buffer("face_score", torch.zeros(1, 1, 1))
        self.register_buffer("face_reg", torch.zeros(1, 1, 16))

    def forward(self, input):
        r, c = super().forward(input)
        return r + self.face_anchor * self.face_reg, c + self.face_anchor * self.face_score


class TinyFaceMesh(G.FaceMesh):
    def __init__(self):
        super().__init__(points=478)
        self.front = nn.AvgPool2d(8)
        self.mesh = nn.Sequential(nn.Conv2d(16, 4, 1), nn.Conv2d(4, 478 * 3, 2))

    def forward(self, input):  # gen_ditto_onnx.FaceMesh.forward with the pool after the transpose
        x = self.front(input.permute(0, 3, 1, 2))
        x = self.stem_act(self.stem(F.pad(x, (0, 1, 0, 1))))
        x = self.body(x)
        nhwc = lambda y: y.permute(0, 2, 3, 1)
        return nhwc(self.mesh(x)), nhwc(self.flag(x)), nhwc(self.extra(x))


def scale_(layer, w=None, b=None):
    with torch.no_grad():
        if w is not None:
            layer.weight.mul_(w)
        if b is not None and layer.bias is not None:
            layer.bias.mul_(b)


def set_(t, value):
    with torch.no_grad():
        t.copy_(torch.as_tensor(np.asarray(value), dtype=t.dtype).reshape(t.shape))


def logit(p):
    return np.log(p / (1 - p))


def bias_appearance(m, geo, rng):
    return m


def bias_motion(m, geo, rng):
    for fc in (m.fc_pitch, m.fc_yaw, m.fc_roll):
        scale_(fc, 0.3)
        set_(fc.bias, -((np.arange(66) - 32.5) / 8.0) ** 2)
    for fc in (m.fc_t, m.fc_exp):
        scale_(fc, 0.05, 0.0)
    scale_(m.fc_scale, 0.05)
    set_(m.fc_scale.bias, [1.2])
    scale_(m.fc_kp, 0.05)
    kp = np.c_[rng.uniform(-0.45, 0.45, (21, 2)), rng.uniform(-0.15, 0.15, (21, 1))]
    set_(m.fc_kp.bias, kp.reshape(63))
    return m


def bias_decoder(m, geo, rng):
    scale_(m.conv_img[0], 0.15, 0.15)  # logits of std ~1 (random SPADE blocks give std ~8: a saturated image)
    return m


def bias_stitch(m, geo, rng):
    scale_(m.mlp[-1], 0.01, 0.01)
    return m


def bias_lmdm(m, geo, rng):
    scale_(m.model.final_layer, 0.05, 0.05)
    return m


def bias_det(m, geo, rng):
    for i, head in enumerate(m.heads):
        scale_(head["cls"], 0.05)
        set_(head["cls"].bias, [-4.0, -4.0])  # sigmoid 0.018 (onnxruntime's Sigmoid loses digits below -6)
        scale_(head["reg"], 0.05, 0.0)
        scale_(head["kps"], 0.05, 0.0)
    s = 32
    ax, ay = DET_ANCHOR[0] * s, DET_ANCHOR[1] * s
    box = geo.box * geo.det_scale
    dist = np.array([ax - box[0], ay - box[1], box[2] - ax, box[3] - ay]) / s
    u = np.array([[-EYE_U, EYE_V], [EYE_U, EYE_V], [0.0, 0.2], [-MOUTH_HW * 0.9, MOUTH_V], [MOUTH_HW * 0.9, MOUTH_V]])
    pts = (to_portrait(u) * geo.det_scale - [ax, ay]) / s
    set_(m.face_score, [12.0, 0.0])  # anchor 0 of the cell: -4 + 12
    set_(m.face_box, np.r_[dist, np.zeros(4)])
    set_(m.face_kps, np.r_[pts.reshape(10), np.zeros(10)])
    geo.det_box_512 = box
    return m


def bias_lmk106(m, geo, rng):
    v = apply(geo.m106, geo.p106) / 96 - 1
    assert np.abs(v).max() < 0.9
    scale_(m.fc, 0.02)
    set_(m.fc.bias, np.arctanh(v).reshape(212))
    return m


def bias_lmk203(m, geo, rng):
    v = apply(geo.m224, geo.p203) / 224
    assert v.min() > 0.05 and v.max() < 0.95, (v.min(), v.max())
    scale_(m.fc, 0.02)
    set_(m.fc.bias, logit(v).reshape(406))
    return m


def bias_blaze(m, geo, rng):
    for conv in (m.classifier_8, m.classifier_16):
        scale_(conv, 0.05)
        set_(conv.bias, np.full(conv.bias.shape, -8.0))
    for conv in (m.regressor_8, m.regressor_16):
        scale_(conv, 0.05, 0.0)
    cx, cy = (BLAZE_ANCHOR - 512) // 6 % 8, (BLAZE_ANCHOR - 512) // 6 // 8
    ax, ay = (cx + 0.5) / 8, (cy + 0.5) / 8
    b = geo.blaze_box
    xc, yc, w, h = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]
    # keypoints: right eye, left eye (image left first), nose, mouth, right ear, left ear
    u = np.array([[-EYE_U, EYE_V], [EYE_U, EYE_V], [0.0, 0.2], [0.0, MOUTH_V], [-0.95, -0.05], [0.95, -0.05]])
    k = apply(geo.m512, to_portrait(u)) / 512  # normalised
    reg = np.r_[xc - ax * 128, yc - ay * 128, w, h, ((k - [ax, ay]) * 128).reshape(12)]
    set_(m.face_reg, reg)
    set_(m.face_score, [16.0])
    geo.blaze_anchor_centre = (ax, ay)
    return m


def bias_mesh(m, geo, rng):
    scale_(m.mesh[1], 0.05)
    set_(m.mesh[1].bias, geo.mesh.reshape(1434))
    set_(m.flag.bias, [5.0])
    return m


EXPECTED_OUT = {  # the published output shapes (OPS.md 2); "frames" symbolic
    "appearance_extractor": {"pred": [1, 32, 16, 64, 64]},
    "motion_extractor": {"pitch": [1, 66], "yaw": [1, 66], "roll": [1, 66], "t": [1, 3], "exp": [1, 63],
                         "scale": [1, 1], "kp": [1, 63]},
    "warp_network": {"out": [1, 256, 64, 64]},
    "decoder": {"output": [1, 3, 512, 512]},
    "stitch_network": {"out": [1, 21, 3]},
    "lmdm_v0.4_hubert": {"pred_noise": [1, 80, 265], "x_start": [1, 80, 265]},
    "hubert": {"encoding_out": ["frames", 1024]},
    "insightface_det": {**{f"scores{i + 1}": [(512 // s) ** 2 * 2, 1] for i, s in enumerate((8, 16, 32))},
                        **{f"boxes{i + 1}": [(512 // s) ** 2 * 2, 4] for i, s in enumerate((8, 16, 32))},
                        **{f"kps{i + 1}": [(512 // s) ** 2 * 2, 10] for i, s in enumerate((8, 16, 32))}},
    "landmark106": {"fc1": [1, 212]},
    "landmark203": {"landmarks": [1, 406]},
    "blaze_face": {"regressors": [1, 896, 16], "classificators": [1, 896, 1]},
    "face_mesh": {"Identity": [1, 1, 1, 1434], "Identity_1": [1, 1, 1, 1], "Identity_2": [1, 1, 1, 1]},
}


class Spec:
    def __init__(self, name, key, make, bias, inputs, opset=OPSET, dynamic_axes=None, training=None):
        self.name, self.key, self.make, self.bias = name, key, make, bias
        self.inputs = inputs  # [(name, dtype, shape)]
        self.opset, self.dynamic_axes, self.training = opset, dynamic_axes, training


F32, I64 = "float32", "int64"
SPECS = [
    Spec("appearance_extractor", "appearance_extractor", TinyAppearance, bias_appearance,
         [("image", F32, [1, 3, 256, 256])]),
    Spec("motion_extractor", "motion_extractor", G.MotionExtractor, bias_motion, [("image", F32, [1, 3, 256, 256])]),
    Spec("warp_network", "warp_network", TinyWarp, lambda m, g, r: m,
         [("feature_3d", F32, [1, 32, 16, 64, 64]), ("kp_source", F32, [1, 21, 3]), ("kp_driving", F32, [1, 21, 3])],
         opset=OPSET_GRID),
    Spec("decoder", "decoder", TinyDecoder, bias_decoder, [("feature", F32, [1, 256, 64, 64])]),
    Spec("stitch_network", "stitch_network", lambda: G.StitchingNetwork(hidden=(32, 32, 16)), bias_stitch,
         [("kp_source", F32, [1, 21, 3]), ("kp_driving", F32, [1, 21, 3])]),
    Spec("lmdm_v0.4_hubert", "lmdm",
         lambda: G.LMDM(nfeats=265, seq=80, latent=8, ff=16, layers=1, heads=2, cond_dim=1103), bias_lmdm,
         [("x", F32, [1, 80, 265]), ("cond_frame", F32, [1, 265]), ("cond", F32, [1, 80, 1103]),
          ("time_cond", I64, [1])]),
    Spec("hubert", "hubert", TinyHubert, lambda m, g, r: m, [("input_values", F32, [1, "samples"])],
         dynamic_axes={"input_values": {1: "samples"}, "encoding_out": {0: "frames"}}),
    Spec("insightface_det", "insightface_det", TinySCRFD, bias_det, [("image", F32, [1, 3, 512, 512])]),
    Spec("landmark106", "landmark106", TinyLandmark106, bias_lmk106, [("data", F32, [1, 3, 192, 192])],
         training=torch.onnx.TrainingMode.PRESERVE),  # BatchNorm kept as nodes (an MXNet export's form)
    Spec("landmark203", "landmark203", TinyLandmark203, bias_lmk203, [("input", F32, [1, 3, 224, 224])]),
    Spec("blaze_face", "blaze_face", TinyBlazeFace, bias_blaze, [("input", F32, [1, 128, 128, 3])]),
    Spec("face_mesh", "face_mesh", TinyFaceMesh, bias_mesh, [("input", F32, [1, 256, 256, 3])]),
]


# ---------------------------------------------------------------------------
# portrait.png and speech.wav
# ---------------------------------------------------------------------------

def soft_ellipse(x, y, cx, cy, a, b, edge=1.5):
    q = np.sqrt(((x - cx) / a) ** 2 + ((y - cy) / b) ** 2)
    return np.clip((1 - q) * min(a, b) / edge + 0.5, 0, 1)[..., None]


def draw_portrait():
    y, x = np.mgrid[0:PORTRAIT_H, 0:PORTRAIT_W].astype(np.float64) + 0.5
    t = (y / PORTRAIT_H)[..., None]
    img = (1 - t) * np.array([150, 165, 185]) + t * np.array([95, 110, 135])  # backdrop

    def paint(alpha, colour):
        nonlocal img
        img = img * (1 - alpha) + alpha * np.asarray(colour, dtype=np.float64)

    paint(soft_ellipse(x, y, 128, 372, 132, 110, 3), (45, 65, 115))  # shoulders
    neck = np.clip(np.minimum(np.minimum(x - 104, 152 - x), np.minimum(y - 215, 300 - y)) / 2 + 0.5, 0, 1)[..., None]
    paint(neck, (196, 146, 118))
    paint(soft_ellipse(x, y, 128, 138, 70, 80, 3), (62, 42, 30))  # hair
    fx, fy = (x - FACE_C[0]) / FACE_HALF[0], (y - FACE_C[1]) / FACE_HALF[1]
    shade = (1 - 0.18 * (fx ** 2 + fy ** 2))[..., None]
    face = soft_ellipse(x, y, FACE_C[0], FACE_C[1], FACE_HALF[0], FACE_HALF[1])
    img = img * (1 - face) + face * shade * np.array([228, 184, 152])
    for sx in (-1, 1):
        ex, ey = FACE_C[0] + sx * EYE_U * FACE_HALF[0], FACE_C[1] + EYE_V * FACE_HALF[1]
        paint(soft_ellipse(x, y, ex, ey - 15, 11, 2.6, 1.0), (70, 48, 36))  # brow
        paint(soft_ellipse(x, y, ex, ey, EYE_HW * FACE_HALF[0], 4.2, 1.0), (238, 236, 230))  # sclera
        paint(soft_ellipse(x, y, ex, ey, 3.6, 3.6, 1.0), (52, 36, 30))  # iris
    img = img * (1 - 0.12 * soft_ellipse(x, y, 128, 172, 6, 11, 4))  # nose shadow
    paint(soft_ellipse(x, y, FACE_C[0], FACE_C[1] + MOUTH_V * FACE_HALF[1], MOUTH_HW * FACE_HALF[0], 5.0, 1.2),
          (160, 66, 66))  # mouth
    return np.clip(np.floor(img + 0.5), 0, 255).astype(np.uint8)


def png_bytes(rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def speech(rate=16000, seconds=2.0):
    """Four vowel-like syllables: a gliding f0 with harmonics weighted by /a/-like formants."""
    n = int(rate * seconds)
    t = np.arange(n) / rate
    f0 = 125 + 20 * np.sin(2 * np.pi * 0.7 * t) + 8 * np.sin(2 * np.pi * 5.0 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    formants = ((700, 110), (1220, 120), (2600, 160))
    sig = np.zeros(n)
    for k in range(1, 25):
        fk = k * f0
        amp = sum(np.exp(-0.5 * ((fk - f) / bw) ** 2) for f, bw in formants) + 0.05 / k
        sig += amp * np.sin(k * phase)
    env = np.zeros(n)
    for start, dur in ((0.10, 0.38), (0.56, 0.30), (0.95, 0.42), (1.47, 0.40)):
        u = (t - start) / dur
        env += np.where((u >= 0) & (u <= 1), np.sin(np.pi * np.clip(u, 0, 1)) ** 2, 0.0)
    sig = sig * env
    sig = 0.5 * sig / np.abs(sig).max()
    pcm = np.round(sig * 32767).astype("<i2")
    data = pcm.tobytes()
    header = (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
              + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(data)))
    return header + data, pcm.astype(np.float32) / 32768.0


# ---------------------------------------------------------------------------
# checks of what the pipeline will read
# ---------------------------------------------------------------------------

def decode_det(out, det_scale, thr=0.5):
    faces = []
    for i, s in enumerate((8, 16, 32)):
        n = DET_SIZE // s
        sc, bx = out[f"scores{i + 1}"][:, 0], out[f"boxes{i + 1}"] * s
        cy, cx = np.divmod(np.arange(n * n), n)
        centres = np.repeat(np.stack([cx * s, cy * s], 1), 2, axis=0).astype(np.float64)
        for a in np.nonzero(sc >= thr)[0]:
            c = centres[a]
            faces.append((float(sc[a]), np.r_[c - bx[a, :2], c + bx[a, 2:]] / det_scale))
    return faces


def max_det_score(out):
    return max(float(out[f"scores{i}"].max()) for i in (1, 2, 3))


def det_scores_off_face(out):
    s3 = out["scores3"][:, 0].copy()
    s3[(DET_ANCHOR[1] * 16 + DET_ANCHOR[0]) * 2] = 0
    return max(float(out["scores1"].max()), float(out["scores2"].max()), float(s3.max()))


# ---------------------------------------------------------------------------
# export, run, write
# ---------------------------------------------------------------------------

def run_ort(model, inputs):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    t0 = time.perf_counter()
    res = sess.run(names, inputs)
    return dict(zip(names, res)), time.perf_counter() - t0


def dims(vi):
    return [d.dim_param if d.dim_param else d.dim_value for d in vi.type.tensor_type.shape.dim]


def check_signature(m, spec):
    want_in = [(n, t, s) for n, t, s in spec.inputs]
    got_in = [(i.name, onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type).name, dims(i))
              for i in m.graph.input]
    assert got_in == want_in, f"{spec.name}: inputs {got_in} != {want_in}"
    want_out = EXPECTED_OUT[spec.name]
    got_out = {o.name: dims(o) for o in m.graph.output}
    assert list(got_out) == list(want_out), f"{spec.name}: outputs {list(got_out)} != {list(want_out)}"
    assert got_out == want_out, f"{spec.name}: output shapes {got_out} != {want_out}"
    for o in m.graph.output:
        assert o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def compact_names(m):
    """Intermediate values renamed v0, v1, ... in node order (the exporter's names are module paths,
    most of a small graph's bytes); graph inputs, outputs, initializers and node names are kept."""
    keep = {i.name for i in m.graph.input} | {o.name for o in m.graph.output} | {t.name for t in m.graph.initializer}
    names = {}
    for n in m.graph.node:
        for k, o in enumerate(n.output):
            if o and o not in keep:
                names[o] = f"v{len(names)}"
                n.output[k] = names[o]
        for k, x in enumerate(n.input):
            if x in names:
                n.input[k] = names[x]
    for n in m.graph.node:  # (outputs always come before their uses in a valid graph)
        for k, x in enumerate(n.input):
            assert x in keep or x in names.values() or not x, x
    del m.graph.value_info[:]


def rnd(v, digits):
    return round(float(v), digits) + 0.0  # no "-0.0" in the JSON


def q64(a):
    """Seeded values on a 1/64 grid: exact in float32, and their files compress."""
    return (np.round(a * 64) / 64).astype(np.float32)


def stored(a):
    a = np.asarray(a)
    return np.ascontiguousarray(a) if a.ndim else a.copy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures", "ditto_tiny"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.RandomState(SEED)
    geo = Geometry(rng)

    portrait = draw_portrait()
    with open(os.path.join(args.out, "portrait.png"), "wb") as f:
        f.write(png_bytes(portrait))
    wav, audio = speech()
    with open(os.path.join(args.out, "speech.wav"), "wb") as f:
        f.write(wav)
    rgb = portrait.astype(np.float64)

    # Golden inputs: the portrait through the pipeline's crops; the rest seeded or chained.
    gen_inputs = {
        "appearance_extractor": lambda o: {"image": geo.input256(rgb)},
        "motion_extractor": lambda o: {"image": geo.input256(rgb)},
        "warp_network": lambda o: {"feature_3d": o["appearance_extractor"]["pred"],
                                   "kp_source": o["x_s"],
                                   "kp_driving": (o["x_s"] + q64(rng.normal(0, 1.28, (1, 21, 3))) / 64).astype(
                                       np.float32)},
        "decoder": lambda o: {"feature": o["warp_network"]["out"]},
        "stitch_network": lambda o: {"kp_source": o["x_s"], "kp_driving": o["warp_in"]["kp_driving"]},
        "lmdm_v0.4_hubert": lambda o: {"x": q64(rng.normal(0, 1, (1, 80, 265))),
                                       "cond_frame": q64(rng.normal(0, 0.5, (1, 265))),
                                       "cond": q64(rng.normal(0, 1, (1, 80, 1103))),
                                       "time_cond": np.array([837], dtype=np.int64)},
        "hubert": lambda o: {"input_values": audio[None, :6480].copy()},
        "insightface_det": lambda o: {"image": geo.det_input(rgb)},
        "landmark106": lambda o: {"data": geo.lmk106_input(rgb)},
        "landmark203": lambda o: {"input": geo.lmk203_input(rgb)},
        "blaze_face": lambda o: {"input": geo.blaze_input(rgb)},
        "face_mesh": lambda o: {"input": geo.mesh_input(rgb)},
    }

    manifest = {
        "generator": "tests/golden/gen_ditto_tiny.py",
        "seed": SEED,
        "exporter": "torch.onnx.export, TorchScript exporter (dynamo=False), do_constant_folding=True",
        "reference": "onnxruntime CPUExecutionProvider, graph optimizations disabled, one thread",
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                     "numpy": np.__version__, "safetensors": safetensors.__version__,
                     "python": platform.python_version()},
        "portrait": {"file": "portrait.png", "width": PORTRAIT_W, "height": PORTRAIT_H},
        "speech": {"file": "speech.wav", "rate": 16000, "channels": 1, "bits": 16, "samples": 32000},
        "graphs": [],
    }
    outs = {}
    onnx_total = 0
    timings = {}
    for i, spec in enumerate(SPECS):
        torch.manual_seed(SEED + i)
        gen = torch.Generator().manual_seed(SEED + 100 + i)
        model = G.randomise(spec.make(), gen).eval()
        model = spec.bias(model, geo, rng).eval()
        inputs = gen_inputs[spec.name](outs)
        args_ = tuple(torch.from_numpy(inputs[n]) for n, _, _ in spec.inputs)
        with torch.no_grad():
            ref = model(*args_)
        for mod in model.modules():  # export from a fresh rotary cache, as gen_ditto_onnx.py does
            if isinstance(mod, G.Rotary):
                mod.cache.clear()
        ref = ref if isinstance(ref, tuple) else (ref,)
        out_names = list(EXPECTED_OUT[spec.name])
        torch_out = dict(zip(out_names, (r.detach().numpy() for r in ref)))
        m = G.export(model, args_, [n for n, _, _ in spec.inputs], out_names, spec.opset, spec.dynamic_axes,
                     spec.training)
        m.producer_name = "gen_ditto_tiny.py (torch.onnx TorchScript exporter)"
        compact_names(m)
        if not spec.dynamic_axes:
            G.declare_output_shapes(m, torch_out)
        onnx.checker.check_model(m)
        onnx.checker.check_model(m, full_check=True)
        check_signature(m, spec)
        ort_out, secs = run_ort(m, inputs)
        timings[spec.name] = secs
        errs = {k: G.rel_l2(ort_out[k], torch_out[k]) for k in out_names}
        assert all(e < 1e-4 for e in errs.values()), f"{spec.name}: onnxruntime vs torch {errs}"
        outs[spec.name] = ort_out
        if spec.name == "motion_extractor":
            outs["x_s"] = transform_keypoint(ort_out)
        if spec.name == "warp_network":
            outs["warp_in"] = inputs

        onnx_path = os.path.join(args.out, spec.name + ".onnx")
        onnx.save(m, onnx_path)
        size = os.path.getsize(onnx_path)
        assert size < MAX_ONNX_BYTES, f"{onnx_path} is {size} bytes"
        onnx_total += size
        io_path = os.path.join(args.out, spec.name + ".io.safetensors")
        tensors = {f"input/{k}": stored(v) for k, v in inputs.items()}
        tensors.update({f"output/{k}": stored(v) for k, v in ort_out.items()})
        save_file(tensors, io_path, metadata={"graph": spec.name})
        with safetensors.safe_open(io_path, "np") as f:
            assert sorted(f.keys()) == sorted(tensors)
        nparams = sum(int(np.prod(t.dims)) for t in m.graph.initializer)
        manifest["graphs"].append({
            "file": spec.name + ".onnx", "io": spec.name + ".io.safetensors", "network": spec.key,
            "opset": {o.domain or "ai.onnx": o.version for o in m.opset_import},
            "inputs": [{"name": vi.name, "shape": dims(vi),
                        "type": onnx.TensorProto.DataType.Name(vi.type.tensor_type.elem_type).lower()}
                       for vi in m.graph.input],
            "outputs": [{"name": vi.name, "shape": dims(vi), "type": "float"} for vi in m.graph.output],
            "adapters": ADAPTERS[spec.key], "parameters": nparams,
            "nodes": sum(1 for n in m.graph.node if n.op_type != "Constant"),
            "ops": sorted({n.op_type for n in m.graph.node}),
            "onnx_bytes": size, "io_bytes": os.path.getsize(io_path),
        })
        print(f"{spec.name}: onnx {size} B, io {os.path.getsize(io_path)} B, {nparams} parameters, "
              f"ort {secs * 1000:.0f} ms, rel L2 vs torch {max(errs.values()):.1e}", file=sys.stderr)
        sessions_check(spec, m, ort_out, geo, rng)

    # hubert's frame count at the TensorRT profile's lengths
    hm = onnx.load(os.path.join(args.out, "hubert.onnx"))
    for n in (3240, 6480, 12960):
        o, _ = run_ort(hm, {"input_values": np.zeros((1, n), np.float32)})
        want = (n - 400) // 320 + 1
        assert o["encoding_out"].shape == (want, 1024), (n, o["encoding_out"].shape)

    g = geo
    manifest["geometry"] = {
        "about": "what the biased nets give on portrait.png (pixels of portrait.png unless said); any image gives "
                 "the same detector box in the 512 letterbox",
        "detector_box_512": [rnd(v, 3) for v in g.det_box_512],
        "face_box": [rnd(v, 3) for v in g.box],
        "det_anchor": {"stride": 32, "cell_x": DET_ANCHOR[0], "cell_y": DET_ANCHOR[1], "anchor": 0,
                       "row": (DET_ANCHOR[1] * 16 + DET_ANCHOR[0]) * 2},
        "eyes_106": [[rnd(v, 3) for v in g.p106[[33, 35, 40, 39]].mean(0)],
                     [rnd(v, 3) for v in g.p106[[87, 89, 94, 93]].mean(0)]],
        "mouth_106": [rnd(v, 3) for v in g.p106[[52, 61]].mean(0)],
        "m_o2c_224": [[rnd(v, 6) for v in r] for r in g.m224],
        "m_o2c_512": [[rnd(v, 6) for v in r] for r in g.m512],
        "blaze_anchor": BLAZE_ANCHOR,
        "blaze_box_128": [rnd(v, 3) for v in g.blaze_box],
        "mesh_roi_512": [rnd(v, 3) for v in g.roi],
    }
    manifest["onnx_bytes_total"] = onnx_total
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    assert onnx_total < MAX_ONNX_TOTAL, f"graphs are {onnx_total} bytes"
    print(f"{len(SPECS)} graphs, {onnx_total / 1000:.0f} kB of ONNX in {args.out}; slowest run "
          f"{max(timings.values()) * 1000:.0f} ms", file=sys.stderr)


def sessions_check(spec, m, out, geo, rng):
    """The biased nets give one face and plausible landmarks, on the golden input and on other images."""
    if spec.name == "insightface_det":
        faces = decode_det(out, geo.det_scale)
        assert len(faces) == 1, f"{len(faces)} faces"
        assert np.abs(faces[0][1] - geo.box).max() < 2.0, (faces[0][1], geo.box)
        assert det_scores_off_face(out) < 0.05
        for k, x in enumerate(image_probes(rng, (1, 3, 512, 512), lo=-1.0, hi=1.0)):
            o, _ = run_ort(m, {"image": x})
            f = decode_det(o, geo.det_scale)
            assert len(f) == 1 and det_scores_off_face(o) < 0.05, (k, len(f), det_scores_off_face(o))
            assert np.abs(f[0][1] - geo.box).max() < 4.0, (k, f[0][1])
    elif spec.name == "landmark106":
        p = (out["fc1"].reshape(106, 2) + 1) * 96
        want = apply(geo.m106, geo.p106)
        assert np.abs(p - want).max() < 1.5, np.abs(p - want).max()
        for x in image_probes(rng, (1, 3, 192, 192), lo=0.0, hi=255.0):
            o, _ = run_ort(m, {"data": x})
            assert np.abs((o["fc1"].reshape(106, 2) + 1) * 96 - want).max() < 3.0
    elif spec.name == "landmark203":
        p = out["landmarks"].reshape(203, 2) * 224
        want = apply(geo.m224, geo.p203)
        assert np.abs(p - want).max() < 1.5, np.abs(p - want).max()
        for x in image_probes(rng, (1, 3, 224, 224), lo=0.0, hi=1.0):
            o, _ = run_ort(m, {"input": x})
            assert np.abs(o["landmarks"].reshape(203, 2) * 224 - want).max() < 3.0
    elif spec.name == "blaze_face":
        sc = 1 / (1 + np.exp(-np.clip(out["classificators"][0, :, 0], -50, 100)))
        assert int((sc >= 0.5).sum()) == 1 and sc.argmax() == BLAZE_ANCHOR
        for x in image_probes(rng, (1, 128, 128, 3), lo=-1.0, hi=1.0):
            o, _ = run_ort(m, {"input": x})
            s = 1 / (1 + np.exp(-np.clip(o["classificators"][0, :, 0], -50, 100)))
            assert int((s >= 0.5).sum()) == 1 and s.argmax() == BLAZE_ANCHOR
            r = o["regressors"][0, BLAZE_ANCHOR]
            ax, ay = geo.blaze_anchor_centre
            box = np.r_[r[0] + ax * 128 - r[2] / 2, r[1] + ay * 128 - r[3] / 2,
                        r[0] + ax * 128 + r[2] / 2, r[1] + ay * 128 + r[3] / 2]
            assert np.abs(box - geo.blaze_box).max() < 1.0, (box, geo.blaze_box)
    elif spec.name == "face_mesh":
        p = out["Identity"].reshape(478, 3)
        assert np.abs(p - geo.mesh).max() < 1.5, np.abs(p - geo.mesh).max()
        for x in image_probes(rng, (1, 256, 256, 3), lo=0.0, hi=1.0):
            o, _ = run_ort(m, {"input": x})
            assert np.abs(o["Identity"].reshape(478, 3) - geo.mesh).max() < 3.0


def image_probes(rng, shape, lo, hi):
    """Black, white, uniform noise, and a smooth random image (lo..hi)."""
    yield np.full(shape, lo, np.float32)
    yield np.full(shape, hi, np.float32)
    yield rng.uniform(lo, hi, shape).astype(np.float32)
    small = rng.uniform(lo, hi, shape[:-2] + (8, 8)) if shape[1] == 3 else rng.uniform(lo, hi, (1, 8, 8, 3))
    t = torch.from_numpy(small if shape[1] == 3 else small.transpose(0, 3, 1, 2))
    big = F.interpolate(t, size=(shape[2], shape[3]) if shape[1] == 3 else (shape[1], shape[2]),
                        mode="bilinear", align_corners=False).numpy()
    yield (big if shape[1] == 3 else big.transpose(0, 2, 3, 1)).astype(np.float32)


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
