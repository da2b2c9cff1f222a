#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run
# the whole suite (GUI tests under a virtual X display).
set -euo pipefail
cd "$(dirname "$0")/.."

# System libraries for Qt/napari under Xvfb (installed only when missing).
need_apt=()
for pkg in xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-image0 \
           libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxcb-cursor0 \
           libxkbcommon-x11-0 libgl1 libegl1 libglib2.0-0 libfontconfig1 libdbus-1-3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

python -m pip install -q -e '.[test]'
exec xvfb-run -a -s "-screen 0 1280x1024x24" python -m pytest -q -p no:cacheprovider "$@"
