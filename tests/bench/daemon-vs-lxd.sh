#!/usr/bin/env bash
# Benchmarks lodged against LXD 5.0.2 doing the same work in the same run:
# API latency, listing 1000 instances, launch, exec round trips, daemon and
# per-container memory. Run by hand, never by CI:
#   scripts/setup-bench && scripts/build lodged lodge && tests/bench/daemon-vs-lxd.sh
# See tests/bench/README.md for what it prints and the knobs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/common.sh
. "$here/common.sh"
repo=$(cd "$here/../.." && pwd)

GET_REPS=${BENCH_GET_REPS:-1000}             # GET /1.0 over one connection, per side
INSTANCES=${BENCH_INSTANCES:-1000}           # empty instances defined for the list
LIST_REPS=${BENCH_LIST_REPS:-20}             # GET /1.0/instances?recursion=1 per side
RUNNING=${BENCH_RUNNING:-10}                 # busybox containers launched (and kept running) per side
CLI_LAUNCH_REPS=${BENCH_CLI_LAUNCH_REPS:-5}  # `lxc launch` / `lodge launch` per side
EXEC_REPS=${BENCH_EXEC_REPS:-50}             # exec round trips per client and daemon
SETTLE=${BENCH_SETTLE:-3}                    # seconds of quiet before a memory reading
KEEP=${BENCH_RESULTS:-}                      # a directory to keep the raw figures and the log in
LODGE_BUILD=${LODGE_BUILD:-$repo/build}
LXD_BIN=${LXD_BIN:-/usr/bin/lxd}
LODGE_TEST_CACHE=${LODGE_TEST_CACHE:-/var/cache/lodge-test}

die() { echo "daemon-vs-lxd: $*" >&2; exit 1; }
note() { echo "daemon-vs-lxd: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (both daemons run containers as root)"
[ -x "$LXD_BIN" ] || die "$LXD_BIN not found: run scripts/setup-bench"
for tool in lxc cc unshare; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup-bench"
done
[ -x "$LODGE_TEST_CACHE/busybox/sbin/init" ] || [ -L "$LODGE_TEST_CACHE/busybox/sbin/init" ] ||
  die "fixture $LODGE_TEST_CACHE/busybox missing: run tests/fixtures/busybox.sh"
for knob in GET_REPS INSTANCES LIST_REPS RUNNING CLI_LAUNCH_REPS EXEC_REPS SETTLE; do
  [[ ${!knob} =~ ^[0-9]+$ ]] || die "BENCH_$knob must be a number, not '${!knob}'"
done
[ "$RUNNING" -ge 1 ] || die "BENCH_RUNNING must be at least 1 (exec runs in the first container)"
lxd_version=$("$LXD_BIN" --version)

# --- scratch space and cleanup -------------------------------------------
daemon_scratch "${TMPDIR:-/var/tmp}" bench-daemons
cleanup() { finish_daemon_run "containers, daemons and files"; }
daemons_init
set_cleanup_traps
compile_bench_tools

# What spawning a no-op costs here: it is inside every client round trip on
# both sides, and its spread shows how busy the machine was.
"$bt" run 25 true >"$results/spawn"

# --- the image: an LXD unified tarball of the busybox fixture -------------
pack_busybox_image "$tmp/busybox.tar.gz"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
note "LXD $lxd_version and lodged on the same machine, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
for side in "${sides[@]}"; do start_daemon "$side"; done
# Whether LXD can idmap a container's rootfs here or shifts it on disk at
# first start decides much of its launch figure.
lxd_idmap=$(cl lxd info 2>>"$log" | awk '$1 == "idmapped_mounts:" || $1 == "shiftfs:" { printf "%s%s %s", n++ ? ", " : "", $1, $2 }' || true)
sleep "$SETTLE"
for side in "${sides[@]}"; do
  rss_kib "${pid[$side]}" >"$results/rss-idle.$side"
  # What the idle figure is made of: the binary and libraries mapped in
  # (file) against what the daemon allocated (anon).
  awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } /^RssShmem:/ { s = $2 }
    END { printf "anon %.1f, file %.1f, shmem %.1f MiB", a / 1024, f / 1024, s / 1024 }' \
    "/proc/${pid[$side]}/status" >"$results/rss-idle-split.$side"
done

# --- GET /1.0 ------------------------------------------------------------------
note "GET /1.0: $GET_REPS requests per daemon over one kept-open connection"
for side in "${sides[@]}"; do
  "$api" "$(sock "$side")" get "$GET_REPS" /1.0 >"$results/get.$side" 2>>"$log" || die "$side: GET /1.0 failed"
done

# --- image import --------------------------------------------------------------
# The lodge side of everything that needs the image runs only if lodged
# takes it.
note "importing the busybox image into each daemon"
images=()
for side in "${sides[@]}"; do
  if "$bt" run 1 LXD_DIR="${dir[$side]}" lxc image import "$tmp/busybox.tar.gz" --alias bb \
    >"$results/import.$side" 2>>"$log"; then
    images+=("$side")
  else
    [ "$side" = lxd ] && die "LXD: image import failed (see the log)"
    note "lodged: lxc image import failed: SKIPPING launch, exec and container memory on the lodge side"
    rm -f "$results/import.$side"
  fi
done

# --- launch, running containers' memory, exec ---------------------------------
if [ ${#images[@]} -gt 0 ]; then
  note "launch: $RUNNING busybox containers per daemon through the API (create, start), kept running"
  for side in "${images[@]}"; do rss_kib "${pid[$side]}" >"$results/rss-before-launch.$side"; done
  for i in $(seq 1 "$RUNNING"); do
    order=("${images[@]}")
    # Alternate which side goes first, so drift in the machine's load falls
    # on both alike.
    [ $((i % 2)) -eq 0 ] && [ ${#images[@]} -eq 2 ] && order=(lxd lodge)
    for side in "${order[@]}"; do
      name=${prefix}${side}-$i
      launched[$side]+=" $name"
      out=$("$api" "$(sock "$side")" launch "$name" bb 2>>"$log") || die "$side: cannot launch $name (see the log)"
      read -r t_create t_start <<<"$out"
      echo "$t_create" >>"$results/create.$side"
      echo "$t_start" >>"$results/start.$side"
      echo $((t_create + t_start)) >>"$results/launch.$side"
    done
  done

  # Memory with all of them running: each container's monitor process (the
  # parent of its init) and what the daemon grew by.
  sleep "$SETTLE"
  for side in "${images[@]}"; do
    after=$(rss_kib "${pid[$side]}")
    before=$(cat "$results/rss-before-launch.$side")
    growth=$(((after - before) / RUNNING))
    echo "$growth" >"$results/rss-growth.$side"
    cl "$side" list -f csv -c np "$prefix$side-" >"$results/pids.$side" 2>>"$log" ||
      die "$side: lxc list failed"
    [ "$(wc -l <"$results/pids.$side")" -eq "$RUNNING" ] ||
      die "$side: lxc list shows $(wc -l <"$results/pids.$side") of our $RUNNING containers"
    while IFS=, read -r name init; do
      [[ $init =~ ^[0-9]+$ ]] || die "$side: $name has no init pid ('$init'): not running?"
      mon=$(ps -o ppid= -p "$init" | tr -d ' ')
      cmd=$(tr '\0' ' ' <"/proc/$mon/cmdline")
      if [ "$side" = lxd ]; then
        [[ $cmd == "[lxc monitor]"* ]] || die "lxd: the parent $mon of $name's init is not LXC's monitor: $cmd"
      else
        [[ $cmd == *lodge* ]] || die "lodged: the parent $mon of $name's init is not lodge's monitor: $cmd"
      fi
      m=$(rss_kib "$mon")
      echo "$m" >>"$results/rss-monitor.$side"
      pss_kib "$mon" >>"$results/pss-monitor.$side"
      echo $((m + growth)) >>"$results/rss-container.$side"
    done <"$results/pids.$side"
    echo "$cmd" >"$results/monitor-cmd.$side"
  done

  # exec round trips in the first container of each side: LXD's client
  # against both daemons, our client against lodged, in alternating blocks.
  clients=()
  for client in lxc-lodge lodge-lodge lxc-lxd; do
    side=${client#*-}
    [[ " ${images[*]} " == *" $side "* ]] || continue
    client_cmd "$client" exec "${prefix}${side}-1" -- true
    # One untimed round trip first: it also tells whether this client and
    # daemon can exec at all.
    if "$bt" run 1 "${CMD[@]}" >/dev/null 2>>"$log"; then
      clients+=("$client")
    else
      [ "$side" = lxd ] && die "lxc exec against LXD failed (see the log)"
      note "$client: exec failed: SKIPPING its exec row (see the log)"
    fi
  done
  note "exec: $EXEC_REPS round trips of '-- true' per client and daemon (${clients[*]})"
  left=$EXEC_REPS
  while [ "$left" -gt 0 ]; do
    block=$((left < 10 ? left : 10))
    for client in "${clients[@]}"; do
      side=${client#*-}
      client_cmd "$client" exec "${prefix}${side}-1" -- true
      "$bt" run "$block" "${CMD[@]}" >>"$results/exec-$client" 2>>"$log" || die "$client: exec failed (see the log)"
    done
    left=$((left - block))
  done

  # The same launch through the command-line clients, as a user types it.
  if [ "$CLI_LAUNCH_REPS" -gt 0 ]; then
    note "launch: $CLI_LAUNCH_REPS per client and daemon through 'lxc launch' / 'lodge launch'"
    cli_clients=()
    for client in lxc-lodge lodge-lodge lxc-lxd; do
      side=${client#*-}
      [[ " ${images[*]} " == *" $side "* ]] && cli_clients+=("$client")
    done
    declare -A cli_failed
    for i in $(seq 1 "$CLI_LAUNCH_REPS"); do
      for client in "${cli_clients[@]}"; do
        [ -z "${cli_failed[$client]:-}" ] || continue
        side=${client#*-}
        name=${prefix}${client}-$i
        client_cmd "$client" launch bb "$name"
        launched[$side]+=" $name"
        if ! "$bt" run 1 "${CMD[@]}" >>"$results/cli-launch-$client" 2>>"$log"; then
          [ "$side" = lxd ] && die "lxc launch against LXD failed (see the log)"
          note "$client: launch failed: SKIPPING its row (see the log)"
          rm -f "$results/cli-launch-$client"
          cli_failed[$client]=1
        fi
      done
    done
  fi

  # Gone before the instance list: those instances are to be stopped ones.
  note "deleting the launched containers"
  for side in "${images[@]}"; do
    # shellcheck disable=SC2086 # a list of names
    cl "$side" delete -f ${launched[$side]} >>"$log" 2>&1 || die "$side: cannot delete the launched containers"
    launched[$side]=
  done
fi

# --- 1000 instances ------------------------------------------------------------
note "creating $INSTANCES empty instances per daemon (POST /1.0/instances + wait, one at a time)"
for side in "${sides[@]}"; do
  start_ns=$(date +%s%N)
  "$api" "$(sock "$side")" create "${prefix}e-" 1 "$INSTANCES" >"$results/create-empty.$side" 2>>"$log" ||
    die "$side: creating the empty instances failed (see the log)"
  note "$side: $INSTANCES instances in $((($(date +%s%N) - start_ns) / 1000000)) ms"
done
note "GET /1.0/instances?recursion=1: $LIST_REPS requests per daemon"
for side in "${sides[@]}"; do
  "$api" "$(sock "$side")" get "$LIST_REPS" '/1.0/instances?recursion=1' >"$results/list.$side" 2>>"$log" ||
    die "$side: the instance list failed"
done
sleep "$SETTLE"
for side in "${sides[@]}"; do rss_kib "${pid[$side]}" >"$results/rss-instances.$side"; done
note "stopping the daemons"
for side in "${sides[@]}"; do stop_daemon "$side"; done
"$bt" run 25 true >>"$results/spawn"

# --- report (stats, figure, ratio, below from common.sh) -------------------
print_row() { printf '%-46s %-4s %-24s %-24s %-9s %-11s %-4s %s\n' "$@"; }

# row LABEL LODGE_FILE LXD_FILE SCALE UNIT TARGET ISSUE_LXD
# TARGET: lodge's median must be under it ("" for none).
row() {
  local label=$1 lf=$2 xf=$3 scale=$4 unit=$5 target=$6 ref=$7
  local ratio met=- ttext=-
  ratio=$(ratio "$lf" "$xf")
  if [ -n "$target" ]; then
    ttext="< $target $unit"
    [ -s "$lf" ] && met=$(below "$lf" "$scale" "$target")
  fi
  print_row "$label" "$unit" "$(figure "$lf" "$scale")" \
    "$(figure "$xf" "$scale")" "$ratio" "$ttext" "$met" "$ref"
}

r=$results
echo
echo "lodged vs LXD $lxd_version, same machine, same run; median [min-max]; kernel $(uname -r), $(nproc) cpus, load $load_before at the start"
echo "both daemons in a network namespace of their own, dir storage pool, no network device; busybox image imported into each"
print_row metric unit lodge LXD lodge/LXD target met "issue's LXD"
row "GET /1.0 (x$GET_REPS, one connection)" "$r/get.lodge" "$r/get.lxd" 1e6 ms "" "0.30 ms"
row "GET /1.0/instances?recursion=1 ($INSTANCES defined)" "$r/list.lodge" "$r/list.lxd" 1e6 ms 10 "103 ms"
row "create an empty instance (POST + wait)" "$r/create-empty.lodge" "$r/create-empty.lxd" 1e6 ms "" ""
row "lxc image import busybox" "$r/import.lodge" "$r/import.lxd" 1e6 ms "" ""
row "launch busybox via API: create + start" "$r/launch.lodge" "$r/launch.lxd" 1e6 ms 50 "174 ms (btrfs)"
row "  create from image (POST + wait)" "$r/create.lodge" "$r/create.lxd" 1e6 ms "" ""
row "  start (PUT state + wait)" "$r/start.lodge" "$r/start.lxd" 1e6 ms "" ""
row "lxc launch busybox (client round trip)" "$r/cli-launch-lxc-lodge" "$r/cli-launch-lxc-lxd" 1e6 ms "" ""
row "lodge launch busybox (vs lxc launch on LXD)" "$r/cli-launch-lodge-lodge" "$r/cli-launch-lxc-lxd" 1e6 ms "" ""
row "lxc exec NAME -- true" "$r/exec-lxc-lodge" "$r/exec-lxc-lxd" 1e6 ms "" "38 ms"
row "lodge exec NAME -- true (vs lxc exec on LXD)" "$r/exec-lodge-lodge" "$r/exec-lxc-lxd" 1e6 ms 8 "38 ms"
row "daemon RSS idle" "$r/rss-idle.lodge" "$r/rss-idle.lxd" 1024 MiB 15 "55 MB"
row "daemon RSS with $INSTANCES instances" "$r/rss-instances.lodge" "$r/rss-instances.lxd" 1024 MiB 60 "349 MB"
row "RSS per running container (monitor+growth)" "$r/rss-container.lodge" "$r/rss-container.lxd" 1024 MiB 1 "15 MB"
row "  monitor process RSS" "$r/rss-monitor.lodge" "$r/rss-monitor.lxd" 1024 MiB "" ""
row "  monitor process PSS" "$r/pss-monitor.lodge" "$r/pss-monitor.lxd" 1024 MiB "" ""
row "  daemon RSS growth per running container" "$r/rss-growth.lodge" "$r/rss-growth.lxd" 1024 MiB "" ""
echo
read -r sm smin smax <<<"$(stats "$results/spawn" 1e6)"
printf 'client rows: one posix_spawn+wait of the client, timed in C (bench-time.c); spawning a no-op (true) costs %.2f ms [%.2f-%.2f] here, inside every such figure. API rows: timed inside one process over the unix socket (bench-api.c).\n' "$sm" "$smin" "$smax"
echo "LXD's kernel features here: $lxd_idmap"
echo "memory: VmRSS (and Pss) from /proc; per running container = its monitor process + the daemon's RSS growth from launching $RUNNING, divided by $RUNNING."
for side in "${sides[@]}"; do
  echo "daemon RSS idle ($side): $(cat "$results/rss-idle-split.$side")"
done
for side in "${sides[@]}"; do
  [ -s "$results/monitor-cmd.$side" ] && echo "monitor process ($side): $(awk '{ print $1, $2 }' "$results/monitor-cmd.$side")"
done
[ $lodge_ok = yes ] || echo "lodge rows SKIPPED: no working lodged under $LODGE_BUILD"
