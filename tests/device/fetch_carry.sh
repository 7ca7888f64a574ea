#!/usr/bin/env bash
# Fetches what the GPU machine lacks and the device tool carries beside the
# bundle (both folders are git-ignored; run once per checkout, here):
#   .whl/  diffusers (+ importlib_metadata) wheels for tests/device/torch_reference.py
#   .gl/   Debian's libglvnd / Vulkan loader packages for the NVIDIA Vulkan driver
# Then: tests/device/bundle.sh, and on the GPU machine tests/device/run.sh with
# carry ["build/device-bundle.tar.xz", ".whl", ".gl"].
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo '/.gl/' >>.git/info/exclude
mkdir -p .whl .gl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform any -d .whl diffusers==0.42.1 importlib_metadata==8.7.0
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/sc-amd64-lists)
mkdir -p /tmp/sc-amd64-lists/partial
apt-get "${apt_opts[@]}" update >/dev/null
(cd .gl && apt-get "${apt_opts[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .whl .gl
