#!/usr/bin/env python3
"""Golden images for the Vulkan Gaussian-splat renderer (tests/render/splat_golden_test.cpp).

Three seeded scenes x four cameras. Projection, covariance and SH colour come
from gsplat's own pure-PyTorch reference (gsplat.cuda._torch_impl, v1.5.3:
_quat_scale_to_covar_preci, _fully_fused_projection, _spherical_harmonics).
gsplat's _rasterize_to_pixels needs its CUDA extension, so compositing is done
here per pixel in PyTorch with the rules of gsplat's rasterizer: pixel centres
at (x + 0.5, y + 0.5), sigma = 0.5 (a dx^2 + c dy^2) + b dx dy, alpha =
min(ALPHA_MAX, opacity exp(-sigma)), skip sigma < 0 or alpha < 1/255, stop
before a Gaussian that would take transmittance to <= 1e-4, front to back by
depth (ties by index), colour = max(sh + 0.5, 0). ALPHA_MAX is 0.99 (the
value the project specifies; Inria's 3DGS and gsplat's main branch use it,
gsplat 1.5.3's CUDA kernel used 0.999). Gaussians outside gsplat's 3.33-sigma
extent are skipped exactly as its tile binning would.

Each scene is one file, tests/golden/fixtures/splats_<scene>.safetensors:
  means [N,3], quats [N,4] (w x y z, unnormalised), scales [N,3] (linear),
  opacities [N], sh [N,K,3], viewmats [C,4,4] (world->camera, OpenCV),
  Ks [C,3,3], images [C,H,W,3] (float32, black background)
Metadata: versions, width, height, sh_degree, alpha_max.

Run (needs torch, gsplat==1.5.3, safetensors; CI only reads the fixtures):
    python3 tests/golden/gen_splats.py [--out tests/golden/fixtures]
"""

import argparse
import json
import math
import os

import numpy
import safetensors
import torch
from safetensors.torch import save_file

import gsplat
from gsplat.cuda._torch_impl import _fully_fused_projection, _quat_scale_to_covar_preci, _spherical_harmonics

ALPHA_MAX = 0.99
WIDTH, HEIGHT = 128, 96


def look_at(eye, target, up=(0.0, -1.0, 0.0)):
    eye, target, up = (torch.tensor(v, dtype=torch.float64) for v in (eye, target, up))
    z = target - eye
    z = z / z.norm()
    x = torch.linalg.cross(z, up)
    x = x / x.norm()
    y = torch.linalg.cross(z, x)
    view = torch.eye(4, dtype=torch.float64)
    view[0, :3], view[1, :3], view[2, :3] = x, y, z
    view[:3, 3] = -view[:3, :3] @ eye
    return view


def intrinsics(fov_y_deg):
    f = 0.5 * HEIGHT / math.tan(math.radians(fov_y_deg) / 2)
    return torch.tensor([[f, 0, WIDTH / 2], [0, f, HEIGHT / 2], [0, 0, 1]], dtype=torch.float64)


def composite(means2d, conics, colors, opacities, depths, radii):
    """Per-pixel front-to-back blending with gsplat's rules (float64)."""
    ys, xs = torch.meshgrid(torch.arange(HEIGHT, dtype=torch.float64), torch.arange(WIDTH, dtype=torch.float64),
                            indexing="ij")
    px, py = xs + 0.5, ys + 0.5
    visible = (radii[:, 0] > 0) & (radii[:, 1] > 0)
    order = [int(i) for i in torch.argsort(depths, stable=True) if visible[i]]
    T = torch.ones(HEIGHT, WIDTH, dtype=torch.float64)
    C = torch.zeros(HEIGHT, WIDTH, 3, dtype=torch.float64)
    done = torch.zeros(HEIGHT, WIDTH, dtype=torch.bool)
    for i in order:
        mx, my = means2d[i]
        rx, ry = radii[i]
        # gsplat bins a Gaussian into the 16x16 tiles its extent touches; pixels
        # of other tiles never see it.
        tx0, tx1 = max(0, math.floor((mx - rx) / 16)), min(math.ceil(WIDTH / 16), math.ceil((mx + rx) / 16))
        ty0, ty1 = max(0, math.floor((my - ry) / 16)), min(math.ceil(HEIGHT / 16), math.ceil((my + ry) / 16))
        in_tiles = torch.zeros(HEIGHT, WIDTH, dtype=torch.bool)
        in_tiles[ty0 * 16 : ty1 * 16, tx0 * 16 : tx1 * 16] = True
        a, b, c = conics[i]
        dx, dy = mx - px, my - py
        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
        alpha = torch.clamp(opacities[i] * torch.exp(-sigma), max=ALPHA_MAX)
        use = in_tiles & ~done & (sigma >= 0) & (alpha >= 1.0 / 255.0)
        next_T = T * (1 - alpha)
        stop = use & (next_T <= 1e-4)
        done |= stop
        use &= ~stop
        C[use] += (alpha[use] * T[use])[:, None] * colors[i]
        T = torch.where(use, next_T, T)
    return C


def render(scene, view, K):
    means, quats, scales, opacities, sh = (scene[k].double() for k in ("means", "quats", "scales", "opacities", "sh"))
    covars, _ = _quat_scale_to_covar_preci(quats, scales, compute_covar=True, compute_preci=False)
    radii, means2d, depths, conics, _ = _fully_fused_projection(means, covars, view[None], K[None], WIDTH, HEIGHT,
                                                                eps2d=0.3, near_plane=0.01, far_plane=1e10)
    radii, means2d, depths, conics = radii[0], means2d[0], depths[0], conics[0]
    campos = torch.linalg.inv(view)[:3, 3]
    dirs = means - campos
    degree = int(math.isqrt(sh.shape[1])) - 1
    colors = torch.clamp_min(_spherical_harmonics(degree, dirs, sh) + 0.5, 0.0)
    return composite(means2d, conics, colors, opacities, depths, radii)


def make_scene(name, gen, n, degree, spread, opacity_range, scale_range):
    k = (degree + 1) ** 2
    means = (torch.rand(n, 3, generator=gen, dtype=torch.float64) - 0.5) * 2 * torch.tensor(spread)
    quats = torch.randn(n, 4, generator=gen, dtype=torch.float64)  # unnormalised on purpose
    lo, hi = scale_range
    scales = torch.exp(torch.rand(n, 3, generator=gen, dtype=torch.float64) * (math.log(hi) - math.log(lo)) + math.log(lo))
    olo, ohi = opacity_range
    opacities = olo + (ohi - olo) * torch.rand(n, generator=gen, dtype=torch.float64)
    sh = torch.randn(n, k, 3, generator=gen, dtype=torch.float64) * 0.6
    sh[:, 1:] *= 0.4
    return {"means": means.float(), "quats": quats.float(), "scales": scales.float(),
            "opacities": opacities.float(), "sh": sh.float()}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "fixtures"))
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(20261126)
    scenes = {
        # sparse, degree 0, mixed sizes
        "sparse_deg0": make_scene("sparse_deg0", gen, 150, 0, (1.5, 1.0, 1.0), (0.2, 0.95), (0.02, 0.25)),
        # view-dependent colour: degree 3, thin anisotropic splats
        "aniso_deg3": make_scene("aniso_deg3", gen, 250, 3, (1.2, 1.2, 0.8), (0.3, 1.0), (0.005, 0.3)),
        # dense and opaque: early termination, alpha clamp; degree 1
        "dense_deg1": make_scene("dense_deg1", gen, 600, 1, (0.8, 0.6, 0.6), (0.8, 1.0), (0.03, 0.15)),
    }
    cameras = [((0.0, 0.0, -4.0), 50.0), ((3.0, -1.0, -2.5), 45.0), ((-2.0, 1.5, 2.8), 60.0), ((0.3, -3.5, -0.5), 40.0)]
    versions = {"torch": torch.__version__, "gsplat": gsplat.__version__, "safetensors": safetensors.__version__,
                "numpy": numpy.__version__}
    os.makedirs(args.out, exist_ok=True)
    for name, scene in scenes.items():
        views, Ks, images = [], [], []
        for eye, fov in cameras:
            view, K = look_at(eye, (0.0, 0.0, 0.0)), intrinsics(fov)
            views.append(view.float())
            Ks.append(K.float())
            images.append(render(scene, view.float().double(), K.float().double()).float())
        tensors = dict(scene)
        tensors.update({"viewmats": torch.stack(views), "Ks": torch.stack(Ks), "images": torch.stack(images)})
        degree = int(math.isqrt(scene["sh"].shape[1])) - 1
        meta = {"versions": json.dumps(versions), "width": str(WIDTH), "height": str(HEIGHT),
                "sh_degree": str(degree), "alpha_max": str(ALPHA_MAX), "generator": "tests/golden/gen_splats.py"}
        path = os.path.join(args.out, f"splats_{name}.safetensors")
        save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=meta)
        covered = float((torch.stack(images).sum(-1) > 0).double().mean())
        print(f"{path}: {scene['means'].shape[0]} Gaussians, {len(cameras)} cameras, {covered:.0%} of pixels covered")


if __name__ == "__main__":
    main()
