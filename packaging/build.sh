#!/usr/bin/env bash
# Build the frozen app for people without Python: dist/attention-explorer/, one folder holding its
# own Python, Qt, ONNX Runtime and the bundled models. Start it with
#   dist/attention-explorer/attention-explorer [MODEL.onnx]
# It builds from a non-editable install of this checkout in its own venv (build/freeze-venv),
# so it freezes exactly what a wheel ships. Takes a few minutes; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=build/freeze-venv
PYTHON=${PYTHON:-python3}
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "pyinstaller>=6.10" .
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/attention-explorer.spec
echo "built dist/attention-explorer/ ($(du -sh dist/attention-explorer | cut -f1))"
