#!/usr/bin/env bash
# Builds the GPU suite here (nvcc works without a GPU) for one architecture and
# packs the binaries with every shared library they need, including this
# machine's glibc and loader, into build/device-bundle.tar.xz: carry that file
# to the GPU machine (device tool: carry ["build/device-bundle.tar.xz"]) and
# run tests/device/run.sh there. The NVIDIA driver libraries (libcuda, the
# Vulkan ICD) come from the GPU machine itself, and so do cuBLAS / cuBLASLt
# and cuDNN (hundreds of MB; run.sh finds the GPU machine's CUDA toolkit or
# PyTorch's nvidia wheels).
#   tests/device/bundle.sh [ARCH] [--with-media]     (ARCH default 90: H100/H200)
# The default bundle (engine + renderer) packs to ~15 MB; --with-media adds the
# NVDEC/NVENC tests, whose FFmpeg dependencies alone exceed the 64 MiB the
# device tool carries, so use it only on a GPU machine with FFmpeg 5.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
arch=90
media=0
for a in "$@"; do
  case "${a}" in
    --with-media) media=1 ;;
    *) arch="${a}" ;;
  esac
done
build=build/device
cmake -S . -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSC_CUDA=ON -DSC_BUILD_GUI=OFF \
  -DSC_BUILD_TESTS=ON -DCMAKE_CUDA_ARCHITECTURES="${arch}" >/dev/null
targets=(test_engine_gpu test_render test_render_golden bench_splat)
((media)) && targets+=(test_media_gpu bench_volumetric streamcanvas-cli)
# Engine GPU tests and benchmarks join the list as they land.
# (The target list is read whole first: `| grep -q` would close the pipe early,
# ninja would die of SIGPIPE, and pipefail would drop the target silently.)
known="$(cmake --build "${build}" --target help)"
for t in test_engine_cuda test_engine_onnx_cuda test_app_gpu bench_engine_cuda bench_vlm; do
  if grep -q "^${t}:" <<<"${known}"; then targets+=("${t}"); fi
done
cmake --build "${build}" -j "$(nproc)" --target "${targets[@]}"

out=build/device-bundle
rm -rf "${out}"
mkdir -p "${out}/bin" "${out}/lib"
for t in "${targets[@]}"; do
  exe="$(find "${build}" -type f -name "${t}" -perm -u+x | head -n1)"
  [[ -n "${exe}" ]] || { echo "bundle: ${t} was not built" >&2; exit 1; }
  cp "${exe}" "${out}/bin/"
  strip --strip-debug "${out}/bin/${t}"
  # Everything ldd resolves, except the driver's own libraries and the big
  # CUDA math libraries (the GPU machine has them).
  ldd "${exe}" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
    case "$(basename "${lib}")" in
      libcuda.so*|libnvidia*|libGLX_nvidia*|libcublas*.so*|libcudnn*) continue ;;
    esac
    cp -nL "${lib}" "${out}/lib/" 2>/dev/null || true
  done
done
# The Vulkan loader is dlopen'ed-free (linked), but lavapipe is not needed there.
cp -nL /lib64/ld-linux-x86-64.so.2 "${out}/lib/"
# The NVIDIA Vulkan driver (libGLX_nvidia, dlopen'ed by the loader) needs X11
# and glvnd libraries; the GPU machine's own are built for a newer glibc than
# the one bundled here, so bring ours.
for lib in libX11.so.6 libXext.so.6 libxcb.so.1 libXau.so.6 libXdmcp.so.6 libbsd.so.0 libmd.so.0 libGLdispatch.so.0; do
  for dir in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu; do
    if [[ -e "${dir}/${lib}" ]]; then cp -nL "${dir}/${lib}" "${out}/lib/"; break; fi
  done
done
# Test binaries look for fixtures and scratch space under this checkout's
# absolute path; run.sh recreates it on the GPU machine with a symlink.
pwd >"${out}/source_dir.txt"
echo "$(pwd)/${build}/tests/tmp" >"${out}/tmp_dir.txt"
tar -C build -cf - device-bundle | xz -T0 -6 >build/device-bundle.tar.xz
du -sh "${out}" build/device-bundle.tar.xz
echo "bundle: build/device-bundle.tar.xz ready (carry it; run tests/device/run.sh on the GPU machine)"
