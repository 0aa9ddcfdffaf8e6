#!/usr/bin/env bash
# Benchmarks lodge's container runtime against LXC 5.0.2 on the same root
# filesystems in the same run: start, boot to systemd running, clean stop,
# exec round trip, monitor memory. Run by hand, never by CI:
#   scripts/setup-bench && tests/bench/runtime-vs-lxc.sh
# See tests/bench/README.md for what it prints and the knobs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/common.sh
. "$here/common.sh"
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/bench/lxc-config.sh
. "$here/lxc-config.sh"

REPS=${BENCH_REPS:-10}           # start/stop repetitions per side and system
EXEC_REPS=${BENCH_EXEC_REPS:-50} # exec round trips per side
SYSTEMS=${BENCH_SYSTEMS:-"busybox debian"}
BOOT_TIMEOUT=${BENCH_BOOT_TIMEOUT:-60}
LODGE_BUILD=${LODGE_BUILD:-$repo/build}
LODGE_TEST_CACHE=${LODGE_TEST_CACHE:-/var/cache/lodge-test}

die() { echo "runtime-vs-lxc: $*" >&2; exit 1; }
note() { echo "runtime-vs-lxc: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (containers are started by root, as lodged would)"
command -v lxc-start >/dev/null || die "lxc-start not found: run scripts/setup-bench"
command -v cc >/dev/null || die "cc not found: run scripts/setup-bench"
lxc_version="LXC $(lxc-start --version)"
for s in $SYSTEMS; do
  case $s in busybox | debian) ;; *) die "unknown system '$s' in BENCH_SYSTEMS (busybox, debian)" ;; esac
  [ -x "$LODGE_TEST_CACHE/$s/sbin/init" ] || [ -L "$LODGE_TEST_CACHE/$s/sbin/init" ] ||
    die "fixture $LODGE_TEST_CACHE/$s missing: run tests/fixtures/build-all.sh"
done

# The lodge side runs when lodge-runtime is built and answers --help.
lodge_bin=$(find "$LODGE_BUILD" -type f -name lodge-runtime -perm -u+x 2>/dev/null | head -n1 || true)
lodge_ok=no
if [ -n "$lodge_bin" ] && "$lodge_bin" --help >/dev/null 2>&1; then
  lodge_ok=yes
else
  note "lodge-runtime not found or not working under $LODGE_BUILD (set LODGE_BUILD):" \
    "SKIPPING every lodge row; LXC figures only"
fi
sides=(lxc)
[ $lodge_ok = yes ] && sides=(lodge lxc)

# --- scratch space and cleanup -------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/lodge-bench.XXXXXX")
# Container roots (uid 1000000) must be able to reach the rootfs below it.
chmod 755 "$tmp"
lxcpath=$tmp/lxc
rundir=$tmp/run
log=$tmp/log
results=$tmp/results
mkdir -p "$lxcpath" "$rundir" "$results"
: >"$log"
lxc_names=()
lodge_names=()
# LXC leaves an empty lxc.pivot cgroup in every hierarchy; remove it at the
# end only if it was not there before.
pivot_existed=no
compgen -G "/sys/fs/cgroup/*/lxc.pivot" >/dev/null && pivot_existed=yes

cleanup() {
  local rc=$? name d
  set +e
  trap - INT TERM HUP
  report_end "$rc" "containers and files"
  for name in "${lxc_names[@]}"; do
    lxc-stop -k -n "$name" -P "$lxcpath" >/dev/null 2>&1
    # Not lxc-destroy: it would delete the rootfs the config points at.
    rm -rf "${lxcpath:?}/$name"
    for d in /sys/fs/cgroup/*/lxc.payload."$name" /sys/fs/cgroup/*/lxc.monitor."$name"; do
      remove_cgroup_tree "$d"
    done
  done
  if [ $pivot_existed = no ]; then
    for d in /sys/fs/cgroup/*/lxc.pivot; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
  fi
  for name in "${lodge_names[@]}"; do
    if "$lodge_bin" --run-dir "$rundir" state "$name" 2>/dev/null | grep -q '"status":"running"'; then
      "$lodge_bin" --run-dir "$rundir" stop "$name" --force >/dev/null 2>&1
    fi
    "$lodge_bin" --run-dir "$rundir" delete "$name" >/dev/null 2>&1
    for d in /sys/fs/cgroup/*/lodge/"$name"; do
      [ -d "$d" ] && note "lodge left its cgroup $d behind; removing it" && remove_cgroup_tree "$d"
    done
  done
  remove_scratch "$tmp"
  exit $rc
}
set_cleanup_traps

cc -O2 -o "$tmp/bench-time" "$here/bench-time.c" 2>>"$log" || die "cannot compile bench-time.c"
bt=$tmp/bench-time
lxc_start_path=$(lxc_start_env)
lxc_start_bin=$(command -v lxc-start)
lxc_write_seccomp "$tmp/lxc.seccomp"
# What spawning a no-op costs here, before and after the measurements: it is
# inside every figure on both sides, and its spread shows how busy the
# machine was.
"$bt" run 25 true >"$results/spawn"

# --- per side commands ---------------------------------------------------
# side_cmds SIDE NAME: sets START, EXEC (prefix; the command follows) and
# STOP for container NAME of the current system ($rootfs_lodge/$rootfs_lxc,
# $halt).
side_cmds() {
  if [ "$1" = lxc ]; then
    START=("$lxc_start_path" "$lxc_start_bin" -d -n "$2" -P "$lxcpath")
    EXEC=(lxc-attach -n "$2" -P "$lxcpath" --)
    STOP=(lxc-stop -n "$2" -P "$lxcpath")
  else
    START=("$lodge_bin" --run-dir "$rundir" start "$2" --rootfs "$rootfs_lodge" --halt-signal "$halt")
    EXEC=("$lodge_bin" --run-dir "$rundir" exec "$2" --)
    STOP=("$lodge_bin" --run-dir "$rundir" stop "$2" --timeout 30)
  fi
}

# wait_ready SIDE NAME: until the guest is up enough to act on its halt
# signal (busybox: rcS ran, so init's handlers are in place). Not timed.
wait_ready() {
  side_cmds "$1" "$2"
  local _
  for _ in $(seq 1 1000); do
    "${EXEC[@]}" test -e /run/lodge-booted </dev/null >>"$log" 2>&1 && return 0
    sleep 0.01
  done
  die "$1: $2 did not finish booting (no /run/lodge-booted)"
}

# after_stop SIDE NAME: checks the stop was clean and clears lodge's record.
after_stop() {
  if [ "$1" = lodge ]; then
    local st
    st=$("$lodge_bin" --run-dir "$rundir" state "$2")
    echo "$st" | grep -q '"clean":true' || note "lodge: $2 did not stop cleanly: $st"
    "$lodge_bin" --run-dir "$rundir" delete "$2" >>"$log" 2>&1
  else
    lxc-info -n "$2" -P "$lxcpath" -s -H | grep -q STOPPED || die "lxc: $2 still running after lxc-stop"
  fi
}

# one_cycle SIDE NAME SYSTEM KEEP(yes|no): start, boot, stop; appends the
# figures to $results/<metric>.<side> when KEEP=yes (warm-up runs don't).
one_cycle() {
  local side=$1 name=$2 sys=$3 keep=$4 out t_start t_ready state
  side_cmds "$side" "$name"
  if [ "$sys" = debian ]; then
    out=$("$bt" boot "$BOOT_TIMEOUT" "${START[@]}" --- "${EXEC[@]}" systemctl is-system-running --wait 2>>"$log") ||
      die "$side: $name did not boot (see the log)"
    read -r t_start t_ready state _ <<<"$out"
    local failed
    failed=$("${EXEC[@]}" systemctl --failed --no-legend --plain </dev/null 2>>"$log" | wc -l)
    if [ "$keep" = yes ]; then
      echo "$t_ready" >>"$results/boot-debian.$side"
      echo "$failed" >>"$results/failed-debian.$side"
      echo "$state" >>"$results/state-debian.$side"
    fi
  else
    t_start=$("$bt" run 1 "${START[@]}" 2>>"$log") || die "$side: $name did not start (see the log)"
    wait_ready "$side" "$name"
  fi
  [ "$keep" = yes ] && echo "$t_start" >>"$results/start-$sys.$side"
  local t_stop
  t_stop=$("$bt" run 1 "${STOP[@]}" 2>>"$log") || die "$side: $name did not stop (see the log)"
  [ "$keep" = yes ] && echo "$t_stop" >>"$results/stop-$sys.$side"
  after_stop "$side" "$name"
}

container_name() { echo "lbench-$$-$1-$2"; } # SYSTEM SIDE

prepare_system() { # SYSTEM: copies the fixture, writes LXC's config
  local sys=$1 n
  rootfs_lodge=$tmp/rootfs-$sys
  cp -a --reflink=auto "$LODGE_TEST_CACHE/$sys" "$rootfs_lodge"
  # The guest's unprivileged users (dbus) must be able to enter /: fixtures
  # built from a mktemp -d directory once had a 0700 root.
  chmod 755 "$rootfs_lodge"
  rootfs_lxc=$rootfs_lodge
  if [ "$sys" = busybox ]; then halt=SIGUSR1; else halt=SIGRTMIN+3; fi
  n=$(container_name "$sys" lxc)
  lxc_names+=("$n")
  lxc_write_config "$lxcpath" "$n" "$rootfs_lxc" "$halt" "$tmp/lxc.seccomp" yes
  if ! lxc_idmap_works "$lxcpath" "$n"; then
    note "LXC cannot idmap $sys's rootfs here: giving it its own copy shifted to 1000000 (not timed)"
    rootfs_lxc=$tmp/rootfs-$sys-lxc
    lxc_shift_copy "$LODGE_TEST_CACHE/$sys" "$rootfs_lxc"
    chmod 755 "$rootfs_lxc"
    lxc_write_config "$lxcpath" "$n" "$rootfs_lxc" "$halt" "$tmp/lxc.seccomp" no
    lxc_idmap_works "$lxcpath" "$n" || die "LXC cannot start $sys even on a shifted rootfs (see the log)"
    echo "$sys" >>"$results/lxc-shifted"
  fi
  [ $lodge_ok = yes ] && lodge_names+=("$(container_name "$sys" lodge)")
  return 0
}

# --- measurements ----------------------------------------------------------
echo "lodge runtime vs $lxc_version — $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)" >&2

for sys in $SYSTEMS; do
  prepare_system "$sys"
  note "$sys: warm-up (one untimed cycle per side), then $REPS timed cycles per side"
  for side in "${sides[@]}"; do one_cycle "$side" "$(container_name "$sys" "$side")" "$sys" no; done
  for r in $(seq 1 "$REPS"); do
    # Alternate which side goes first, so drift in the machine's load falls
    # on both alike.
    order=("${sides[@]}")
    [ $((r % 2)) -eq 0 ] && [ ${#sides[@]} -eq 2 ] && order=(lxc lodge)
    for side in "${order[@]}"; do one_cycle "$side" "$(container_name "$sys" "$side")" "$sys" yes; done
  done
done

# exec round trips and monitor memory: one busybox container per side, both
# running, exec'd into in alternating blocks of 10.
note "exec: $EXEC_REPS round trips per side; monitor memory"
sys=busybox
[ -d "$tmp/rootfs-busybox" ] || prepare_system busybox
rootfs_lodge=$tmp/rootfs-busybox
halt=SIGUSR1
for side in "${sides[@]}"; do
  side_cmds "$side" "$(container_name busybox "$side")"
  env "${START[@]}" </dev/null >>"$log" 2>&1 || die "$side: cannot start the exec container"
  wait_ready "$side" "$(container_name busybox "$side")"
done
left=$EXEC_REPS
while [ "$left" -gt 0 ]; do
  block=$((left < 10 ? left : 10))
  for side in "${sides[@]}"; do
    side_cmds "$side" "$(container_name busybox "$side")"
    "$bt" run "$block" "${EXEC[@]}" true >>"$results/exec.$side" 2>>"$log" || die "$side: exec failed (see the log)"
  done
  left=$((left - block))
done
# The same after a quiet second: on a v1 host the first move into a cgroup
# after a lull waits for an RCU grace period, which back-to-back round trips
# never see. This is what an admin typing one command meets.
COLD_REPS=${BENCH_COLD_REPS:-8}
note "exec after 1 s idle: $COLD_REPS round trips per side"
for ((i = 0; i < COLD_REPS; i++)); do
  for side in "${sides[@]}"; do
    sleep 1
    side_cmds "$side" "$(container_name busybox "$side")"
    "$bt" run 1 "${EXEC[@]}" true >>"$results/exec-cold.$side" 2>>"$log" || die "$side: exec failed (see the log)"
  done
done
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
for side in "${sides[@]}"; do
  name=$(container_name busybox "$side")
  if [ "$side" = lxc ]; then
    init=$(lxc-info -n "$name" -P "$lxcpath" -p -H)
    mon=$(ps -o ppid= -p "$init" | tr -d ' ')
    grep -q '^\[lxc monitor\]' "/proc/$mon/cmdline" || die "lxc: parent $mon of init $init is not LXC's monitor"
  else
    mon=$("$lodge_bin" --run-dir "$rundir" state "$name" | grep -o '"monitor_pid":[0-9]*' | cut -d: -f2)
    [ -n "$mon" ] || die "lodge: no monitor_pid in the state of $name"
  fi
  rss_kib "$mon" >"$results/rss.$side"
  side_cmds "$side" "$name"
  "${STOP[@]}" </dev/null >>"$log" 2>&1 || die "$side: cannot stop the exec container"
  after_stop "$side" "$name"
done
"$bt" run 25 true >>"$results/spawn"

# --- report (stats from common.sh) ------------------------------------------

# row LABEL METRIC SCALE UNIT TARGET_OP TARGET TARGET_TEXT ISSUE_LXC
# TARGET_OP: "lt" (lodge median under TARGET), "ratio" (lodge/LXC at most
# TARGET), "-" (no target).
row() {
  local label=$1 metric=$2 scale=$3 unit=$4 op=$5 target=$6 ttext=$7 ref=$8
  local lo=- lx=- ratio=- met=-
  local lm='' xm=''
  if [ -s "$results/$metric.lxc" ]; then
    read -r xm xmin xmax < <(stats "$results/$metric.lxc" "$scale")
    lx=$(printf '%.2f [%.2f-%.2f]' "$xm" "$xmin" "$xmax")
  fi
  if [ -s "$results/$metric.lodge" ]; then
    read -r lm lmin lmax < <(stats "$results/$metric.lodge" "$scale")
    lo=$(printf '%.2f [%.2f-%.2f]' "$lm" "$lmin" "$lmax")
    [ -n "$xm" ] && ratio=$(awk -v a="$lm" -v b="$xm" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    case $op in
      lt) met=$(awk -v a="$lm" -v t="$target" 'BEGIN { print (a < t ? "yes" : "NO") }') ;;
      ratio) [ "$ratio" != - ] && met=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r <= t ? "yes" : "NO") }') ;;
    esac
  elif [ $lodge_ok = no ]; then
    lo=skipped
  fi
  printf '%-30s %-5s %-28s %-28s %-9s %-13s %-4s %s\n' "$label" "$unit" "$lo" "$lx" "$ratio" "$ttext" "$met" "$ref"
}

failed_row() { # side -> "0 (all runs)" or the per-run counts
  local f=$results/failed-debian.$1
  [ -s "$f" ] || { echo -; return; }
  if [ "$(sort -u "$f" | wc -l)" -eq 1 ]; then echo "$(head -n1 "$f") (all runs)"; else tr '\n' ' ' <"$f"; fi
}

echo
echo "lodge-runtime vs $lxc_version on the same root filesystems; median [min-max]"
echo "$REPS cycles per side and system for start/stop/boot, $EXEC_REPS exec round trips; kernel $(uname -r), $(nproc) cpus"
printf '%-30s %-5s %-28s %-28s %-9s %-13s %-4s %s\n' metric unit lodge "LXC" lodge/LXC target met "issue's LXC"
for sys in $SYSTEMS; do
  if [ "$sys" = busybox ]; then
    row "start -> init exec'd (busybox)" start-busybox 1e6 ms lt 4 "< 4 ms" "12.8 ms"
  else
    row "start -> init exec'd (debian)" start-debian 1e6 ms lt 4 "< 4 ms" "12.8 ms"
    row "start -> systemd running" boot-debian 1e6 ms ratio 1.0 "ratio <= 1.0" ""
  fi
done
for sys in $SYSTEMS; do row "clean stop ($sys)" "stop-$sys" 1e6 ms - 0 "" ""; done
row "exec round trip (busybox)" exec 1e6 ms lt 3 "< 3 ms" "7 ms"
row "exec after 1 s idle (busybox)" exec-cold 1e6 ms - 0 "" ""
row "monitor RSS (busybox)" rss 1024 MiB lt 1 "< 1 MiB" "3.2 MiB"
echo
if [[ " $SYSTEMS " == *" debian "* ]]; then
  lodge_failed=skipped
  [ $lodge_ok = yes ] && lodge_failed=$(failed_row lodge)
  echo "failed units once running (debian): lodge $lodge_failed; LXC $(failed_row lxc)"
  for side in "${sides[@]}"; do
    states=$(sort "$results/state-debian.$side" | uniq -c | awk '{ printf "%s%s x%s", n++ ? ", " : "", $2, $1 }')
    echo "systemd state reached ($side): $states"
  done
fi
read -r sm smin smax <<<"$(stats "$results/spawn" 1e6)"
printf 'timing: each figure is one posix_spawn+wait measured in C (bench-time.c); spawning a no-op (true) costs %.2f ms [%.2f-%.2f] here, included on both sides.\n' "$sm" "$smin" "$smax"
echo "start -> systemd running: from the start call until 'systemctl is-system-running --wait' run through exec/lxc-attach answers (polled every 2 ms until systemd's socket is up)."
if [ -s "$results/lxc-shifted" ]; then
  echo "LXC could not idmap here and ran on its own rootfs copy shifted on disk: $(tr '\n' ' ' <"$results/lxc-shifted")"
fi
[ $lodge_ok = yes ] || echo "lodge rows SKIPPED: no working lodge-runtime under $LODGE_BUILD"
