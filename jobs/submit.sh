#!/usr/bin/env bash
# Submits one experiment recipe of jobs/ to Slurm with the resources written in the recipe.
#
#   jobs/submit.sh jobs/sd15/dagdb-aesthetic.ini [--section.key value ...]
#   jobs/submit.sh --dry-run jobs/sd15/ddpo-hpsv2.ini         (print the sbatch command, submit nothing)
#   SBATCH_EXTRA="-p gpu -A myproject" jobs/submit.sh jobs/sd15/dagkl-aesthetic.ini
#
# A recipe is an INI file whose header comments say how to run it:
#   # base: FILE.ini          an INI read before the recipe (shared settings; optional)
#   # template: slurm/X.sbatch
#   # sbatch: --nodes=1 ...   resources, passed to sbatch (command-line options override #SBATCH lines)
# The job is named after the recipe (sd15-dagdb-aesthetic), its run directory is runs/<name>-<job id> (see
# slurm/common.sh) and its log logs/<name>-<job id>.out. Run from the root of the checkout.
set -euo pipefail

dry=0
if [ "${1:-}" = --dry-run ]; then dry=1; shift; fi
recipe=${1:?"usage: jobs/submit.sh [--dry-run] RECIPE.ini [--section.key value ...]"}
shift
[ -f "$recipe" ] || { echo "error: recipe '$recipe' not found (run from the checkout root)" >&2; exit 2; }

header() {  # the value of "# $1: value" in the recipe, empty if absent
  sed -n "s/^# $1: *//p" "$recipe" | head -n 1
}
base=$(header base)
template=$(header template)
read -r -a resources <<<"$(header sbatch)"
read -r -a extra <<<"${SBATCH_EXTRA:-}"
[ -n "$template" ] || { echo "error: $recipe has no '# template: slurm/....sbatch' line" >&2; exit 2; }
[ -f "$template" ] || { echo "error: template '$template' (from $recipe) not found" >&2; exit 2; }
[ -z "$base" ] || [ -f "$base" ] || { echo "error: base '$base' (from $recipe) not found" >&2; exit 2; }

name=$(basename "$(dirname "$recipe")")-$(basename "$recipe" .ini)
if [ -n "$base" ]; then
  args=("$base" --config "$recipe" "$@")
else
  args=("$recipe" "$@")
fi
cmd=(sbatch --job-name="$name" "${resources[@]}" "${extra[@]}" "$template" "${args[@]}")
if [ "$dry" = 1 ]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
mkdir -p logs
"${cmd[@]}"
