#!/usr/bin/env bash
# sass_check.sh: the SASS checks of the CUDA kernels (docs/PROFILING.md),
# repeatable without a GPU: compiles every kernels/*/*.cu (the benches
# aside) for sm_90 with nvcc, reads ptxas -v and cuobjdump --dump-sass and
# fails unless
#  - no kernel spills (ptxas "0 bytes spill") or uses local memory (no
#    LDL/STL), but for LOCAL_BY_DESIGN: TreeSHAP's kernel keeps each row's
#    unique path (up to 64 nodes, kernels/gbdt/shap_cpu.h) in a per-thread
#    array, which lives in local memory (L1-cached); it must still not spill;
#  - each tiled logistic-regression kernel (tile_kernel<...>, grad_kernel<...>)
#    has FP64 tensor-core products (DMMA) and 16-byte cp.async copies
#    (LDGSTS.E.BYPASS.128), with its registers and instruction mix printed;
#  - the k-means Lloyd pass (lloyd_kernel) has no atomics at all (no global
#    64-bit ATOMG/REDG, no shared ATOMS: its update is owner-computes in
#    shared memory), stages its row tiles by cp.async (LDGSTS: every load
#    in flight at once) and reads the centers by 16-byte broadcasts (LDS.128).
#  - the quantized histogram kernels (hist_q_kernel<V>, kernels/gbdt/hist_q.cu)
#    add in shared memory by native 32-bit atomics (ATOMS.ADD, no
#    ATOMS.CAST.SPIN compare-and-swap loop), run no 64-bit division (nvcc
#    emits it as a CALL to a subroutine of I2F.U64.RP / F2I.U64.TRUNC: no
#    CALL, no .U64 conversion) and, for V = 16, read 16 bins a 128-bit load
#    (LDG.E.128); the bank spreading it relies on (issue 28): each bin taken
#    from its word by a PRMT with the thread's selector (V = 4, 16), at most
#    64 registers (two 512-thread blocks an SM), and for V = 16 every
#    innermost row loop with atomics at most 6 instructions a value;
#  - the tiled predict kernel (predict_tiled_kernel) stages its rows by
#    cp.async (LDGSTS) and reads its nodes from shared memory (LDS.128);
#    the all-heads predict kernel (predict_heads_kernel) stages its rows by
#    16-byte loads (LDG.E.128), reads its 16-byte super-node records by
#    LDS.128 at a uniform-register tree base ([R+UR]: no add a step),
#    decides a node toward its absorbed child by one ISETP.GT.U32.XOR (the
#    flip bit), has no global load in its descent loops (each printed as
#    instructions / super steps) and every one at most 17 instructions a
#    super step (19 in the R < 512 row tiles of wide rows: two shifts more),
#    ends its walks by a warp vote (VOTE.ANY: the early exit) and uses at
#    most 128 registers (one 512-thread block an SM), in every instantiation
#    predict_heads_kernel<R> (R = 512, 256, 128, 64): what
#    docs/PROFILING.md's count assumes;
#  - the leaf round trip's kernels (hist_sub.cu's sub_kernel, split.cu's
#    exact and quantized feature_kernel / best_kernel, split_cat.cu's
#    cat_kernel / pick_kernel) exist, do not spill, and sub_kernel has no
#    CALL (no 64-bit division);
#  - a tree's gradients (grad_q.cu's grad_kernel, quant_kernel): no spills,
#    no 64-bit integer division, quant_kernel no CALL, grad_kernel's CALLs
#    only its three FP64 divisions' slow paths.
# Needs nvcc and cuobjdump (+ nvdisasm) on PATH, or CUOBJDUMP=...;
# exits 77 (skipped) without them.  usage: scripts/sass_check.sh [outdir]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
NVCC=${NVCC:-nvcc}
if [ -z "${CUOBJDUMP:-}" ] && ! command -v cuobjdump >/dev/null; then
  # the CUDA toolkit here ships no cuobjdump: install-deps.sh installs NVIDIA's
  # PyPI wheels (nvidia-cuda-cuobjdump, nvidia-cuda-nvdisasm); use those
  wheel_bin=$(${PYTHON:-python3} -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "bin"))' 2>/dev/null || true)
  [ -n "$wheel_bin" ] && [ -x "$wheel_bin/cuobjdump" ] && export PATH="$wheel_bin:$PATH"
fi
CUOBJDUMP=${CUOBJDUMP:-cuobjdump}
if ! command -v "$NVCC" >/dev/null || ! command -v "$CUOBJDUMP" >/dev/null; then
  echo "sass_check: needs nvcc and cuobjdump: skipped"
  exit 77
fi
fail=0
LOCAL_BY_DESIGN=" gbdt_shap "
files=()
for cu in "$root"/kernels/*/*.cu; do
  case $(basename "$cu") in bench_*) continue ;; esac
  f=$(basename "$(dirname "$cu")")_$(basename "$cu" .cu)
  files+=("$f")
  extra=()
  case $f in logreg_grad_csr|gbdt_split_cat|gbdt_grad_q) extra=(-fmad=false) ;; esac # as CMakeLists.txt compiles them: their twins' bits
  "$NVCC" -std=c++17 -arch=sm_90 -cubin -O3 "${extra[@]}" -I"$root/kernels" -I"$root/host" -Xptxas -v \
    -o "$out/$f.cubin" "$cu" 2>"$out/$f.ptxas"
  "$CUOBJDUMP" --dump-sass "$out/$f.cubin" >"$out/$f.sass"
  # one "name regs spill" line per entry function, from ptxas -v
  awk '/Compiling entry function/ {match($0, /_Z[^'"'"']*/); name=substr($0, RSTART, RLENGTH)}
       /spill stores/ {spill=$5 + $9}
       /Used [0-9]+ registers/ {print name, $5, spill}' "$out/$f.ptxas" >"$out/$f.regs"
done
kernels=0
for f in "${files[@]}"; do
  while read -r name regs spill; do
    kernels=$((kernels + 1))
    body=$(awk -v n="$name" '/Function : /{on = $3 == n} on' "$out/$f.sass")
    local_ops=$(grep -cE '\s(LDL|STL)' <<<"$body" || true)
    [[ "$LOCAL_BY_DESIGN" == *" $f "* ]] && local_ops=0
    if [ "$spill" != 0 ] || [ "$local_ops" != 0 ]; then
      echo "  FAIL: $f: $name spills ($spill bytes, $local_ops LDL/STL)"
      fail=1
    fi
  done <"$out/$f.regs"
done
echo "sass_check: $kernels kernels compiled for sm_90, spills and local memory checked"
printf '%-34s %5s %6s %5s %7s %6s %5s %5s %5s %5s %5s\n' kernel regs spill DMMA LDGSTS LDS F2F DFMA DADD SHFL BAR
for f in logreg_score logreg_grad; do
  while read -r name regs spill; do
    case $name in *tile_kernel*|*grad_kernel*) ;; *) continue ;; esac
    body=$(awk -v n="$name" '/Function : /{on = $3 == n} on' "$out/$f.sass")
    count() { grep -cE "$1" <<<"$body" || true; }
    dmma=$(count '\sDMMA'); ldgsts=$(count 'LDGSTS\.E\.BYPASS\.128'); lds=$(count '\sLDS')
    f2f=$(count 'F2F\.F64'); dfma=$(count '\sDFMA'); dadd=$(count '\sDADD'); shfl=$(count '\sSHFL')
    bar=$(count '\sBAR\.SYNC'); local=$(count '\s(LDL|STL)')
    short=$(sed -E 's/.*(tile_kernel|grad_kernel)I(.*)EEvPK.*/\1<\2>/' <<<"$name")
    printf '%-34s %5s %6s %5s %7s %6s %5s %5s %5s %5s %5s\n' "$short" "$regs" "$spill" "$dmma" "$ldgsts" "$lds" \
      "$f2f" "$dfma" "$dadd" "$shfl" "$bar"
    if [ "$spill" != 0 ] || [ "$local" != 0 ]; then echo "  FAIL: $short spills ($spill bytes, $local LDL/STL)"; fail=1; fi
    if [ "$dmma" = 0 ]; then echo "  FAIL: $short has no DMMA (FP64 tensor-core products)"; fail=1; fi
    if [ "$ldgsts" = 0 ]; then echo "  FAIL: $short has no 16-byte cp.async (LDGSTS.E.BYPASS.128)"; fail=1; fi
  done <"$out/$f.regs"
done
# the k-means Lloyd pass: no atomics, centers by 16-byte broadcasts
printf '%-34s %5s %5s %5s %6s %7s %5s %5s %5s\n' kernel regs FFMA LDS128 LDGSTS ATOMG/REDG ATOMS SHFL BAR
while read -r name regs spill; do
  case $name in *lloyd_kernel*) ;; *) continue ;; esac
  body=$(awk -v n="$name" '/Function : /{on = $3 == n} on' "$out/kmeans_assign.sass")
  count() { grep -cE "$1" <<<"$body" || true; }
  ffma=$(count '\sFFMA'); lds128=$(count '\sLDS\.128'); glob=$(count '\s(ATOMG|REDG|RED|ATOM)\.'); atoms=$(count '\sATOMS')
  ldgsts=$(count '\sLDGSTS')
  printf '%-34s %5s %5s %5s %6s %7s %5s %5s %5s\n' lloyd_kernel "$regs" "$ffma" "$lds128" "$ldgsts" "$glob" "$atoms" \
    "$(count '\sSHFL')" "$(count '\sBAR')"
  if [ "$glob" != 0 ]; then echo "  FAIL: lloyd_kernel has global atomics (ATOMG/REDG)"; fail=1; fi
  if [ "$atoms" != 0 ]; then echo "  FAIL: lloyd_kernel has shared-memory atomics (ATOMS)"; fail=1; fi
  if [ "$lds128" = 0 ]; then echo "  FAIL: lloyd_kernel reads no centers by LDS.128"; fail=1; fi
  if [ "$ldgsts" = 0 ]; then echo "  FAIL: lloyd_kernel stages no rows by cp.async (LDGSTS)"; fail=1; fi
  found=1
done <"$out/kmeans_assign.regs"
if [ -z "${found:-}" ]; then echo "  FAIL: no lloyd_kernel in kernels/kmeans/assign.cu"; fail=1; fi
# the quantized histogram: native shared atomics, no 64-bit division, 128-bit bin loads
printf '%-34s %5s %6s %9s %5s %7s %7s %5s %5s  %s\n' kernel regs ATOMS CAS/SPIN CALL I2F/F2I LDG.128 REDG PRMT \
  "row loops (instructions)"
while read -r name regs spill; do
  case $name in *hist_q_kernel*) ;; *) continue ;; esac
  body=$(awk -v n="$name" '/Function : /{on = $3 == n} on' "$out/gbdt_hist_q.sass")
  count() { grep -cE "$1" <<<"$body" || true; }
  v=$(sed -E 's/.*hist_q_kernelILi([0-9]+)E.*/\1/' <<<"$name")
  atoms=$(count '\sATOMS\.ADD\s'); spin=$(count 'ATOMS\.(CAST|CAS)'); call=$(count '\sCALL')
  div=$(count '(I2F|F2I)[.A-Z]*\.U?64'); ld128=$(count 'LDG\.E\.128'); redg=$(count '\sREDG\.E\.ADD\.64')
  prmt=$(count '\sPRMT\s')
  # innermost loops with atomics: a backward BRA whose span holds ATOMS and no other backward BRA
  loops=$(awk 'function hex(s,  v, i) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
    /\/\*[0-9a-f][0-9a-f][0-9a-f][0-9a-f]+\*\/ / {
      match($0, /\/\*[0-9a-f]+\*\//); a = hex(substr($0, RSTART + 2, RLENGTH - 4)); n++; addr[n] = a; txt[n] = $0 }
    END { for (i = 1; i <= n; i++) if (match(txt[i], /BRA 0x[0-9a-f]+/)) {
        t = hex(substr(txt[i], RSTART + 6, RLENGTH - 6)); if (t > addr[i]) continue; back[i] = t }
      for (i = 1; i <= n; i++) if (i in back) { len = 0; at = 0; inner = 0
        for (j = 1; j <= i; j++) if (addr[j] >= back[i]) { len++; if (txt[j] ~ /ATOMS/) at = 1; if (j < i && (j in back) && back[j] >= back[i]) inner = 1 }
        if (at && !inner) printf "%d ", len } }' <<<"$body")
  printf '%-34s %5s %6s %9s %5s %7s %7s %5s %5s  %s\n' "hist_q_kernel<$v>" "$regs" "$atoms" "$spin" "$call" "$div" "$ld128" \
    "$redg" "$prmt" "$loops"
  if [ "$regs" -gt 64 ]; then echo "  FAIL: hist_q_kernel<$v> uses $regs registers (> 64: one 512-thread block an SM)"; fail=1; fi
  if [ "$v" != 1 ] && [ "$prmt" = 0 ]; then echo "  FAIL: hist_q_kernel<$v> takes no bin by PRMT (the permuted bytes)"; fail=1; fi
  for len in $loops; do
    if [ "$v" = 16 ] && [ "$len" -gt 96 ]; then
      echo "  FAIL: hist_q_kernel<16> has a row loop of $len instructions (> 6 a value: the bases re-derived per row?)"; fail=1
    fi
  done
  if [ "$atoms" = 0 ]; then echo "  FAIL: hist_q_kernel<$v> has no native shared atomic add (ATOMS.ADD)"; fail=1; fi
  if [ "$spin" != 0 ]; then echo "  FAIL: hist_q_kernel<$v> has compare-and-swap loops (ATOMS.CAST.SPIN)"; fail=1; fi
  if [ "$call" != 0 ] || [ "$div" != 0 ]; then
    echo "  FAIL: hist_q_kernel<$v> calls a subroutine or divides 64-bit integers (CALL, I2F/F2I .U64)"; fail=1
  fi
  if [ "$v" = 16 ] && [ "$ld128" = 0 ]; then echo "  FAIL: hist_q_kernel<16> reads no 16 bins a load (LDG.E.128)"; fail=1; fi
  qfound=$((${qfound:-0} + 1))
done <"$out/gbdt_hist_q.regs"
if [ "${qfound:-0}" != 3 ]; then echo "  FAIL: not the three hist_q_kernel<16|4|1> in kernels/gbdt/hist_q.cu"; fail=1; fi
# the tiled predict: rows by cp.async, nodes from shared memory
while read -r name regs spill; do
  case $name in *predict_tiled_kernel*) ;; *) continue ;; esac
  body=$(awk -v n="$name" '/Function : /{on = $3 == n} on' "$out/gbdt_predict_tiled.sass")
  ldgsts=$(grep -cE '\sLDGSTS' <<<"$body" || true); lds128=$(grep -cE '\sLDS\.128' <<<"$body" || true)
  printf '%-34s %5s regs, %s LDGSTS, %s LDS.128\n' predict_tiled_kernel "$regs" "$ldgsts" "$lds128"
  if [ "$ldgsts" = 0 ]; then echo "  FAIL: predict_tiled_kernel stages no rows by cp.async (LDGSTS)"; fail=1; fi
  if [ "$lds128" = 0 ]; then echo "  FAIL: predict_tiled_kernel reads no 16-byte nodes from shared memory (LDS.128)"; fail=1; fi
  pfound=1
done <"$out/gbdt_predict_tiled.regs"
if [ -z "${pfound:-}" ]; then echo "  FAIL: no predict_tiled_kernel in kernels/gbdt/predict_tiled.cu"; fail=1; fi
# the leaf round trip on the device (issue 28): the subtraction kernel and
# the exact and quantized split search are there, without spills or local
# memory, and the subtraction runs no 64-bit division (no CALL)
for want in "gbdt_hist_sub sub_kernel" "gbdt_split feature_kernelIN8ps_split5ExactE" \
            "gbdt_split feature_kernelIN8ps_split5QuantE" "gbdt_split best_kernelIN8ps_split5ExactE" \
            "gbdt_split best_kernelIN8ps_split5QuantE" "gbdt_split_cat cat_kernelIN8ps_split5ExactE" \
            "gbdt_split_cat cat_kernelIN8ps_split5QuantE" "gbdt_split_cat pick_kernelIN8ps_split5ExactE" \
            "gbdt_split_cat pick_kernelIN8ps_split5QuantE"; do
  read -r f k <<<"$want"
  line=$(grep -F "$k" "$out/$f.regs" | head -1 || true)
  if [ -z "$line" ]; then echo "  FAIL: no $k in kernels/gbdt/${f#gbdt_}.cu"; fail=1; continue; fi
  read -r name regs spill <<<"$line"
  body=$(awk -v n="$name" '/Function : /{on = $3 == n} on' "$out/$f.sass")
  local_ops=$(grep -cE '\s(LDL|STL)' <<<"$body" || true); call=$(grep -cE '\sCALL' <<<"$body" || true)
  printf '%-34s %5s regs, %s spill, %s LDL/STL, %s CALL\n' "$(sed -E 's/IN8ps_split5(Exact|Quant)E/<\1>/' <<<"$k")" "$regs" \
    "$spill" "$local_ops" "$call"
  if [ "$spill" != 0 ] || [ "$local_ops" != 0 ]; then echo "  FAIL: $k spills or uses local memory"; fail=1; fi
  if [ "$k" = sub_kernel ] && [ "$call" != 0 ]; then echo "  FAIL: sub_kernel calls a subroutine (64-bit division)"; fail=1; fi
done
while read -r name regs spill; do
  case $name in *predict_heads_kernel*) ;; *) continue ;; esac
  body=$(awk -v n="$name" '/Function : /{on = $3 == n} on' "$out/gbdt_predict_heads.sass")
  lds128=$(grep -cE '\sLDS\.128' <<<"$body" || true); ldg128=$(grep -cE 'LDG\.E\.128' <<<"$body" || true)
  urrec=$(grep -cE 'LDS\.128 R[0-9]+, \[R[0-9]+\+UR[0-9]+\]' <<<"$body" || true)
  xor=$(grep -cE 'ISETP\.GT\.U32\.XOR' <<<"$body" || true)
  # descent loops: innermost backward BRA spans holding LDS.128 (the records); printed as
  # instructions/super steps (a step: one LDS.128 record, two LDS keys); none may hold a global load
  loops=$(awk 'function hex(s,  v, i) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
    /\/\*[0-9a-f][0-9a-f][0-9a-f][0-9a-f]+\*\/ / {
      match($0, /\/\*[0-9a-f]+\*\//); a = hex(substr($0, RSTART + 2, RLENGTH - 4)); n++; addr[n] = a; txt[n] = $0 }
    END { for (i = 1; i <= n; i++) if (match(txt[i], /BRA 0x[0-9a-f]+/)) {
        t = hex(substr(txt[i], RSTART + 6, RLENGTH - 6)); if (t > addr[i]) continue; back[i] = t }
      for (i = 1; i <= n; i++) if (i in back) { len = 0; st = 0; inner = 0; g = 0
        for (j = 1; j <= i; j++) if (addr[j] >= back[i]) { len++; if (txt[j] ~ /LDS\.128/) st++; if (txt[j] ~ /LDG/) g = 1
          if (j < i && (j in back) && back[j] >= back[i]) inner = 1 }
        if (st && !inner) printf "%d/%d%s ", len, st, g ? "(LDG)" : "" } }' <<<"$body")
  R=$(sed -nE 's/.*predict_heads_kernelILi([0-9]+)E.*/\1/p' <<<"$name"); wide=$([ "${R:-512}" = 512 ] && echo 0 || echo 1)
  vote=$(grep -cE '\sVOTE\.ANY' <<<"$body" || true)
  printf '%-34s %5s regs, %s LDS.128 (%s at a UR base), %s LDG.E.128, %s ISETP.XOR, descent loops (instructions/steps): %s\n' \
    "predict_heads_kernel<${R:-?}>" "$regs" "$lds128" "$urrec" "$ldg128" "$xor" "$loops"
  if [ "$urrec" = 0 ]; then echo "  FAIL: predict_heads_kernel reads no 16-byte records at a uniform tree base (LDS.128 [R+UR])"; fail=1; fi
  if [ "$xor" = 0 ]; then echo "  FAIL: predict_heads_kernel decides no node by ISETP.GT.U32.XOR (the flip bit)"; fail=1; fi
  if [ "$ldg128" = 0 ]; then echo "  FAIL: predict_heads_kernel stages no rows by 16-byte loads (LDG.E.128)"; fail=1; fi
  if [ -z "$loops" ] || [[ "$loops" == *LDG* ]]; then echo "  FAIL: predict_heads_kernel: descent loops $loops (none, or a global load)"; fail=1; fi
  # docs/PROFILING.md's count ("Super nodes"): every descent loop at most 17 instructions a super step (19 at
  # R < 512), the early exit by a warp vote, one 512-thread block an SM
  for l in $loops; do
    len=${l%%/*}; st=${l#*/}; st=${st%%(*}; lim=$((17 + 2 * wide))
    if [ "$len" -gt $((lim * st)) ]; then echo "  FAIL: predict_heads_kernel<$R>: a descent loop of $len instructions for $st super steps (> $lim a step: the count)"; fail=1; fi
  done
  if [ "$vote" = 0 ]; then echo "  FAIL: predict_heads_kernel<$R> has no warp vote (VOTE.ANY): no early exit"; fail=1; fi
  if [ "$regs" -gt 128 ]; then echo "  FAIL: predict_heads_kernel<$R> uses $regs registers (> 128: no 512-thread block)"; fail=1; fi
  hseen="${hseen:-} $R"
  hfound=1
done <"$out/gbdt_predict_heads.regs"
if [ -z "${hfound:-}" ]; then echo "  FAIL: no predict_heads_kernel in kernels/gbdt/predict_heads.cu"; fail=1; fi
for R in 512 256 128 64; do
  [[ " ${hseen:-} " == *" $R "* ]] || { echo "  FAIL: no predict_heads_kernel<$R> in kernels/gbdt/predict_heads.cu"; fail=1; }
done
# a tree's gradients on the device (grad_q.cu): grad_kernel and quant_kernel there, without spills or local
# memory and without 64-bit integer division (no I2F/F2I .U64; grad_kernel's only CALLs are the FP64 division's
# slow path, taken for special operands only; quant_kernel none); each row loop's length printed
for k in grad_kernel quant_kernel; do
  line=$(grep -F "$k" "$out/gbdt_grad_q.regs" | head -1 || true)
  if [ -z "$line" ]; then echo "  FAIL: no $k in kernels/gbdt/grad_q.cu"; fail=1; continue; fi
  read -r name regs spill <<<"$line"
  body=$(awk -v n="$name" '/Function : /{on = $3 == n} on' "$out/gbdt_grad_q.sass")
  count() { grep -cE "$1" <<<"$body" || true; }
  local_ops=$(count '\s(LDL|STL)'); call=$(count '\sCALL'); div=$(count '(I2F|F2I)[.A-Z]*\.U?64')
  fp64=$(count '\sD(FMA|MUL|ADD|SETP)'); ldg=$(count '\sLDG'); stg=$(count '\sSTG')
  printf '%-34s %5s regs, %s spill, %s LDL/STL, %s CALL, %s I2F/F2I.U64, %s FP64, %s LDG, %s STG\n' "$k" "$regs" \
    "$spill" "$local_ops" "$call" "$div" "$fp64" "$ldg" "$stg"
  if [ "$spill" != 0 ] || [ "$local_ops" != 0 ]; then echo "  FAIL: $k spills or uses local memory"; fail=1; fi
  if [ "$div" != 0 ]; then echo "  FAIL: $k divides 64-bit integers (I2F/F2I .U64)"; fail=1; fi
  if [ "$k" = quant_kernel ] && [ "$call" != 0 ]; then echo "  FAIL: quant_kernel calls a subroutine"; fail=1; fi
  if [ "$k" = grad_kernel ] && [ "$call" -gt 3 ]; then
    echo "  FAIL: grad_kernel has $call CALLs (3 FP64 divisions' slow paths expected)"; fail=1
  fi
done
echo "sass_check: SASS and ptxas output in $out"
[ $fail = 0 ] && echo "sass_check: passed" || echo "sass_check: FAILED"
exit $fail
