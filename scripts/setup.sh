#!/usr/bin/env bash
# Installs everything aic and its tests need: Debian packages (when run as root with apt) and npm deps.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  need=()
  [ -d /usr/share/libonnx-testdata/data/node ] || need+=(libonnx-testdata)
  # chromium: headless browser tests (playwright-core) and SwiftShader's Vulkan driver for WebGPU in Node
  [ -x /usr/bin/chromium ] || need+=(chromium)
  # Mesa's Vulkan drivers (lavapipe), which Dawn refuses: CI proves aic falls back to SwiftShader past them
  dpkg-query -W -f='${Status}' mesa-vulkan-drivers 2>/dev/null | grep -q 'ok installed' || need+=(mesa-vulkan-drivers)
  command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
  # PyTorch (and numpy) for the reference gradients the autodiff tests compare with (scripts/*-vs-torch.py)
  /usr/bin/python3 -c 'import numpy, torch, torchvision' >/dev/null 2>&1 || need+=(python3-numpy python3-torch python3-torchvision)
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
else
  [ -d /usr/share/libonnx-testdata/data/node ] || echo "note: install Debian's libonnx-testdata for the ONNX conformance tests" >&2
fi
npm ci --no-audit --no-fund --loglevel=error
