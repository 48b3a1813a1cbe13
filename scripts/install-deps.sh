#!/usr/bin/env bash
# Installs the Debian packages genie-swift builds and runs with (as root, or through sudo).
set -euo pipefail
packages=(libdnnl-dev zlib1g-dev libturbojpeg0-dev dataset-fashion-mnist)
if dpkg -s "${packages[@]}" >/dev/null 2>&1; then exit 0; fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${packages[@]}" >/dev/null
