#!/usr/bin/env bash
# What one AVX512-BF16 dot product (vdpbf16ps zmm: 32 bf16 multiply-adds into 16 fp32 lanes)
# costs against one fp32 FMA (vfmadd231ps zmm: 16 multiply-adds), by LLVM's scheduling models.
# Why: issue 28 asks for bf16 >= 1.3x fp32 on AVX512-BF16 CPUs without AMX; oneDNN measured
# 0.54-0.62x there. If the instruction itself does no more multiply-adds per cycle than the
# fp32 FMA, no kernel can reach 1.3x on compute-bound products, and fp32 is the right route.
# Needs llvm-mca from LLVM >= 17 (the first with a Sapphire Rapids model):
#   apt-get install llvm-19; scripts/bench/bf16_instruction_cost.sh [llvm-mca-19]
set -euo pipefail
MCA=${1:-llvm-mca-19}
command -v "$MCA" >/dev/null || { echo "error: $MCA not found (apt-get install llvm-19, or pass the llvm-mca path)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# 8 independent accumulators, so the loop is bound by throughput, not latency.
for i in 3 4 5 6 7 8 9 10; do echo "vfmadd231ps %zmm1, %zmm2, %zmm$i"; done >"$dir/fma.s"
for i in 3 4 5 6 7 8 9 10; do echo "vdpbf16ps %zmm1, %zmm2, %zmm$i"; done >"$dir/dp.s"

# reciprocal throughput (cycles per instruction) and the instruction's uops
cost() {
  local out
  out=$("$MCA" -mcpu="$1" -iterations=1000 "$dir/$2.s" 2>&1)
  local block uops
  block=$(awk '/Block RThroughput/ {print $3}' <<<"$out")
  uops=$(awk '/\[1\] +\[2\] +\[3\]/ {getline; print $1; exit}' <<<"$out")
  echo "$(awk -v b="$block" 'BEGIN {printf "%.2f", b / 8}') $uops"
}

echo "$("$MCA" --version | awk '/LLVM version/ {print "LLVM " $NF}'), zmm registers, 8 independent chains"
printf '| -mcpu | vfmadd231ps cycles/instr (uops) | vdpbf16ps cycles/instr (uops) | fp32 MACs/cycle | bf16 MACs/cycle | bf16 / fp32 |\n'
printf '|---|---|---|---|---|---|\n'
for cpu in sapphirerapids emeraldrapids graniterapids znver4; do
  read -r f fu < <(cost "$cpu" fma)
  read -r d du < <(cost "$cpu" dp)
  awk -v c="$cpu" -v f="$f" -v fu="$fu" -v d="$d" -v du="$du" 'BEGIN {
    fm = 16 / f; bm = 32 / d
    printf "| %s | %s (%s) | %s (%s) | %.0f | %.0f | %.2f |\n", c, f, fu, d, du, fm, bm, bm / fm }'
done
cat <<'EOF'

LLVM's Sapphire Rapids model (also used for emeraldrapids and graniterapids) puts the zmm FMA
on port 0 only, as on the client core; the Xeons have a second 512-bit FMA on port 5, which
doubles the fp32 column there and halves the ratio. Either way bf16 does at most as many
multiply-adds per cycle as fp32 on these cores, so bf16 wins only where products are bound
by memory, not by arithmetic.
EOF
