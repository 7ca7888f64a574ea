#!/usr/bin/env python3
"""Golden fixtures shaped like Ditto's published ONNX graphs (`ditto_onnx/`).

Ditto (antgroup/ditto-talkinghead) ships its networks as ONNX files: the five
LivePortrait networks (KwaiVGI/LivePortrait src/modules, copied into Ditto's
core/models/modules), the motion diffusion transformer (LMDM), HuBERT, and
five face-analysis networks (core/aux_models). The real files are large and
not reachable from here, so this script rebuilds each network's *structure*
in PyTorch -- the same layer types, attribute combinations, tensor ranks and
control flow -- with reduced channel counts, depths and sizes and seeded
random weights, exports it with torch.onnx (the TorchScript exporter,
dynamo=False, as Ditto's torch 2.5.1 environment would), runs onnxruntime on
seeded inputs and writes per network

    fixtures/ditto_onnx/<network>/<graph>.onnx          weights inline
    fixtures/ditto_onnx/<network>/<graph>.safetensors   "input/<name>", "output/<name>"

plus fixtures/ditto_onnx/manifest.json: generator, seed, versions, and per
graph the opset, the inputs / outputs and every op type with the attribute
combinations it is used with (what OPS.md is written from).

The code below is written from the facts in those repositories (module
structure, hyper-parameters, I/O names); nothing is copied from them. The
face-analysis networks (insightface det / 2d106det, LivePortrait's
landmark203, MediaPipe BlazeFace / face mesh) have no source in either
repository, only Python wrappers that show their input and output names and
shapes: for those the nets here are plausible members of the same op family
(see OPS.md), not reconstructions.

The warp network is written three times: `warp_network_ori.onnx` with the
standard opset-20 GridSample on 5-D inputs, `warp_network.onnx` with those
nodes renamed to `GridSample3D` in the default domain, keeping GridSample's
string attributes (how the published LivePortrait / Ditto TensorRT graphs are
made: export at opset 20, then rename op_type for the
SeanWangJS/grid-sample3d-trt-plugin, whose creator reads optional int fields
interpolation_mode / padding_mode / align_corners that default to 0), and
`warp_network_custom_domain.onnx` with a `GridSample3D` node in a custom
domain carrying the plugin's int attributes (how a symbolic function export
would write it). onnxruntime has no GridSample3D, so for the last two the
reference output is PyTorch's (F.grid_sample on 5-D input).

Run (CI never runs it; it only reads the committed fixtures):
    python3 -m venv /work/venv-ditto
    /work/venv-ditto/bin/pip install torch==2.5.1 onnx onnxruntime numpy safetensors
    /work/venv-ditto/bin/python tests/golden/gen_ditto_onnx.py [--out DIR] [--print-ops]
"""

import argparse
import io
import json
import math
import os
import platform
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import safetensors
import torch
import torch.nn.functional as F
from onnx import numpy_helper, shape_inference
from safetensors.numpy import save_file
from torch import nn

SEED = 20250801
MAX_FILE_BYTES = 700 * 1000
MAX_TOTAL_BYTES = 3 * 1000 * 1000
OPSET = 17  # Ditto states no opset; 17 is the first with LayerNormalization
OPSET_GRID = 20  # 5-D GridSample exists from opset 20 on

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------
# weights: seeded, and non-trivial where PyTorch's init would make a layer an
# identity (BatchNorm statistics, LayerNorm affine, GRN's zero gamma / beta)
# ---------------------------------------------------------------------------

def randomise(model, gen):
    def u(t, lo, hi):
        with torch.no_grad():
            t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)

    def n(t, s):
        with torch.no_grad():
            t.copy_(torch.randn(t.shape, generator=gen) * s)

    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            u(m.weight, 0.5, 1.5)
            n(m.bias, 0.1)
            n(m.running_mean, 0.1)
            u(m.running_var, 0.5, 1.5)
        elif isinstance(m, nn.LayerNorm) and m.weight is not None:
            u(m.weight, 0.5, 1.5)
            n(m.bias, 0.1)
        elif isinstance(m, nn.PReLU):
            u(m.weight, 0.05, 0.4)
    for name, p in model.named_parameters():
        if name.endswith(("grn.beta", "cf_bias")):
            n(p, 0.5)
        elif name.endswith(("grn.gamma", "cf_weight")):
            u(p, 0.5, 1.5)
    return model


# ---------------------------------------------------------------------------
# LivePortrait building blocks (src/modules/util.py, core/models/modules/util.py)
# ---------------------------------------------------------------------------

def coordinate_grid(d, h, w, ref):
    """(d, h, w, 3) in [-1, 1], x along w, y along h, z along d."""
    x = torch.arange(w).type(ref.dtype)
    y = torch.arange(h).type(ref.dtype)
    z = torch.arange(d).type(ref.dtype)
    x = 2 * (x / (w - 1)) - 1
    y = 2 * (y / (h - 1)) - 1
    z = 2 * (z / (d - 1)) - 1
    yy = y.view(1, -1, 1).repeat(d, 1, w)
    xx = x.view(1, 1, -1).repeat(d, h, 1)
    zz = z.view(-1, 1, 1).repeat(1, h, w)
    return torch.cat([xx.unsqueeze(3), yy.unsqueeze(3), zz.unsqueeze(3)], 3)


def keypoints_to_gaussian(kp, spatial, variance):
    lead = kp.dim() - 1
    grid = coordinate_grid(*spatial, kp)
    grid = grid.view(*((1,) * lead + tuple(grid.shape)))
    grid = grid.repeat(*(tuple(kp.shape[:lead]) + (1, 1, 1, 1)))
    mean = kp.view(*(tuple(kp.shape[:lead]) + (1, 1, 1, 3)))
    diff = grid - mean
    return torch.exp(-0.5 * (diff ** 2).sum(-1) / variance)


class SameBlock2d(nn.Module):
    def __init__(self, cin, cout, lrelu=False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(cout, affine=True)
        self.ac = nn.LeakyReLU() if lrelu else nn.ReLU()

    def forward(self, x):
        return self.ac(self.norm(self.conv(x)))


class DownBlock2d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(cout, affine=True)
        self.pool = nn.AvgPool2d(kernel_size=(2, 2))

    def forward(self, x):
        return self.pool(F.relu(self.norm(self.conv(x))))


class ResBlock3d(nn.Module):
    """BatchNorm3d -> ReLU -> Conv3d, twice, plus the input (norm before conv: not fusable)."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv3d(c, c, kernel_size=3, padding=1)
        self.conv2 = nn.Conv3d(c, c, kernel_size=3, padding=1)
        self.norm1 = nn.BatchNorm3d(c, affine=True)
        self.norm2 = nn.BatchNorm3d(c, affine=True)

    def forward(self, x):
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return out + x


class DownBlock3d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(cout, affine=True)
        self.pool = nn.AvgPool3d(kernel_size=(1, 2, 2))

    def forward(self, x):
        return self.pool(F.relu(self.norm(self.conv(x))))


class UpBlock3d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(cout, affine=True)

    def forward(self, x):
        out = F.interpolate(x, scale_factor=(1, 2, 2))  # nearest on a 5-D tensor
        return F.relu(self.norm(self.conv(out)))


class Hourglass(nn.Module):
    def __init__(self, expansion, cin, blocks, max_features):
        super().__init__()
        ch = lambda i: min(max_features, expansion * (2 ** i))
        self.down = nn.ModuleList([DownBlock3d(cin if i == 0 else ch(i), ch(i + 1)) for i in range(blocks)])
        ups = []
        for i in reversed(range(blocks)):
            ups.append(UpBlock3d((1 if i == blocks - 1 else 2) * ch(i + 1), ch(i)))
        self.up = nn.ModuleList(ups)
        self.out_filters = expansion + cin
        self.conv = nn.Conv3d(self.out_filters, self.out_filters, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(self.out_filters, affine=True)

    def forward(self, x):
        skips = [x]
        for block in self.down:
            skips.append(block(skips[-1]))
        out = skips.pop()
        for block in self.up:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return F.relu(self.norm(self.conv(out)))


class SPADE(nn.Module):
    def __init__(self, norm_nc, label_nc, hidden):
        super().__init__()
        self.param_free_norm = nn.InstanceNorm2d(norm_nc, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, kernel_size=3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, norm_nc, kernel_size=3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, norm_nc, kernel_size=3, padding=1)

    def forward(self, x, seg):
        normalized = self.param_free_norm(x)
        seg = F.interpolate(seg, size=x.size()[2:], mode="nearest")
        actv = self.mlp_shared(seg)
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin, fout, label_nc, hidden):
        super().__init__()
        self.learned_shortcut = fin != fout
        mid = min(fin, fout)
        sn = nn.utils.spectral_norm  # norm_G = 'spadespectralinstance'
        self.conv_0 = sn(nn.Conv2d(fin, mid, kernel_size=3, padding=1, dilation=1))
        self.conv_1 = sn(nn.Conv2d(mid, fout, kernel_size=3, padding=1, dilation=1))
        if self.learned_shortcut:
            self.conv_s = sn(nn.Conv2d(fin, fout, kernel_size=1, bias=False))
            self.norm_s = SPADE(fin, label_nc, hidden)
        self.norm_0 = SPADE(fin, label_nc, hidden)
        self.norm_1 = SPADE(mid, label_nc, hidden)

    def forward(self, x, seg):
        xs = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 2e-1))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 2e-1))
        return xs + dx


# ---------------------------------------------------------------------------
# 1. appearance_extractor (appearance_feature_extractor.py)
#    Ditto: image [1,3,256,256] -> pred [1,32,16,64,64]
# ---------------------------------------------------------------------------

class AppearanceFeatureExtractor(nn.Module):
    def __init__(self, expansion=4, down_blocks=2, reshape_channel=4, reshape_depth=4, resblocks=6):
        super().__init__()
        max_features = reshape_channel * reshape_depth
        self.rc, self.rd = reshape_channel, reshape_depth
        self.first = SameBlock2d(3, expansion)
        self.down = nn.ModuleList(
            [DownBlock2d(expansion * 2 ** i, expansion * 2 ** (i + 1)) for i in range(down_blocks)])
        self.second = nn.Conv2d(expansion * 2 ** down_blocks, max_features, kernel_size=1, stride=1)
        self.resblocks_3d = nn.Sequential(*[ResBlock3d(reshape_channel) for _ in range(resblocks)])

    def forward(self, image):
        out = self.first(image)
        for block in self.down:
            out = block(out)
        out = self.second(out)
        bs, c, h, w = out.shape
        return self.resblocks_3d(out.view(bs, self.rc, self.rd, h, w))


# ---------------------------------------------------------------------------
# 2. motion_extractor (convnextv2.py): ConvNeXtV2 + 7 linear heads
#    Ditto: image [1,3,256,256] -> pitch/yaw/roll [1,66], t [1,3], exp [1,63], scale [1,1], kp [1,63]
# ---------------------------------------------------------------------------

class ChannelsFirstLayerNorm(nn.Module):
    """convnextv2's LayerNorm(data_format='channels_first'): written out with mean / pow / sqrt."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.cf_weight = nn.Parameter(torch.ones(c))
        self.cf_bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.cf_weight[:, None, None] * x + self.cf_bias[:, None, None]


class GRN(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x):
        gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * nx) + self.beta + x


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)  # F.layer_norm over the channels-last dim
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.grn = GRN(4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.grn(self.act(self.pwconv1(self.norm(y)))))
        return x + y.permute(0, 3, 1, 2)  # drop_path is the identity at inference


class MotionExtractor(nn.Module):
    def __init__(self, dims=(8, 12, 16, 24), depths=(1, 1, 2, 1), num_kp=21, num_bins=66):
        super().__init__()
        self.downsample = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(3, dims[0], kernel_size=4, stride=4), ChannelsFirstLayerNorm(dims[0]))])
        for i in range(3):
            self.downsample.append(
                nn.Sequential(ChannelsFirstLayerNorm(dims[i]), nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2)))
        self.stages = nn.ModuleList([nn.Sequential(*[ConvNeXtBlock(dims[i]) for _ in range(depths[i])]) for i in range(4)])
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        d = dims[-1]
        self.fc_kp = nn.Linear(d, 3 * num_kp)
        self.fc_scale = nn.Linear(d, 1)
        self.fc_pitch = nn.Linear(d, num_bins)
        self.fc_yaw = nn.Linear(d, num_bins)
        self.fc_roll = nn.Linear(d, num_bins)
        self.fc_t = nn.Linear(d, 3)
        self.fc_exp = nn.Linear(d, 3 * num_kp)

    def forward(self, image):
        x = image
        for i in range(4):
            x = self.stages[i](self.downsample[i](x))
        x = self.norm(x.mean([-2, -1]))
        return (self.fc_pitch(x), self.fc_yaw(x), self.fc_roll(x), self.fc_t(x), self.fc_exp(x), self.fc_scale(x),
                self.fc_kp(x))


# ---------------------------------------------------------------------------
# 3. warp_network (warping_network.py + dense_motion.py)
#    Ditto: feature_3d [1,32,16,64,64], kp_source [1,21,3], kp_driving [1,21,3] -> out [1,256,64,64]
# ---------------------------------------------------------------------------

class DenseMotionNetwork(nn.Module):
    def __init__(self, expansion, blocks, max_features, num_kp, feature_channel, reshape_depth, compress):
        super().__init__()
        self.hourglass = Hourglass(expansion, (num_kp + 1) * (compress + 1), blocks, max_features)
        self.mask = nn.Conv3d(self.hourglass.out_filters, num_kp + 1, kernel_size=7, padding=3)
        self.compress = nn.Conv3d(feature_channel, compress, kernel_size=1)
        self.norm = nn.BatchNorm3d(compress, affine=True)
        self.num_kp = num_kp
        self.occlusion = nn.Conv2d(self.hourglass.out_filters * reshape_depth, 1, kernel_size=7, padding=3)

    def sparse_motions(self, feature, kp_driving, kp_source):
        bs, _, d, h, w = feature.shape
        identity = coordinate_grid(d, h, w, kp_source).view(1, 1, d, h, w, 3)
        grid = identity - kp_driving.view(bs, self.num_kp, 1, 1, 1, 3)
        driving_to_source = grid + kp_source.view(bs, self.num_kp, 1, 1, 1, 3)
        identity = identity.repeat(bs, 1, 1, 1, 1, 1)
        return torch.cat([identity, driving_to_source], dim=1)  # (bs, 1+K, d, h, w, 3)

    def deformed_feature(self, feature, motions):
        bs, _, d, h, w = feature.shape
        k = self.num_kp + 1
        rep = feature.unsqueeze(1).unsqueeze(1).repeat(1, k, 1, 1, 1, 1, 1)  # a 7-D tensor
        rep = rep.view(bs * k, -1, d, h, w)
        motions = motions.view((bs * k, d, h, w, -1))
        out = F.grid_sample(rep, motions, align_corners=False)
        return out.view((bs, k, -1, d, h, w))

    def heatmaps(self, feature, kp_driving, kp_source):
        spatial = feature.shape[3:]
        heat = keypoints_to_gaussian(kp_driving, spatial, 0.01) - keypoints_to_gaussian(kp_source, spatial, 0.01)
        zeros = torch.zeros(heat.shape[0], 1, spatial[0], spatial[1], spatial[2]).type(heat.dtype)
        return torch.cat([zeros, heat], dim=1).unsqueeze(2)

    def forward(self, feature, kp_driving, kp_source):
        bs, _, d, h, w = feature.shape
        feature = F.relu(self.norm(self.compress(feature)))
        motion = self.sparse_motions(feature, kp_driving, kp_source)
        deformed = self.deformed_feature(feature, motion)
        heat = self.heatmaps(deformed, kp_driving, kp_source)
        inp = torch.cat([heat, deformed], dim=2).view(bs, -1, d, h, w)
        prediction = self.hourglass(inp)
        mask = F.softmax(self.mask(prediction), dim=1).unsqueeze(2)
        motion = motion.permute(0, 1, 5, 2, 3, 4)  # a 6-D transpose
        deformation = (motion * mask).sum(dim=1).permute(0, 2, 3, 4, 1)
        bs, _, d, h, w = prediction.shape
        occlusion = torch.sigmoid(self.occlusion(prediction.view(bs, -1, h, w)))
        return deformation, occlusion


class WarpingNetwork(nn.Module):
    def __init__(self, num_kp=3, expansion=4, feature_channel=4, depth=4, down_blocks=2,
                 dm_expansion=2, dm_blocks=4, dm_max_features=8, compress=2):
        super().__init__()
        self.dense_motion_network = DenseMotionNetwork(dm_expansion, dm_blocks, dm_max_features, num_kp,
                                                       feature_channel, depth, compress)
        self.third = SameBlock2d(feature_channel * depth, expansion * 2 ** down_blocks, lrelu=True)
        self.fourth = nn.Conv2d(expansion * 2 ** down_blocks, expansion * 2 ** down_blocks, kernel_size=1, stride=1)

    def forward(self, feature_3d, kp_source, kp_driving):
        deformation, occlusion = self.dense_motion_network(feature_3d, kp_driving, kp_source)
        out = F.grid_sample(feature_3d, deformation, align_corners=False)
        bs, c, d, h, w = out.shape
        out = self.fourth(self.third(out.view(bs, c * d, h, w)))
        return out * occlusion


# ---------------------------------------------------------------------------
# 4. decoder (spade_generator.py)
#    Ditto: feature [1,256,64,64] -> output [1,3,512,512]
# ---------------------------------------------------------------------------

class SPADEDecoder(nn.Module):
    def __init__(self, expansion=1, down_blocks=2, out_channels=2, hidden=4, middle_blocks=6):
        super().__init__()
        cin = expansion * 2 ** down_blocks  # label_nc
        self.fc = nn.Conv2d(cin, 2 * cin, 3, padding=1)
        self.middle = nn.ModuleList([SPADEResnetBlock(2 * cin, 2 * cin, cin, hidden) for _ in range(middle_blocks)])
        self.up_0 = SPADEResnetBlock(2 * cin, cin, cin, hidden)
        self.up_1 = SPADEResnetBlock(cin, out_channels, cin, hidden)
        self.up = nn.Upsample(scale_factor=2)
        self.conv_img = nn.Sequential(nn.Conv2d(out_channels, 3 * 4, kernel_size=3, padding=1),
                                      nn.PixelShuffle(upscale_factor=2))  # upscale = 2

    def forward(self, feature):
        seg = feature
        x = self.fc(feature)
        for block in self.middle:
            x = block(x, seg)
        x = self.up_0(self.up(x), seg)
        x = self.up_1(self.up(x), seg)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, 2e-1)))


# ---------------------------------------------------------------------------
# 5. stitch_network (Ditto's stitching_network.py: the MLP plus the delta
#    applied in the graph). kp_source, kp_driving [1,21,3] -> out [1,21,3]
# ---------------------------------------------------------------------------

class StitchingNetwork(nn.Module):
    def __init__(self, num_kp=21, hidden=(16, 16, 8)):
        super().__init__()
        layers, cin = [], 2 * 3 * num_kp
        for hsz in hidden:
            layers += [nn.Linear(cin, hsz), nn.ReLU(inplace=True)]
            cin = hsz
        layers.append(nn.Linear(cin, 3 * num_kp + 2))
        self.mlp = nn.Sequential(*layers)

    def forward(self, kp_source, kp_driving):
        bs, num_kp = kp_source.shape[:2]
        new = kp_driving.clone()
        delta = self.mlp(torch.cat([kp_source.view(bs, -1), new.view(bs, -1)], dim=1))
        delta_exp = delta[..., :3 * num_kp].reshape(bs, num_kp, 3)
        delta_tx_ty = delta[..., 3 * num_kp:3 * num_kp + 2].reshape(bs, 1, 2)
        new += delta_exp
        new[..., :2] += delta_tx_ty  # an in-place slice update
        return new


# ---------------------------------------------------------------------------
# 6. lmdm (core/models/modules/LMDM.py, lmdm_modules/model.py, rotary_embedding_torch.py)
#    Ditto: x [1,80,265], cond_frame [1,265], cond [1,80,1024+35 or more], time_cond [1] int64
#           -> pred_noise, x_start [1,80,265]
# ---------------------------------------------------------------------------

def cosine_betas(n, s=8e-3):
    t = torch.arange(n + 1, dtype=torch.float64) / n + s
    a = torch.cos(t / (1 + s) * math.pi / 2).pow(2)
    a = a / a[0]
    return np.clip((1 - a[1:] / a[:-1]).numpy(), 0, 0.999)


class Rotary(nn.Module):
    """rotary_embedding_torch's RotaryEmbedding(dim, freqs_for='lang'), one cache shared by every layer."""

    def __init__(self, dim, theta=10000):
        super().__init__()
        self.register_buffer("freqs", 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim)))
        self.cache = {}

    def rotate(self, t):
        n = t.shape[-2]
        if n not in self.cache:
            pos = torch.arange(n).type(self.freqs.dtype)
            f = torch.einsum("..., f -> ... f", pos, self.freqs)
            f = f.unsqueeze(-1).expand(*f.shape, 2).reshape(*f.shape[:-1], f.shape[-1] * 2)  # (n r)
            self.cache[n] = f
        f = self.cache[n].to(t)
        rot = f.shape[-1]
        left, mid, right = t[..., :0], t[..., 0:rot], t[..., rot:]
        pairs = mid.reshape(*mid.shape[:-1], rot // 2, 2)
        x1, x2 = pairs.unbind(dim=-1)
        half = torch.stack((-x2, x1), dim=-1).reshape(mid.shape)
        mid = mid * f.cos() + half * f.sin()
        return torch.cat((left, mid, right), dim=-1)


class FiLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block = nn.Sequential(nn.Mish(), nn.Linear(c, c * 2))

    def forward(self, t):
        return self.block(t).unsqueeze(1).chunk(2, dim=-1)


def film(x, scale_shift):
    scale, shift = scale_shift
    return (scale + 1) * x + shift


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, ff, rotary):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=0.1, batch_first=True)
        self.linear1, self.linear2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=1e-5), nn.LayerNorm(d, eps=1e-5)
        self.rotary = rotary

    def forward(self, x):  # norm_first
        h = self.norm1(x)
        qk = self.rotary.rotate(h)
        x = x + self.self_attn(qk, qk, h, need_weights=False)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))


class FiLMDecoderLayer(nn.Module):
    def __init__(self, d, heads, ff, rotary):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=0.1, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(d, heads, dropout=0.1, batch_first=True)
        self.linear1, self.linear2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d, eps=1e-5) for _ in range(3))
        self.film1, self.film2, self.film3 = FiLM(d), FiLM(d), FiLM(d)
        self.rotary = rotary

    def forward(self, x, mem, t):
        h = self.norm1(x)
        qk = self.rotary.rotate(h)
        x = x + film(self.self_attn(qk, qk, h, need_weights=False)[0], self.film1(t))
        h = self.norm2(x)
        q, k = self.rotary.rotate(h), self.rotary.rotate(mem)
        x = x + film(self.multihead_attn(q, k, mem, need_weights=False)[0], self.film2(t))
        return x + film(self.linear2(F.gelu(self.linear1(self.norm3(x)))), self.film3(t))


class SinusoidalPosEmb(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        half = self.dim // 2
        e = math.log(10000) / (half - 1)
        e = torch.exp(torch.arange(half) * -e)
        e = x[:, None] * e[None, :]  # int64 time * float
        return torch.cat((e.sin(), e.cos()), dim=-1)


class MotionDecoder(nn.Module):
    def __init__(self, nfeats, seq_len, latent, ff, layers, heads, cond_dim):
        super().__init__()
        self.rotary = Rotary(latent)
        self.time_mlp = nn.Sequential(SinusoidalPosEmb(latent), nn.Linear(latent, latent * 4), nn.Mish())
        self.to_time_cond = nn.Sequential(nn.Linear(latent * 4, latent))
        self.to_time_tokens = nn.Linear(latent * 4, latent * 2)
        self.null_cond_embed = nn.Parameter(torch.randn(1, seq_len, latent))
        self.null_cond_hidden = nn.Parameter(torch.randn(1, latent))
        self.norm_cond = nn.LayerNorm(latent)
        self.input_projection = nn.Linear(nfeats * 2, latent)
        self.cond_encoder = nn.Sequential(*[EncoderLayer(latent, heads, ff, self.rotary) for _ in range(2)])
        self.cond_projection = nn.Linear(cond_dim, latent)
        self.non_attn_cond_projection = nn.Sequential(nn.LayerNorm(latent), nn.Linear(latent, latent), nn.SiLU(),
                                                      nn.Linear(latent, latent))
        self.decoder = nn.ModuleList([FiLMDecoderLayer(latent, heads, ff, self.rotary) for _ in range(layers)])
        self.final_layer = nn.Linear(latent, nfeats)

    def forward(self, x, cond_frame, cond, times, drop):
        b = x.shape[0]
        x = self.input_projection(torch.cat([x, cond_frame.unsqueeze(1).repeat(1, x.shape[1], 1)], dim=-1))
        keep = torch.zeros((b,), dtype=torch.bool) if drop else torch.ones((b,), dtype=torch.bool)
        tokens = self.cond_encoder(self.cond_projection(cond))
        tokens = torch.where(keep.reshape(b, 1, 1), tokens, self.null_cond_embed.to(tokens.dtype))
        hidden = self.non_attn_cond_projection(tokens.mean(dim=-2))
        th = self.time_mlp(times)
        t = self.to_time_cond(th)
        t_tokens = self.to_time_tokens(th).reshape(b, 2, -1)
        hidden = torch.where(keep.reshape(b, 1), hidden, self.null_cond_hidden.to(t.dtype))
        t += hidden
        mem = self.norm_cond(torch.cat((tokens, t_tokens), dim=-2))
        for layer in self.decoder:
            x = layer(x, mem, t)
        return self.final_layer(x)


class LMDM(nn.Module):
    def __init__(self, nfeats=265, seq=8, latent=16, ff=32, layers=1, heads=2, cond_dim=40):
        super().__init__()
        self.model = MotionDecoder(nfeats, seq, latent, ff, layers, heads, cond_dim)
        self.guidance_weight = 2
        alphas_cumprod = torch.cumprod(1.0 - torch.tensor(cosine_betas(1000), dtype=torch.float32), dim=0)
        self.register_buffer("sqrt_recipm1_alphas_cumprod", torch.sqrt(1.0 / alphas_cumprod - 1))
        self.register_buffer("sqrt_recip1m_alphas_cumprod", torch.sqrt(1.0 / (1.0 - alphas_cumprod)))

    def forward(self, x, cond_frame, cond, time_cond):
        unc = self.model(x, cond_frame, cond, time_cond, True)
        conditioned = self.model(x, cond_frame, cond, time_cond, False)
        x_start = unc + (conditioned - unc) * self.guidance_weight
        b = time_cond.shape[0]
        a = self.sqrt_recip1m_alphas_cumprod.gather(-1, time_cond).reshape(b, 1, 1)  # GatherElements
        c = self.sqrt_recipm1_alphas_cumprod.gather(-1, time_cond).reshape(b, 1, 1)
        return a * x - x_start / c, x_start


# ---------------------------------------------------------------------------
# 7. hubert (aux_models/hubert_stream.py: hubert_streaming_fix_kv.onnx)
#    Ditto: input_values [1, 3240..12960] (6480 online) -> encoding_out [frames, 1024]
#    HuBERT-large layout: layer-norm conv feature extractor, weight-normed
#    grouped positional conv, pre-LN ("stable layer norm") encoder.
# ---------------------------------------------------------------------------

class HubertConvLayer(nn.Module):
    def __init__(self, cin, cout, k, s):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, stride=s, bias=True)
        self.layer_norm = nn.LayerNorm(cout)

    def forward(self, x):
        x = self.conv(x)
        return F.gelu(self.layer_norm(x.transpose(-2, -1)).transpose(-2, -1))


class HubertAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h, self.hd = heads, d // heads
        self.scaling = self.hd ** -0.5
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, t, d = x.shape
        split = lambda y: y.view(b, t, self.h, self.hd).transpose(1, 2)
        q, k, v = split(self.q_proj(x) * self.scaling), split(self.k_proj(x)), split(self.v_proj(x))
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)), dim=-1)
        return self.out_proj(torch.matmul(w, v).transpose(1, 2).reshape(b, t, d))


class HubertLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.layer_norm = nn.LayerNorm(d)
        self.attention = HubertAttention(d, heads)
        self.final_layer_norm = nn.LayerNorm(d)
        self.intermediate = nn.Linear(d, ff)
        self.output = nn.Linear(ff, d)

    def forward(self, x):
        x = x + self.attention(self.layer_norm(x))
        return x + self.output(F.gelu(self.intermediate(self.final_layer_norm(x))))


class Hubert(nn.Module):
    def __init__(self, conv=16, d=32, heads=2, ff=64, layers=2, pos_k=16, pos_groups=4):
        super().__init__()
        ks, ss = (10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)
        self.convs = nn.ModuleList([HubertConvLayer(1 if i == 0 else conv, conv, k, s) for i, (k, s) in enumerate(zip(ks, ss))])
        self.proj_norm = nn.LayerNorm(conv)
        self.projection = nn.Linear(conv, d)
        pos = nn.Conv1d(d, d, kernel_size=pos_k, padding=pos_k // 2, groups=pos_groups)
        self.pos_conv = nn.utils.parametrizations.weight_norm(pos, name="weight", dim=2)
        self.remove = 1 if pos_k % 2 == 0 else 0  # HubertSamePadLayer
        self.layers = nn.ModuleList([HubertLayer(d, heads, ff) for _ in range(layers)])
        self.layer_norm = nn.LayerNorm(d)

    def forward(self, input_values):
        x = input_values[:, None]
        for layer in self.convs:
            x = layer(x)
        x = self.projection(self.proj_norm(x.transpose(1, 2)))
        p = self.pos_conv(x.transpose(1, 2))
        if self.remove:
            p = p[:, :, :-self.remove]
        x = x + F.gelu(p).transpose(1, 2)
        for layer in self.layers:
            x = layer(x)
        return self.layer_norm(x)[0]


# ---------------------------------------------------------------------------
# 8. insightface_det (aux_models/insightface_det.py: SCRFD det_10g, "bnkps")
#    Ditto: image [1,3,512,512] -> scores1..3 [K,1], boxes1..3 [K,4], kps1..3 [K,10],
#           K = (512/s)^2 * 2 for s in 8, 16, 32
# ---------------------------------------------------------------------------

def conv_bn_relu(cin, cout, k=3, s=1, p=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv_bn_relu(cin, cout, 3, stride, 1)
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.downsample = None
        if stride != 1 or cin != cout:  # ResNetV1d: avg-pool then 1x1 conv
            self.downsample = nn.Sequential(
                nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False),
                nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        return F.relu(self.conv2(self.conv1(x)) + idt)


def stage(cin, cout, stride, n):
    """n BasicBlocks, the first one strided; a single block stays a bare module (the fixture's names)."""
    if n == 1:
        return BasicBlock(cin, cout, stride)
    return nn.Sequential(*[BasicBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1) for i in range(n)])


class SCRFD(nn.Module):
    def __init__(self, ch=(8, 8, 12, 16), fpn=8, anchors=2, stem=None, blocks=(1, 1, 1, 1), stacked=2, feat=None):
        super().__init__()
        s = stem or (ch[0], ch[0], ch[0])  # det_10g: ResNetV1e deep stem base/2, base/2, base
        feat = feat or fpn
        self.stem = nn.Sequential(conv_bn_relu(3, s[0], 3, 2, 1), conv_bn_relu(s[0], s[1]), conv_bn_relu(s[1], s[2]),
                                  nn.MaxPool2d(3, 2, 1))
        self.layer1 = stage(s[2], ch[0], 1, blocks[0])
        self.layer2 = stage(ch[0], ch[1], 2, blocks[1])
        self.layer3 = stage(ch[1], ch[2], 2, blocks[2])
        self.layer4 = stage(ch[2], ch[3], 2, blocks[3])
        self.lateral = nn.ModuleList([nn.Conv2d(c, fpn, 1) for c in ch[1:]])
        self.fpn_convs = nn.ModuleList([nn.Conv2d(fpn, fpn, 3, 1, 1) for _ in range(3)])
        self.down_convs = nn.ModuleList([nn.Conv2d(fpn, fpn, 3, 2, 1) for _ in range(2)])
        self.pafpn_convs = nn.ModuleList([nn.Conv2d(fpn, fpn, 3, 1, 1) for _ in range(2)])
        self.heads = nn.ModuleList()
        for _ in range(3):  # strides_share = False
            self.heads.append(nn.ModuleDict({
                "stack": nn.Sequential(*[conv_bn_relu(fpn if i == 0 else feat, feat) for i in range(stacked)]),
                "cls": nn.Conv2d(feat, anchors, 3, 1, 1),
                "reg": nn.Conv2d(feat, anchors * 4, 3, 1, 1),
                "kps": nn.Conv2d(feat, anchors * 10, 3, 1, 1)}))
        self.scales = nn.Parameter(torch.tensor([1.0, 1.1, 0.9]))

    def forward(self, image):
        c1 = self.layer1(self.stem(image))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        lat = [l(c) for l, c in zip(self.lateral, (c2, c3, c4))]
        for i in (2, 1):  # top-down
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], scale_factor=2, mode="nearest")
        outs = [conv(l) for conv, l in zip(self.fpn_convs, lat)]
        for i in range(2):  # bottom-up
            outs[i + 1] = outs[i + 1] + self.down_convs[i](outs[i])
        outs = [outs[0]] + [conv(o) for conv, o in zip(self.pafpn_convs, outs[1:])]
        scores, boxes, kps = [], [], []
        for i, (o, head) in enumerate(zip(outs, self.heads)):
            f = head["stack"](o)
            scores.append(torch.sigmoid(head["cls"](f)).permute(0, 2, 3, 1).reshape(-1, 1))
            boxes.append((head["reg"](f) * self.scales[i]).permute(0, 2, 3, 1).reshape(-1, 4))
            kps.append(head["kps"](f).permute(0, 2, 3, 1).reshape(-1, 10))
        return (*scores, *boxes, *kps)


# ---------------------------------------------------------------------------
# 9. landmark106 (aux_models/insightface_landmark106.py: 2d106det)
#    Ditto: data [1,3,192,192] -> fc1 [1,212]; MXNet-origin: BN kept, PReLU
# ---------------------------------------------------------------------------

class ConvBNPReLU(nn.Module):
    def __init__(self, cin, cout, k, s, p, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, p, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.PReLU(cout)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


# (cin, cout, kernel, stride, pad, groups) of each ConvBNPReLU
L106_BODY = ((3, 8, 3, 2, 1, 1), (8, 8, 3, 1, 1, 8), (8, 16, 1, 1, 0, 1), (16, 16, 3, 2, 1, 16), (16, 16, 1, 1, 0, 1))
L106_TAIL = ((16, 16, 3, 2, 1, 16), (16, 16, 1, 1, 0, 1), (16, 16, 3, 2, 1, 1))


class Landmark106(nn.Module):
    def __init__(self, points=106, body=L106_BODY, tail=L106_TAIL, flat=16 * 2 * 2):
        super().__init__()
        self.body = nn.Sequential(*[ConvBNPReLU(ci, co, k, s, p, groups=g) for ci, co, k, s, p, g in body])
        c = body[-1][1]  # the residual block's width
        self.res = nn.Sequential(ConvBNPReLU(c, c, 3, 1, 1, groups=c), nn.Conv2d(c, c, 1, bias=False),
                                 nn.BatchNorm2d(c))
        self.tail = nn.Sequential(*[ConvBNPReLU(ci, co, k, s, p, groups=g) for ci, co, k, s, p, g in tail])
        self.bn = nn.BatchNorm1d(flat)  # flat = the last width x the last H x W
        self.fc = nn.Linear(flat, points * 2)

    def forward(self, data):
        x = self.body(data)
        x = self.tail(x + self.res(x))
        return self.fc(self.bn(torch.flatten(x, 1)))


# ---------------------------------------------------------------------------
# 10. landmark203 (aux_models/landmark203.py: LivePortrait's landmark.onnx, origin unknown)
#     Ditto: input [1,3,224,224] -> landmarks [1,406] (x, y in 0..1)
# ---------------------------------------------------------------------------

class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand=2):
        super().__init__()
        mid = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(inplace=True),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(inplace=True),
            nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.block(x) if self.use_res else self.block(x)


# (cin, cout, stride, expansion) of each InvertedResidual
L203_BLOCKS = ((8, 8, 1, 2), (8, 12, 2, 2), (12, 12, 1, 2), (12, 16, 2, 2), (16, 24, 2, 2))


class Landmark203(nn.Module):
    def __init__(self, points=203, stem=8, blocks=L203_BLOCKS):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU6(inplace=True))
        self.blocks = nn.Sequential(*[InvertedResidual(ci, co, s, e) for ci, co, s, e in blocks])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(blocks[-1][1], points * 2)

    def forward(self, input):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(input))), 1))


# ---------------------------------------------------------------------------
# 11. blaze_face (aux_models/blaze_face.py: MediaPipe short-range face detector)
#     Ditto: input [1,128,128,3] NHWC in [-1,1] -> regressors [1,896,16], classificators [1,896,1]
# ---------------------------------------------------------------------------

class BlazeBlock(nn.Module):
    def __init__(self, cin, cout, stride=1, kernel=5):
        super().__init__()
        self.stride = stride
        self.channel_pad = cout - cin
        # TF 'SAME' for a stride-2 window on an even size: k - 2 pad, the extra one after
        self.same = ((kernel - 2) // 2, kernel - 2 - (kernel - 2) // 2)
        self.convs = nn.Sequential(
            nn.Conv2d(cin, cin, kernel, stride, 0 if stride == 2 else kernel // 2, groups=cin), nn.Conv2d(cin, cout, 1))
        self.pool = nn.MaxPool2d(stride, stride) if stride == 2 else None

    def forward(self, x):
        if self.stride == 2:
            a, b = self.same
            h = F.pad(x, (a, b, a, b), "constant", 0)  # (1, 2, 1, 2) for 5x5
            x = self.pool(x)
        else:
            h = x
        if self.channel_pad > 0:
            x = F.pad(x, (0, 0, 0, 0, 0, self.channel_pad), "constant", 0)  # zero channels
        return F.relu(self.convs(h) + x)


# (cin, cout, stride) of each BlazeBlock: stride 8 (two anchors a cell), then stride 16 (six)
BLAZE_B1 = ((8, 8, 1), (8, 10, 1), (10, 12, 2), (12, 12, 1), (12, 14, 1), (14, 16, 2), (16, 16, 1))
BLAZE_B2 = ((16, 20, 2), (20, 20, 1))


class BlazeFace(nn.Module):
    def __init__(self, stem=8, backbone1=BLAZE_B1, backbone2=BLAZE_B2, kernel=5):
        super().__init__()
        self.stem = nn.Conv2d(3, stem, 5, 2, 0)
        self.backbone1 = nn.Sequential(*[BlazeBlock(ci, co, s, kernel) for ci, co, s in backbone1])
        self.backbone2 = nn.Sequential(*[BlazeBlock(ci, co, s, kernel) for ci, co, s in backbone2])
        c8, c16 = backbone1[-1][1], backbone2[-1][1]
        self.classifier_8 = nn.Conv2d(c8, 2, 1)
        self.classifier_16 = nn.Conv2d(c16, 6, 1)
        self.regressor_8 = nn.Conv2d(c8, 32, 1)
        self.regressor_16 = nn.Conv2d(c16, 96, 1)

    def forward(self, input):
        x = input.permute(0, 3, 1, 2)
        b = x.shape[0]
        x = F.relu(self.stem(F.pad(x, (1, 2, 1, 2), "constant", 0)))
        x = self.backbone1(x)  # stride 8
        h = self.backbone2(x)  # stride 16
        c = torch.cat((self.classifier_8(x).permute(0, 2, 3, 1).reshape(b, -1, 1),
                       self.classifier_16(h).permute(0, 2, 3, 1).reshape(b, -1, 1)), dim=1)
        r = torch.cat((self.regressor_8(x).permute(0, 2, 3, 1).reshape(b, -1, 16),
                       self.regressor_16(h).permute(0, 2, 3, 1).reshape(b, -1, 16)), dim=1)
        return r, c


# ---------------------------------------------------------------------------
# 12. face_mesh (aux_models/face_mesh.py: MediaPipe face landmarks, TF-converted)
#     Ditto: input [1,256,256,3] NHWC in [0,1] -> Identity (1434 = 478 x 3), Identity_1, Identity_2
# ---------------------------------------------------------------------------

class MeshBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.stride, self.channel_pad = stride, cout - cin
        self.dw = nn.Conv2d(cin, cin, 3, stride, 1 if stride == 1 else 0, groups=cin)
        self.pw = nn.Conv2d(cin, cout, 1)
        self.act = nn.PReLU(cout)
        self.pool = nn.MaxPool2d(2, 2) if stride == 2 else None

    def forward(self, x):
        h = F.pad(x, (0, 1, 0, 1)) if self.stride == 2 else x
        x = self.pool(x) if self.stride == 2 else x
        if self.channel_pad:
            x = F.pad(x, (0, 0, 0, 0, 0, self.channel_pad))
        return self.act(self.pw(self.dw(h)) + x)


# (cin, cout, stride) of each MeshBlock; the body ends at 2x2 for the 2x2 heads
MESH_BODY = ((8, 8, 1), (8, 12, 2), (12, 12, 1), (12, 16, 2), (16, 16, 1), (16, 16, 2))


class FaceMesh(nn.Module):
    def __init__(self, points=30, stem=8, body=MESH_BODY):
        super().__init__()
        self.stem = nn.Conv2d(3, stem, 3, 2, 0)
        self.stem_act = nn.PReLU(stem)
        self.body = nn.Sequential(*[MeshBlock(ci, co, s) for ci, co, s in body])
        c = body[-1][1]
        self.mesh = nn.Conv2d(c, points * 3, 2)
        self.flag = nn.Conv2d(c, 1, 2)
        self.extra = nn.Conv2d(c, 1, 2)

    def forward(self, input):
        x = input.permute(0, 3, 1, 2)
        x = self.stem_act(self.stem(F.pad(x, (0, 1, 0, 1))))
        x = self.body(x)  # [1, 16, 2, 2]
        nhwc = lambda y: y.permute(0, 2, 3, 1)
        return nhwc(self.mesh(x)), nhwc(self.flag(x)), nhwc(self.extra(x))


# ---------------------------------------------------------------------------
# export, reference and bookkeeping
# ---------------------------------------------------------------------------

class Net:
    def __init__(self, folder, graph, make, inputs, input_names, output_names, opset=OPSET, dynamic_axes=None,
                 source=None, training=None):
        self.folder, self.graph, self.make = folder, graph, make
        self.inputs, self.input_names, self.output_names = inputs, input_names, output_names
        self.opset, self.dynamic_axes, self.source, self.training = opset, dynamic_axes, source, training


def export(model, args, input_names, output_names, opset, dynamic_axes=None, training=None):
    buf = io.BytesIO()
    kwargs = dict(opset_version=opset, input_names=input_names, output_names=output_names, do_constant_folding=True,
                  dynamic_axes=dynamic_axes, dynamo=False)
    if training is not None:
        kwargs["training"] = training
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, buf, **kwargs)
    m = onnx.load_from_string(buf.getvalue())
    m.producer_name = "gen_ditto_onnx.py (torch.onnx TorchScript exporter)"
    # Names the exporter gives initializers and nodes depend on module paths only;
    # doc strings carry source locations of this machine: drop them.
    for n in m.graph.node:
        n.doc_string = ""
    m.graph.doc_string = ""
    return m


def run_ort(model, inputs):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {k: v for k, v in inputs.items()})))


def rel_l2(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def known_values(model):
    vals = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    vals[n.output[0]] = numpy_helper.to_array(a.t)
    return vals


def fmt_value(v):
    v = np.asarray(v)
    if v.size > 8:
        return f"<{v.dtype} {list(v.shape)}>"
    if v.dtype.kind == "f":
        return "[" + ", ".join(f"{x:g}" for x in v.flatten()) + "]"
    return "[" + ", ".join(str(x) for x in v.flatten().tolist()) + "]"


def attr_text(a):
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return f"{a.name}={v.decode()}"
    if isinstance(v, float):
        return f"{a.name}={v:g}"
    if isinstance(v, list):
        return f"{a.name}=[" + ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v) + "]"
    if isinstance(v, onnx.TensorProto):
        return f"{a.name}={fmt_value(numpy_helper.to_array(v))}"
    return f"{a.name}={v}"


# Inputs whose known values are part of the op's meaning (not weights).
VALUE_INPUTS = {
    "Resize": {1: "roi", 2: "scales", 3: "sizes"}, "Pad": {1: "pads", 2: "value", 3: "axes"},
    "ReduceSum": {1: "axes"}, "ReduceMean": {1: "axes"}, "ReduceL2": {1: "axes"}, "ReduceMax": {1: "axes"},
    "Squeeze": {1: "axes"}, "Unsqueeze": {1: "axes"}, "Split": {1: "split"}, "Slice": {1: "starts", 2: "ends", 3: "axes", 4: "steps"},
    "Tile": {1: "repeats"}, "Expand": {1: "shape"}, "Clip": {1: "min", 2: "max"}, "Pow": {1: "exponent"},
}


def op_summary(model):
    """op -> {signature: count}: attributes, input ranks / types, meaningful known inputs."""
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:
        inferred = model
    info = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            info[vi.name] = (len(t.shape.dim), t.elem_type)
    for i in model.graph.initializer:
        info[i.name] = (len(i.dims), i.data_type)
    vals = known_values(model)
    inits = {i.name for i in model.graph.initializer}
    for n in model.graph.node:  # Constant outputs
        if n.op_type == "Constant":
            inits.add(n.output[0])
    # Values that depend on a graph input's data (not only on its shape) are
    # computed at run time; the rest (constants, shapes and what follows from
    # them) are known when the graph is loaded and planned.
    runtime = {i.name for i in model.graph.input} - inits
    for n in model.graph.node:
        if n.op_type not in ("Shape", "Size") and any(x in runtime for x in n.input if x):
            runtime.update(n.output)
    ops = {}
    for n in model.graph.node:
        if n.op_type == "Constant":
            continue
        key = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
        parts = []
        ranks = []
        for k, name in enumerate(n.input):
            if not name:
                ranks.append("-")
                continue
            r, et = info.get(name, (None, None))
            tag = f"{r}D" if r is not None else "?D"
            if et not in (None, onnx.TensorProto.FLOAT):
                tag += ":" + onnx.TensorProto.DataType.Name(et).lower()
            if name in inits:
                tag += "(const)"
            ranks.append(tag)
        parts.append("in=" + ",".join(ranks))
        parts += sorted(attr_text(a) for a in n.attribute)
        for k, label in VALUE_INPUTS.get(n.op_type, {}).items():
            if k < len(n.input) and n.input[k] and n.input[k] in vals:
                parts.append(f"{label}={fmt_value(vals[n.input[k]])}")
        if n.op_type in ("Conv", "ConvTranspose") and n.input[1] in vals:
            w = vals[n.input[1]].shape
            parts.append("kernel=" + "x".join(str(x) for x in w[2:]))
        if not any(x in runtime for x in n.input if x):
            parts.append("[known at load]")
        sig = " ".join(parts)
        ops.setdefault(key, {})
        ops[key][sig] = ops[key].get(sig, 0) + 1
    return ops


def rename_grid_sample(model, custom_domain=None):
    """GridSample -> GridSample3D: in place in the default domain (attributes kept), or in a
    custom domain with the TensorRT plugin's int attributes."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    count = 0
    for n in m.graph.node:
        if n.op_type != "GridSample":
            continue
        count += 1
        n.op_type = "GridSample3D"
        if custom_domain:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            mode = {b"linear": 0, b"bilinear": 0, b"nearest": 1, b"cubic": 2}[attrs.get("mode", b"linear")]
            pad = {b"zeros": 0, b"border": 1, b"reflection": 2}[attrs.get("padding_mode", b"zeros")]
            del n.attribute[:]
            n.attribute.extend([onnx.helper.make_attribute("interpolation_mode", mode),
                                onnx.helper.make_attribute("padding_mode", pad),
                                onnx.helper.make_attribute("align_corners", int(attrs.get("align_corners", 0)))])
            n.domain = custom_domain
    if custom_domain:
        m.opset_import.append(onnx.helper.make_opsetid(custom_domain, 1))
    assert count > 0
    return m, count


def declare_output_shapes(model, outputs):
    """Output dims the exporter left symbolic (shape inference stops at a run-time Pad) set
    from the reference outputs, as a fixed-shape export states them."""
    for o in model.graph.output:
        dims = o.type.tensor_type.shape.dim
        want = outputs[o.name].shape
        if len(dims) != len(want) or any(d.dim_param for d in dims):
            del dims[:]
            for v in want:
                dims.add().dim_value = int(v)


def io_info(model):
    def dims(vi):
        return [d.dim_param if d.dim_param else d.dim_value for d in vi.type.tensor_type.shape.dim]

    def typ(vi):
        return onnx.TensorProto.DataType.Name(vi.type.tensor_type.elem_type).lower()

    # Lists, in graph order (the wrappers read outputs by position).
    return ([{"name": i.name, "shape": dims(i), "type": typ(i)} for i in model.graph.input],
            [{"name": o.name, "shape": dims(o), "type": typ(o)} for o in model.graph.output])


# ---------------------------------------------------------------------------
# the networks
# ---------------------------------------------------------------------------

def networks(gen):
    def randn(*shape, scale=1.0):
        return (torch.randn(shape, generator=gen) * scale).float()

    def uniform(*shape, lo=0.0, hi=1.0):
        return torch.rand(shape, generator=gen) * (hi - lo) + lo

    kp_s = uniform(1, 3, 3, lo=-0.6, hi=0.6)
    kp_d = kp_s + randn(1, 3, 3, scale=0.08)
    kp21_s = uniform(1, 21, 3, lo=-0.6, hi=0.6)
    kp21_d = kp21_s + randn(1, 21, 3, scale=0.05)
    return [
        Net("appearance_extractor", "appearance_extractor", AppearanceFeatureExtractor,
            {"image": uniform(1, 3, 32, 32)}, ["image"], ["pred"],
            source="LivePortrait src/modules/appearance_feature_extractor.py (= Ditto core/models/modules/)"),
        Net("motion_extractor", "motion_extractor", MotionExtractor, {"image": uniform(1, 3, 64, 64)}, ["image"],
            ["pitch", "yaw", "roll", "t", "exp", "scale", "kp"],
            source="LivePortrait src/modules/convnextv2.py, motion_extractor.py"),
        Net("warp_network", "warp_network_ori", WarpingNetwork,
            {"feature_3d": randn(1, 4, 4, 16, 16), "kp_source": kp_s, "kp_driving": kp_d},
            ["feature_3d", "kp_source", "kp_driving"], ["out"], opset=OPSET_GRID,
            source="LivePortrait src/modules/warping_network.py, dense_motion.py, util.py"),
        Net("decoder", "decoder", SPADEDecoder, {"feature": randn(1, 4, 8, 8)}, ["feature"], ["output"],
            source="LivePortrait src/modules/spade_generator.py, util.py (SPADE, SPADEResnetBlock)"),
        Net("stitch_network", "stitch_network", StitchingNetwork, {"kp_source": kp21_s, "kp_driving": kp21_d},
            ["kp_source", "kp_driving"], ["out"], source="Ditto core/models/modules/stitching_network.py"),
        Net("lmdm", "lmdm_v0.4_hubert", LMDM,
            {"x": randn(1, 8, 265), "cond_frame": randn(1, 265, scale=0.5), "cond": randn(1, 8, 40),
             "time_cond": torch.tensor([837], dtype=torch.int64)},
            ["x", "cond_frame", "cond", "time_cond"], ["pred_noise", "x_start"],
            source="Ditto core/models/modules/LMDM.py, lmdm_modules/model.py, rotary_embedding_torch.py, utils.py"),
        Net("hubert", "hubert", Hubert, {"input_values": randn(1, 6480, scale=0.1)}, ["input_values"],
            ["encoding_out"], dynamic_axes={"input_values": {1: "samples"}, "encoding_out": {0: "frames"}},
            source="Ditto core/aux_models/hubert_stream.py, atomic_components/wav2feat.py (HuBERT-large layout)"),
        Net("insightface_det", "insightface_det", SCRFD, {"image": randn(1, 3, 64, 64)}, ["image"],
            ["scores1", "scores2", "scores3", "boxes1", "boxes2", "boxes3", "kps1", "kps2", "kps3"],
            source="Ditto core/aux_models/insightface_det.py (SCRFD det_10g layout, inferred)"),
        Net("landmark106", "landmark106", Landmark106, {"data": uniform(1, 3, 32, 32, hi=255.0)}, ["data"], ["fc1"],
            training=torch.onnx.TrainingMode.PRESERVE,
            source="Ditto core/aux_models/insightface_landmark106.py (2d106det, inferred)"),
        Net("landmark203", "landmark203", Landmark203, {"input": uniform(1, 3, 56, 56)}, ["input"], ["landmarks"],
            source="Ditto core/aux_models/landmark203.py (LivePortrait landmark.onnx, structure unknown)"),
        Net("blaze_face", "blaze_face", BlazeFace, {"input": uniform(1, 32, 32, 3, lo=-1.0, hi=1.0)}, ["input"],
            ["regressors", "classificators"],
            source="Ditto core/aux_models/blaze_face.py (MediaPipe BlazeFace layout, inferred)"),
        Net("face_mesh", "face_mesh", FaceMesh, {"input": uniform(1, 32, 32, 3)}, ["input"],
            ["Identity", "Identity_1", "Identity_2"],
            source="Ditto core/aux_models/face_mesh.py (MediaPipe face landmark layout, inferred)"),
    ]


# ---------------------------------------------------------------------------
# full size: the same modules at the real channel counts, depths and input
# shapes (OPS.md section 2 and the "real" column of section 5), for the
# benchmark (tests/bench/onnx/gen_ditto_bench.py). Nothing above uses these.
# LivePortrait's models.yaml gives the five LivePortrait networks; LMDM and
# HuBERT-large their published hyper-parameters; det_10g its SCRFD config
# (ResNetV1e stage blocks 3/4/2/3, planes 56/88/88/224, PAFPN 56, 3 stacked
# head convs of 80); BlazeFace the MediaPipe short-range (front) layout of
# 3x3 BlazeBlocks 24..96. landmark106 / landmark203 / face_mesh have no
# public structure: MobileNetV1-0.5 / MobileNetV2-1.0 / MediaPipe face-mesh
# widths are assumed at the published input sizes.
# ---------------------------------------------------------------------------

FULL_L106_BODY = (
    (3, 16, 3, 2, 1, 1), (16, 16, 3, 1, 1, 16), (16, 32, 1, 1, 0, 1),  # 96x96
    (32, 32, 3, 2, 1, 32), (32, 64, 1, 1, 0, 1), (64, 64, 3, 1, 1, 64), (64, 64, 1, 1, 0, 1),  # 48x48
    (64, 64, 3, 2, 1, 64), (64, 128, 1, 1, 0, 1), (128, 128, 3, 1, 1, 128), (128, 128, 1, 1, 0, 1),  # 24x24
    (128, 128, 3, 2, 1, 128), (128, 256, 1, 1, 0, 1)) + ((256, 256, 3, 1, 1, 256), (256, 256, 1, 1, 0, 1)) * 4  # 12x12
FULL_L106_TAIL = ((256, 256, 3, 2, 1, 256), (256, 512, 1, 1, 0, 1), (512, 64, 3, 2, 1, 1))  # 6x6, then 3x3
FULL_L203_BLOCKS = ((32, 16, 1, 1), (16, 24, 2, 6), (24, 24, 1, 6), (24, 32, 2, 6), (32, 32, 1, 6), (32, 32, 1, 6),
                    (32, 64, 2, 6), (64, 64, 1, 6), (64, 64, 1, 6), (64, 64, 1, 6), (64, 96, 1, 6), (96, 96, 1, 6),
                    (96, 96, 1, 6), (96, 160, 2, 6), (160, 160, 1, 6), (160, 160, 1, 6), (160, 320, 1, 6))
FULL_BLAZE_B1 = ((24, 24, 1), (24, 28, 1), (28, 32, 2), (32, 36, 1), (36, 42, 1), (42, 48, 2), (48, 56, 1),
                 (56, 64, 1), (64, 72, 1), (72, 80, 1), (80, 88, 1))
FULL_BLAZE_B2 = ((88, 96, 2),) + ((96, 96, 1),) * 4
FULL_MESH_BODY = ((16, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (32, 32, 1), (32, 64, 2), (64, 64, 1),
                  (64, 64, 1), (64, 128, 2)) + ((128, 128, 1), (128, 128, 1), (128, 128, 2)) * 3  # 256 -> 2x2

FULL = {  # network -> constructor arguments
    "appearance_extractor": dict(expansion=64, down_blocks=2, reshape_channel=32, reshape_depth=16, resblocks=6),
    "motion_extractor": dict(dims=(96, 192, 384, 768), depths=(3, 3, 9, 3), num_kp=21, num_bins=66),
    "warp_network": dict(num_kp=21, expansion=64, feature_channel=32, depth=16, down_blocks=2, dm_expansion=32,
                         dm_blocks=5, dm_max_features=1024, compress=4),
    "decoder": dict(expansion=64, down_blocks=2, out_channels=64, hidden=128, middle_blocks=6),
    "stitch_network": dict(num_kp=21, hidden=(128, 128, 64)),
    "lmdm": dict(nfeats=265, seq=80, latent=512, ff=1024, layers=8, heads=8, cond_dim=1024 + 35),
    "hubert": dict(conv=512, d=1024, heads=16, ff=4096, layers=24, pos_k=128, pos_groups=16),
    "insightface_det": dict(ch=(56, 88, 88, 224), fpn=56, anchors=2, stem=(28, 28, 56), blocks=(3, 4, 2, 3),
                            stacked=3, feat=80),
    "landmark106": dict(points=106, body=FULL_L106_BODY, tail=FULL_L106_TAIL, flat=64 * 3 * 3),
    "landmark203": dict(points=203, stem=32, blocks=FULL_L203_BLOCKS),
    "blaze_face": dict(stem=24, backbone1=FULL_BLAZE_B1, backbone2=FULL_BLAZE_B2, kernel=3),
    "face_mesh": dict(points=478, stem=16, body=FULL_MESH_BODY),
}


def full_networks(gen):
    """networks() at the real sizes: same graphs, modules, names and input distributions; the
    constructor arguments of FULL and the published input shapes."""
    def randn(*shape, scale=1.0):
        return (torch.randn(shape, generator=gen) * scale).float()

    def uniform(*shape, lo=0.0, hi=1.0):
        return torch.rand(shape, generator=gen) * (hi - lo) + lo

    kp21_s = uniform(1, 21, 3, lo=-0.6, hi=0.6)
    kp21_d = kp21_s + randn(1, 21, 3, scale=0.05)
    inputs = {
        "appearance_extractor": {"image": uniform(1, 3, 256, 256)},
        "motion_extractor": {"image": uniform(1, 3, 256, 256)},
        "warp_network": {"feature_3d": randn(1, 32, 16, 64, 64), "kp_source": kp21_s, "kp_driving": kp21_d},
        "decoder": {"feature": randn(1, 256, 64, 64)},
        "stitch_network": {"kp_source": kp21_s, "kp_driving": kp21_d},
        "lmdm": {"x": randn(1, 80, 265), "cond_frame": randn(1, 265, scale=0.5), "cond": randn(1, 80, 1024 + 35),
                 "time_cond": torch.tensor([837], dtype=torch.int64)},
        "hubert": {"input_values": randn(1, 6480, scale=0.1)},
        "insightface_det": {"image": randn(1, 3, 512, 512)},
        "landmark106": {"data": uniform(1, 3, 192, 192, hi=255.0)},
        "landmark203": {"input": uniform(1, 3, 224, 224)},
        "blaze_face": {"input": uniform(1, 128, 128, 3, lo=-1.0, hi=1.0)},
        "face_mesh": {"input": uniform(1, 256, 256, 3)},
    }
    out = []
    for net in networks(torch.Generator().manual_seed(SEED)):
        kwargs = FULL[net.folder]
        make = lambda cls=net.make, kw=kwargs: cls(**kw)
        out.append(Net(net.folder, net.graph, make, inputs[net.folder], net.input_names, net.output_names,
                       opset=net.opset, dynamic_axes=net.dynamic_axes, source=net.source, training=net.training))
    return out


def stored(t):
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    return np.ascontiguousarray(a) if a.ndim else a.copy()


def write(folder, graph, model, inputs, outputs, meta, sizes):
    os.makedirs(folder, exist_ok=True)
    onnx_path = os.path.join(folder, graph + ".onnx")
    st_path = os.path.join(folder, graph + ".safetensors")
    onnx.save(model, onnx_path)
    tensors = {f"input/{k}": stored(v) for k, v in inputs.items()}
    tensors.update({f"output/{k}": stored(v) for k, v in outputs.items()})
    save_file(tensors, st_path, metadata=meta)
    with safetensors.safe_open(st_path, "np") as f:  # read back with the reference reader
        assert sorted(f.keys()) == sorted(tensors)
    for p in (onnx_path, st_path):
        size = os.path.getsize(p)
        assert size < MAX_FILE_BYTES, f"{p} is {size} bytes"
        sizes.append(size)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures", "ditto_onnx"))
    ap.add_argument("--print-ops", action="store_true", help="print each graph's op table (markdown)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    manifest = {
        "generator": "tests/golden/gen_ditto_onnx.py",
        "seed": SEED,
        "exporter": "torch.onnx.export, TorchScript exporter (dynamo=False), do_constant_folding=True",
        "reference": "onnxruntime CPUExecutionProvider, graph optimizations disabled; PyTorch for GridSample3D",
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                     "numpy": np.__version__, "safetensors": safetensors.__version__,
                     "python": platform.python_version()},
        "graphs": [],
    }
    sizes = []
    for i, net in enumerate(networks(torch.Generator().manual_seed(SEED))):
        torch.manual_seed(SEED + i)
        gen = torch.Generator().manual_seed(SEED + 100 + i)
        model = randomise(net.make(), gen).eval()
        args_ = tuple(net.inputs[k] for k in net.input_names)
        with torch.no_grad():
            ref = model(*args_)
        # Export as a first call would: the rotary embedding's cache (filled by the
        # run above) emptied, so its angles are computed in the graph (Einsum, Cos, Sin).
        for mod in model.modules():
            if isinstance(mod, Rotary):
                mod.cache.clear()
        ref = ref if isinstance(ref, tuple) else (ref,)
        torch_out = dict(zip(net.output_names, (r.detach().numpy() for r in ref)))
        m = export(model, args_, net.input_names, net.output_names, net.opset, net.dynamic_axes, net.training)
        onnx.checker.check_model(m)
        inputs = {k: v.numpy() for k, v in net.inputs.items()}
        if not net.dynamic_axes:
            declare_output_shapes(m, torch_out)
            onnx.checker.check_model(m)
        ort_out = run_ort(m, inputs)
        errs = {k: rel_l2(ort_out[k], torch_out[k]) for k in net.output_names}
        assert all(e < 1e-4 for e in errs.values()), f"{net.graph}: onnxruntime vs torch {errs}"
        folder = os.path.join(args.out, net.folder)
        # One metadata key: safetensors writes a map's keys in no fixed order.
        write(folder, net.graph, m, inputs, ort_out, {"graph": net.graph}, sizes)
        variants = [(net.graph, m, "onnxruntime", errs)]
        if net.folder == "warp_network":
            for graph, domain in (("warp_network", None), ("warp_network_custom_domain", "custom")):
                mv, count = rename_grid_sample(m, domain)
                assert count == 2
                write(folder, graph, mv, inputs, torch_out, {"graph": graph}, sizes)
                variants.append((graph, mv, "torch", {}))
        for graph, mv, reference, err in variants:
            ins, outs = io_info(mv)
            entry = {"network": net.folder, "graph": graph, "file": f"{net.folder}/{graph}.onnx",
                     "opset": {o.domain or "ai.onnx": o.version for o in mv.opset_import},
                     "reference": reference, "source": net.source, "inputs": ins, "outputs": outs,
                     "ort_vs_torch_rel_l2": err, "nodes": sum(1 for n in mv.graph.node if n.op_type != "Constant"),
                     "ops": op_summary(mv)}
            manifest["graphs"].append(entry)
            print(f"{graph}: {entry['nodes']} nodes, {len(entry['ops'])} op types, "
                  f"onnx {os.path.getsize(os.path.join(folder, graph + '.onnx'))} B, rel L2 {err}", file=sys.stderr)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(sizes)
    assert total < MAX_TOTAL_BYTES, f"fixtures are {total} bytes"
    print(f"{len(manifest['graphs'])} graphs, {total / 1000:.0f} kB in {args.out}", file=sys.stderr)
    if args.print_ops:
        for g in manifest["graphs"]:
            print(f"\n### {g['graph']} (opset {g['opset']})\n")
            print("| op | count | inputs and attributes |\n|---|---|---|")
            for op in sorted(g["ops"]):
                for sig, c in sorted(g["ops"][op].items()):
                    print(f"| {op} | {c} | `{sig}` |")


if __name__ == "__main__":
    main()
