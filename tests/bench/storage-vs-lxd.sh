#!/usr/bin/env bash
# Benchmarks lodged's storage against LXD 5.0.2 doing the same work in the
# same run: snapshots of instances holding 1 GiB and 4 GiB on btrfs and dir
# (dir also against cp -a), launch from a cached image on both pools, and
# image import throughput against tar -x. Run by hand, never by CI:
#   scripts/setup-bench && scripts/build lodged lodge && tests/bench/storage-vs-lxd.sh
# See tests/bench/README.md for what it prints and the knobs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/common.sh
. "$here/common.sh"
repo=$(cd "$here/../.." && pwd)

SIZES=${BENCH_SNAP_SIZES:-"1024 4096"}     # MiB of data in the snapshotted instance, one run per size
SNAP_REPS=${BENCH_SNAP_REPS:-5}             # snapshots per client, daemon, pool and size
SNAP_RUNNING=${BENCH_SNAP_RUNNING:-0}       # 1: snapshot running instances (both daemons freeze on dir)
POOLS=${BENCH_POOLS:-"btrfs dir"}           # which pools to measure on
BTRFS_SIZE=${BENCH_BTRFS_SIZE:-12}          # GiB: each daemon's btrfs loop file
LAUNCH_REPS=${BENCH_LAUNCH_REPS:-10}        # launches per client, daemon and pool
IMPORT_REPS=${BENCH_IMPORT_REPS:-3}         # image imports per daemon (and tar -x)
IMPORT_FIXTURE=${BENCH_IMPORT_FIXTURE:-debian} # the fixture packed into the import image
KEEP=${BENCH_RESULTS:-}                     # a directory to keep the raw figures and the log in
LODGE_BUILD=${LODGE_BUILD:-$repo/build}
LXD_BIN=${LXD_BIN:-/usr/bin/lxd}
LODGE_TEST_CACHE=${LODGE_TEST_CACHE:-/var/cache/lodge-test}

die() { echo "storage-vs-lxd: $*" >&2; exit 1; }
note() { echo "storage-vs-lxd: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (both daemons run containers and mount pools)"
[ -x "$LXD_BIN" ] || die "$LXD_BIN not found: run scripts/setup-bench"
for tool in lxc cc unshare losetup; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup-bench"
done
for fixture in busybox "$IMPORT_FIXTURE"; do
  [ -x "$LODGE_TEST_CACHE/$fixture/sbin/init" ] || [ -L "$LODGE_TEST_CACHE/$fixture/sbin/init" ] ||
    die "fixture $LODGE_TEST_CACHE/$fixture missing: run tests/fixtures/$fixture.sh"
done
for knob in SNAP_REPS LAUNCH_REPS IMPORT_REPS BTRFS_SIZE SNAP_RUNNING; do
  [[ ${!knob} =~ ^[0-9]+$ ]] || die "BENCH_${knob} must be a number, not '${!knob}'"
done
for s in $SIZES; do
  [[ $s =~ ^[1-9][0-9]*$ ]] || die "BENCH_SNAP_SIZES takes sizes in MiB, not '$s'"
done
for p in $POOLS; do
  case $p in btrfs | dir) ;; *) die "BENCH_POOLS takes btrfs and dir, not '$p'" ;; esac
done
[[ " $POOLS " == *" btrfs "* ]] && ! command -v mkfs.btrfs >/dev/null &&
  die "mkfs.btrfs not found (btrfs-progs): install it or set BENCH_POOLS=dir"
lxd_version=$("$LXD_BIN" --version)
pool_name() { [ "$1" = btrfs ] && echo bt || echo default; }

# --- disk space -------------------------------------------------------------
# The data trees (kept for the whole run) and, per size, each daemon's
# instance and one snapshot of it on dir plus the cp -a copy; the btrfs
# loop files keep what was written into them.
scratch_parent=${TMPDIR:-/var/tmp}
sum=0 max=0
for s in $SIZES; do sum=$((sum + s)); [ "$s" -gt "$max" ] && max=$s; done
need_mib=$((sum + 5 * max + 2048))
[[ " $POOLS " == *" btrfs "* ]] && need_mib=$((need_mib + 2 * sum))
free_mib=$(($(df -Pk "$scratch_parent" | awk 'NR == 2 { print $4 }') / 1024))
[ "$free_mib" -ge "$need_mib" ] ||
  die "not enough disk space in $scratch_parent: $free_mib MiB free, this run needs about $need_mib MiB (set TMPDIR elsewhere or lower BENCH_SNAP_SIZES)"
if [[ " $POOLS " == *" btrfs "* ]] && [ $((max + 1024)) -gt $((BTRFS_SIZE * 1024)) ]; then
  die "the btrfs pools (BENCH_BTRFS_SIZE=$BTRFS_SIZE GiB) cannot hold a $max MiB instance: raise BENCH_BTRFS_SIZE"
fi

# --- scratch space and cleanup -------------------------------------------
daemon_scratch "$scratch_parent" bench-storage
cleanup() { finish_daemon_run "instances, daemons, pools and files"; }
daemons_init
set_cleanup_traps
compile_bench_tools
cc -O2 -o "$tmp/bench-tree" "$here/bench-tree.c" 2>>"$log" || die "cannot compile bench-tree.c"
"$bt" run 25 true >"$results/spawn"

# run_timed FILE CLIENT ARGS...: one client round trip, its time appended
# to FILE.
run_timed() {
  local file=$1
  shift
  client_cmd "$@"
  "$bt" run 1 "${CMD[@]}" >>"$file" 2>>"$log"
}

# rotate N WORDS...: WORDS rotated left by N, into ORDER; alternating who
# goes first lets drift in the machine's load fall on every side alike.
rotate() {
  local n=$1
  shift
  local words=("$@")
  n=$((n % ${#words[@]}))
  ORDER=("${words[@]:n}" "${words[@]:0:n}")
}

# Every timed step starts with nothing left to write back from the last.
settle() { sync; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
note "LXD $lxd_version and lodged, $(nproc) cpus, load $load_before, kernel $(uname -r); scratch in $tmp"
for side in "${sides[@]}"; do start_daemon "$side"; done

# --- pools and the busybox image ------------------------------------------
pack_busybox_image "$tmp/busybox.tar.gz"
for side in "${sides[@]}"; do
  if [[ " $POOLS " == *" btrfs "* ]]; then
    if [ "$side" = lxd ]; then
      cl lxd storage create bt btrfs size="${BTRFS_SIZE}GiB" >>"$log" 2>&1 || die "LXD: cannot create the btrfs pool (see the log)"
    else
      lg storage create bt btrfs size="${BTRFS_SIZE}GiB" >>"$log" 2>&1 || die "lodged: cannot create the btrfs pool (see the log)"
    fi
  fi
  cl "$side" image import "$tmp/busybox.tar.gz" --alias bb >>"$log" 2>&1 || die "$side: cannot import the busybox image"
done

# Clients for the timed steps: LXD's client against both, ours against
# lodged, and the API alone (bench-api) against both.
clients=()
[ $lodge_ok = yes ] && clients+=(lxc-lodge lodge-lodge api-lodge)
clients+=(lxc-lxd api-lxd)

# --- snapshots --------------------------------------------------------------
# snapshot_once CLIENT NAME SNAP FILE: one timed snapshot.
snapshot_once() {
  local client=$1 name=$2 snap=$3 file=$4 side=${1#*-}
  if [ "${client%%-*}" = api ]; then
    "$api" "$(sock "$side")" snapshot "$name" "$snap" >>"$file" 2>>"$log"
  else
    run_timed "$file" "$client" snapshot "$name" "$snap"
  fi
}

for s in $SIZES; do
  note "data tree of $s MiB"
  read -r files bytes < <("$tmp/bench-tree" "$tmp/tree-$s" "$s") || die "cannot write the data tree"
  echo "$s MiB: $files files, $bytes bytes" >>"$results/trees"
done

for p in $POOLS; do
  pool=$(pool_name "$p")
  for s in $SIZES; do
    note "$p: instances holding $s MiB (untimed: init, copy the tree in)"
    for side in "${sides[@]}"; do
      name=${prefix}snap-$side
      cl "$side" init bb "$name" -s "$pool" >>"$log" 2>&1 || die "$side: cannot create $name on $pool"
      launched[$side]+=" $name"
      rootfs=${dir[$side]}/storage-pools/$pool/containers/$name/rootfs
      [ -d "$rootfs/sbin" ] || die "$side: $name's rootfs is not at $rootfs"
      cp -a "$tmp/tree-$s" "$rootfs/bench-data" || die "$side: cannot copy the data tree into $name"
      if [ "$SNAP_RUNNING" = 1 ]; then
        cl "$side" start "$name" >>"$log" 2>&1 || die "$side: cannot start $name"
      fi
    done
    settle
    # On dir the reference takes its turn with the clients: a plain copy
    # of the same instance's root, on the same filesystem as both pools.
    takers=("${clients[@]}")
    [ "$p" = dir ] && takers+=(cp)
    src=${dir[${sides[0]}]}/storage-pools/$pool/containers/${prefix}snap-${sides[0]}/rootfs
    note "$p, $s MiB: $SNAP_REPS snapshots per client (${takers[*]})"
    for i in $(seq 1 "$SNAP_REPS"); do
      rotate "$i" "${takers[@]}"
      for client in "${ORDER[@]}"; do
        if [ "$client" = cp ]; then
          "$bt" run 1 cp -a "$src" "$tmp/cp-ref" >>"$results/snap-$p-$s.cp" 2>>"$log" || die "cp -a of the instance failed"
          rm -rf "$tmp/cp-ref"
          settle
          continue
        fi
        side=${client#*-}
        name=${prefix}snap-$side
        snapshot_once "$client" "$name" "s$i-${client%%-*}" "$results/snap-$p-$s.$client" ||
          die "$client: snapshot of $name failed (see the log)"
        cl "$side" delete "$name/s$i-${client%%-*}" >>"$log" 2>&1 || die "$side: cannot delete the snapshot of $name"
        settle
      done
    done
    for side in "${sides[@]}"; do
      cl "$side" delete -f "${prefix}snap-$side" >>"$log" 2>&1 || die "$side: cannot delete ${prefix}snap-$side"
      launched[$side]=
    done
    settle
  done
done

# --- launch from a cached image ------------------------------------------------
# launch_once CLIENT NAME POOL FILE: one timed launch (the API's create +
# start added up).
launch_once() {
  local client=$1 name=$2 pool=$3 file=$4 side=${1#*-} out t_create t_start
  if [ "${client%%-*}" = api ]; then
    out=$("$api" "$(sock "$side")" launch "$name" bb "$pool" 2>>"$log") || return 1
    read -r t_create t_start <<<"$out"
    echo $((t_create + t_start)) >>"$file"
  else
    run_timed "$file" "$client" launch bb "$name" -s "$pool"
  fi
}

for p in $POOLS; do
  pool=$(pool_name "$p")
  note "$p: launch from the cached image, $LAUNCH_REPS per client (${clients[*]})"
  # The first launch on a pool caches the image there (an image volume on
  # btrfs); it is not timed.
  for side in "${sides[@]}"; do
    cl "$side" launch bb "${prefix}warm" -s "$pool" >>"$log" 2>&1 || die "$side: cannot launch on $pool (see the log)"
    cl "$side" delete -f "${prefix}warm" >>"$log" 2>&1 || die "$side: cannot delete ${prefix}warm"
  done
  settle
  for i in $(seq 1 "$LAUNCH_REPS"); do
    rotate "$i" "${clients[@]}"
    for client in "${ORDER[@]}"; do
      side=${client#*-}
      name=${prefix}l-${client%%-*}-$i
      launched[$side]+=" $name"
      launch_once "$client" "$name" "$pool" "$results/launch-$p.$client" ||
        die "$client: launch of $name on $pool failed (see the log)"
      cl "$side" delete -f "$name" >>"$log" 2>&1 || die "$side: cannot delete $name"
      launched[$side]=
      settle
    done
  done
done

# --- image import throughput -----------------------------------------------------
note "image import: packing the $IMPORT_FIXTURE fixture"
"$repo/scripts/pack-image" "$LODGE_TEST_CACHE/$IMPORT_FIXTURE" "$tmp/big.tar.gz" "$IMPORT_FIXTURE" fixture >>"$log" 2>&1 ||
  die "cannot pack the $IMPORT_FIXTURE image"
archive_bytes=$(stat -c %s "$tmp/big.tar.gz")
note "image import: $IMPORT_REPS per daemon of $((archive_bytes / 1000000)) MB, and tar -x of it"
settle
for i in $(seq 1 "$IMPORT_REPS"); do
  rotate "$i" tar "${sides[@]}"
  for who in "${ORDER[@]}"; do
    if [ "$who" = tar ]; then
      mkdir "$tmp/untar"
      "$bt" run 1 tar -xf "$tmp/big.tar.gz" -C "$tmp/untar" >>"$results/import.tar" 2>>"$log" || die "tar -x failed"
      rm -rf "$tmp/untar"
    else
      run_timed "$results/import.$who" "lxc-$who" image import "$tmp/big.tar.gz" --alias big ||
        die "$who: lxc image import of the $IMPORT_FIXTURE image failed (see the log)"
      cl "$who" image delete big >>"$log" 2>&1 || die "$who: cannot delete the imported image"
    fi
    settle
  done
done
for f in "$results"/import.*; do
  awk -v b="$archive_bytes" '{ printf "%.3f\n", b / ($1 / 1e9) / 1e6 }' "$f" >"${f/import./mbps.}"
done

note "stopping the daemons"
for side in "${sides[@]}"; do stop_daemon "$side"; done
"$bt" run 25 true >>"$results/spawn"

# --- report (stats, figure, ratio, below from common.sh) -------------------
print_row() { printf '%-44s %-4s %-26s %-26s %-9s %-26s %-9s %-16s %-4s %s\n' "$@"; }

# row LABEL LODGE_FILE LXD_FILE REF_FILE SCALE UNIT KIND TARGET ISSUE_LXD
# KIND: "lt" (lodge's median under TARGET), "ref" (lodge/reference at most
# TARGET), "-" (no target).
row() {
  local label=$1 lf=$2 xf=$3 rf=$4 scale=$5 unit=$6 kind=$7 target=$8 issue=$9
  local met=- ttext=- ref=- lref=-
  if [ -s "$rf" ]; then
    ref=$(figure "$rf" "$scale")
    lref=$(ratio "$lf" "$rf")
  fi
  case $kind in
    lt)
      ttext="< $target $unit"
      [ -s "$lf" ] && met=$(below "$lf" "$scale" "$target")
      ;;
    ref)
      ttext="lodge/ref <= $target"
      [ "$lref" != - ] && met=$(awk -v r="$lref" -v t="$target" 'BEGIN { print (r <= t ? "yes" : "NO") }')
      ;;
  esac
  print_row "$label" "$unit" "$(figure "$lf" "$scale")" "$(figure "$xf" "$scale")" \
    "$(ratio "$lf" "$xf")" "$ref" "$lref" "$ttext" "$met" "$issue"
}

# size_label MIB: "1 GiB" or "64 MiB".
size_label() { [ $(($1 % 1024)) -eq 0 ] && echo "$(($1 / 1024)) GiB" || echo "$1 MiB"; }

r=$results
echo
echo "lodged vs LXD $lxd_version storage, same machine, same run; median [min-max]; kernel $(uname -r), $(nproc) cpus, load $load_before at the start"
echo "both daemons in a network namespace of their own; btrfs pools on a ${BTRFS_SIZE} GiB loop file each daemon made, dir pools in $scratch_parent ($(findmnt -n -o FSTYPE -T "$scratch_parent"))"
print_row metric unit lodge LXD lodge/LXD reference lodge/ref target met "issue's LXD"
for p in $POOLS; do
  for s in $SIZES; do
    f=$r/snap-$p-$s
    state=stopped
    [ "$SNAP_RUNNING" = 1 ] && state=running
    if [ "$p" = btrfs ]; then
      issue="37 ms"; kind=lt; target=15; cp=
    else
      issue=-; [ "$s" = 1024 ] && issue="2450 ms"; kind=ref; target=1.0; cp=$f.cp
    fi
    row "$p snapshot, $(size_label "$s") ($state), lxc" "$f.lxc-lodge" "$f.lxc-lxd" "$cp" 1e6 ms "$kind" "$target" "$issue"
    row "  lodge snapshot (vs lxc on LXD)" "$f.lodge-lodge" "$f.lxc-lxd" "$cp" 1e6 ms "$kind" "$target" ""
    row "  API: POST snapshots + wait" "$f.api-lodge" "$f.api-lxd" "$cp" 1e6 ms "$kind" "$target" ""
  done
done
for p in $POOLS; do
  if [ "$p" = btrfs ]; then kind=lt; target=50; issue="174 ms"; else kind=-; target=; issue="199 ms"; fi
  f=$r/launch-$p
  row "$p launch busybox, cached image, lxc" "$f.lxc-lodge" "$f.lxc-lxd" "" 1e6 ms "$kind" "$target" "$issue"
  row "  lodge launch (vs lxc on LXD)" "$f.lodge-lodge" "$f.lxc-lxd" "" 1e6 ms "$kind" "$target" ""
  row "  API: create + start" "$f.api-lodge" "$f.api-lxd" "" 1e6 ms "$kind" "$target" ""
done
row "lxc image import $IMPORT_FIXTURE (ref: tar -x)" "$r/import.lodge" "$r/import.lxd" "$r/import.tar" 1e6 ms - "" ""
row "  throughput (archive bytes)" "$r/mbps.lodge" "$r/mbps.lxd" "$r/mbps.tar" 1 MB/s - "" ""
echo
# The issue's second btrfs target: snapshot time hardly grows with the data.
small=$(tr ' ' '\n' <<<"$SIZES" | grep . | sort -n | head -1)
large=$(tr ' ' '\n' <<<"$SIZES" | grep . | sort -n | tail -1)
if [[ " $POOLS " == *" btrfs "* ]] && [ "$small" != "$large" ]; then
  for client in "${clients[@]}"; do
    [ "${client#*-}" = lodge ] && t=" (target < 1.2: $(awk -v r="$(ratio "$r/snap-btrfs-$large.$client" "$r/snap-btrfs-$small.$client")" 'BEGIN { print (r < 1.2 ? "yes" : "NO") }'))" || t=
    echo "btrfs snapshot $(size_label "$large")/$(size_label "$small") ($client): $(ratio "$r/snap-btrfs-$large.$client" "$r/snap-btrfs-$small.$client")$t"
  done
fi
echo "data trees: $(paste -sd';' "$r/trees" | sed 's/;/; /g') (a quarter in 4-64 KiB files, a quarter in 1 MiB files, half in 4 large files)"
echo "import image: $IMPORT_FIXTURE fixture packed by scripts/pack-image, $archive_bytes bytes gzipped; MB/s = archive bytes / time"
read -r sm smin smax <<<"$(stats "$results/spawn" 1e6)"
printf 'client rows (lxc, lodge, cp -a, tar -x): one posix_spawn+wait timed in C (bench-time.c); spawning a no-op (true) costs %.2f ms [%.2f-%.2f] here, inside every such figure. API rows: timed inside one process over the unix socket (bench-api.c). sync before every timed step.\n' "$sm" "$smin" "$smax"
[ $lodge_ok = yes ] || echo "lodge rows SKIPPED: no working lodged under $LODGE_BUILD"
