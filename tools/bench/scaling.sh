#!/usr/bin/env bash
# Data-parallel scaling of `dagalign train`: epoch time with 1 rank vs 2 ranks (mpirun -np 2), one LibTorch
# thread per rank, the same global batch and the same trajectories (the 2-rank epoch trains on what the 1-rank
# epoch does: tests/integration/mpi_train/equivalence.sh). Prints epoch times (median over epochs 2..E; epoch 1 also
# pays one-off costs), throughput, speed-up T1 / T2 and efficiency T1 / (2 T2), the CPU time of each run
# (and the cores it got: CPU s / wall s) and the load average of the machine before and after.
#
# usage: tools/bench/scaling.sh [options] [-- extra dagalign train overrides]
#   --bin PATH       dagalign binary (default build/dagalign)
#   --config FILE    train config (default configs/tiny-shapes/compress-dagdb.ini if present, else
#                    tests/integration/mpi_train/tiny-shapes.ini)
#   --model PATH     model.path override (e.g. a freshly initialised folder of the tiny model's layout)
#   --epochs E       epochs per run (default 3, at least 2)
#   --steps T        sample.steps (default 10)
#   --per-rank S,B,b,A  per rank of the 2-rank run: sample.batch_size S, sample.batches_per_epoch B,
#                    train.batch_size b, train.grad_accum A (default 4,2,4,2: 16 trajectories per epoch,
#                    one optimiser step); the 1-rank run takes 2B batches and grad_accum 2A
#   --out DIR        run directories and logs (default /tmp/dagalign-scaling)
#   --nice N         run under nice -n N (default 0)
#   --no-control     skip the control: two independent 1-rank runs of one rank's share at the same time,
#                    i.e. the 2-rank epoch without MPI, bounded only by what the machine's cores give
# Example (this 2-core VM, shared): tools/bench/scaling.sh --bin build-h3/dagalign --nice 15
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=$src/build/dagalign config= model= epochs=3 steps=10 per_rank=4,2,4,2 out=/tmp/dagalign-scaling niceness=0 control=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --per-rank) per_rank=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --nice) niceness=$2; shift 2 ;;
    --no-control) control=0; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "scaling.sh: unknown option $1 (--help lists them)" >&2; exit 2 ;;
  esac
done
if [[ -z $config ]]; then
  config=$src/configs/tiny-shapes/compress-dagdb.ini
  [[ -f $config ]] || config=$src/tests/integration/mpi_train/tiny-shapes.ini
fi
(( epochs >= 2 )) || { echo "scaling.sh: --epochs must be >= 2" >&2; exit 2; }
IFS=, read -r S B b A <<< "$per_rank"
mpiexec=${MPIEXEC:-mpiexec}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
       OMPI_MCA_hwloc_base_binding_policy=none
common=(--config "$config" --train.epochs "$epochs" --sample.steps "$steps" --sample.batch_size "$S"
        --train.batch_size "$b" --run.threads 1 --run.save_trajectories false --run.preview_prompts 0
        --run.checkpoint_every "$epochs")
[[ -n $model ]] && common+=(--model.path "$model")
common+=("$@")
rm -rf "$out"; mkdir -p "$out"

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "scaling: $(getconf _NPROCESSORS_ONLN) cores, config $config${model:+, model $model}, $epochs epochs, sample.steps $steps"
echo "scaling: global batch $((2 * S * B)) trajectories/epoch; 2 ranks x ($S x $B sampled, $b x $A trained); 1 rank ($S x $((2 * B)), $b x $((2 * A)))"
load_before=$(load)
run() {  # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$out/$name.time" nice -n "$niceness" "$@" > "$out/$name.log" 2>&1 ||
    { echo "scaling: the $name run failed, see $out/$name.log" >&2; tail -5 "$out/$name.log" >&2; exit 1; }
}
run one "$bin" train "${common[@]}" --sample.batches_per_epoch $((2 * B)) --train.grad_accum $((2 * A)) --run.dir "$out/one"
run two "$mpiexec" -np 2 "$bin" train "${common[@]}" --sample.batches_per_epoch "$B" --train.grad_accum "$A" \
  --run.dir "$out/two"
if (( control )); then
  # Control: two independent 1-rank runs of one rank's share at the same time (no MPI): what the machine's
  # two cores give two busy processes; the 2-rank run cannot beat their epoch time.
  run pair_a "$bin" train "${common[@]}" --sample.batches_per_epoch "$B" --train.grad_accum "$A" --run.dir "$out/pair_a" &
  pid=$!
  run pair_b "$bin" train "${common[@]}" --sample.batches_per_epoch "$B" --train.grad_accum "$A" --run.seed 1 \
    --run.dir "$out/pair_b"
  wait "$pid"
fi
load_after=$(load)

python3 - "$out" "$((2 * S * B))" "$steps" "$load_before" "$load_after" "$control" <<'EOF'
import json, statistics, sys
out, n, T, before, after, control = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6] == "1"
def run(name):
    rows = [json.loads(l) for l in open(f"{out}/{name}/metrics.jsonl")]
    later = rows[1:]  # epoch 1 pays one-off costs (allocation, prompt embeddings)
    med = lambda k: statistics.median(r[k] for r in later)
    wall, user, sys_ = (float(x) for x in open(f"{out}/{name}.time").read().split()[-3:])
    return dict(epoch=med("seconds"), sample=med("seconds_sample"), train=med("seconds_train"),
                first=rows[0]["seconds"], cpu=user + sys_, wall=wall, epochs=len(rows))
one, two = run("one"), run("two")
runs = [("1 rank", one), ("2 ranks", two)]
if control:
    a, b = run("pair_a"), run("pair_b")
    pair = dict(a)
    for k in ("epoch", "sample", "train", "first"): pair[k] = max(a[k], b[k])  # the slower of the two
    pair["cpu"], pair["wall"] = a["cpu"] + b["cpu"], max(a["wall"], b["wall"])
    runs.append(("pair", pair))
print(f"{'':8} {'epoch s':>8} {'sample s':>9} {'train s':>8} {'traj/s':>7} {'trans/s':>8} {'1st epoch s':>11} "
      f"{'run wall s':>10} {'run CPU s':>9} {'cores used':>10}")
for name, r in runs:
    print(f"{name:8} {r['epoch']:8.2f} {r['sample']:9.2f} {r['train']:8.2f} {n / r['epoch']:7.2f} "
          f"{n * T / r['epoch']:8.1f} {r['first']:11.2f} {r['wall']:10.1f} {r['cpu']:9.1f} {r['cpu'] / r['wall']:10.2f}")
s = one["epoch"] / two["epoch"]
print(f"speed-up T1/T2 {s:.2f}, scaling efficiency T1/(2 T2) {100 * s / 2:.0f} % "
      f"(epochs 2..{one['epochs']}, median; rank 0's epoch time, which includes waiting for rank 1)")
if control:
    print(f"control (2 independent 1-rank runs of one rank's share at once, no MPI, slower of the two): "
          f"T1/T_pair {one['epoch'] / pair['epoch']:.2f} = the speed-up the machine allows; "
          f"2-rank epoch / pair epoch {two['epoch'] / pair['epoch']:.2f} (> 1: cost of data parallelism)")
print(f"CPU time 2 ranks / 1 rank {two['cpu'] / one['cpu']:.2f} (work added by the second rank: model load, MPI, "
      f"waiting); 'cores used' = run CPU s / run wall s (what the machine gave the run)")
print(f"load average (1, 5, 15 min) before {before}, after {after}")
EOF
