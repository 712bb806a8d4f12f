#!/usr/bin/env bash
# One-time, idempotent set-up for a fresh machine (Node.js/npm present, nothing else).
#   bash scripts/setup.sh            npm packages (Deno, tfjs, ...)      -> enough for `npm start`
#   bash scripts/setup.sh --test     + Jupyter (apt), the Deno kernelspec, Chromium and Slurm for the test suite
# Debian/Ubuntu only for the apt parts; see README "Other platforms" for macOS / pip-installed Jupyter.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

want_test=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

# 1. npm packages, pinned by package-lock.json files: Deno itself (npm package `deno`, in tools/) and the
#    project's packages (TensorFlow.js, Plot, danfojs, ...). Deno lives apart from node_modules/.bin because
#    `deno task` would run a `deno` found there as a JavaScript file (denoland/deno#27114).
install_npm() { # dir
  local stamp="$1/node_modules/.ur4rec-installed"
  if [ ! -f "$stamp" ] || [ "$1/package-lock.json" -nt "$stamp" ]; then
    echo "setup: npm ci in ${1#$root/}"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
}
install_npm "$root/tools"
install_npm "$root"
export PATH="$root/tools/node_modules/.bin:$PATH"

[ "$want_test" = 1 ] || exit 0

# 2. OS packages for the test suite: Jupyter (Notebook 6 + nbclient), Chromium (browser test), Slurm + munge (grid test).
apt_pkgs=()
[ -x /usr/bin/jupyter ] && /usr/bin/python3 -c 'import nbclient, nbconvert' 2>/dev/null ||
  apt_pkgs+=(jupyter-notebook python3-notebook jupyter-nbconvert python3-nbconvert python3-nbclient jupyter-client)
command -v chromium >/dev/null || apt_pkgs+=(chromium)
command -v slurmctld >/dev/null || apt_pkgs+=(slurm-wlm munge)
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: apt-get install ${apt_pkgs[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi

# 3. Kernelspecs: the user-wide one (`deno jupyter --install`) and a project-local one that the
#    notebook runner and `deno task jupyter` use through JUPYTER_PATH=.jupyter (absolute deno path, no colours).
deno jupyter --install --force >/dev/null
mkdir -p .jupyter/kernels/ur4rec
cat > .jupyter/kernels/ur4rec/kernel.json <<JSON
{
  "argv": ["$root/tools/node_modules/.bin/deno", "jupyter", "--kernel", "--conn", "{connection_file}"],
  "display_name": "Deno (ur4rec-lab)",
  "language": "typescript",
  "env": {"NO_COLOR": "1"}
}
JSON
echo "setup: done"
