# shellcheck shell=bash disable=SC2034,SC2154 # sourced: the scripts set and use these
# Pieces the benchmarks share. Sourced by them; each defines note(), die()
# and $log.

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# rmdir a cgroup directory and its children, depth first (never a file).
remove_cgroup_tree() {
  [ -d "$1" ] && find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
  [ ! -d "$1" ] || note "could not remove cgroup $1"
}

# How a run ended, said at cleanup: interrupted (rc > 128), or failed with
# the log's last lines. $2 names what cleanup is about to remove.
report_end() {
  local rc=$1 what=$2
  [ "$rc" -gt 128 ] && note "interrupted; removing its $what"
  if [ "$rc" -ne 0 ] && [ "$rc" -le 128 ] && [ -s "$log" ]; then
    echo "--- last lines of the log ---" >&2
    tail -n 25 "$log" >&2
  fi
  return 0
}

# Unmounts whatever is still mounted under the scratch directory, then
# removes it (never crossing into another filesystem).
remove_scratch() {
  findmnt -rn -o TARGET | grep -F "$1/" | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf --one-file-system "$1"
}

# cleanup (the script's own) runs on every exit; signals exit with 128+N.
set_cleanup_traps() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# --- figures -------------------------------------------------------------------

# stats FILE SCALE: "median min max" of the numbers in FILE divided by SCALE.
stats() {
  sort -n "$1" | awk -v s="$2" '{ v[NR] = $1 / s }
    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}

# figure FILE SCALE: "median [min-max]", or the value alone for one reading;
# "skipped" when there is no such file.
figure() {
  [ -s "$1" ] || { echo skipped; return; }
  local m lo hi
  read -r m lo hi < <(stats "$1" "$2")
  if [ "$(wc -l <"$1")" -eq 1 ]; then printf '%.2f' "$m"; else printf '%.2f [%.2f-%.2f]' "$m" "$lo" "$hi"; fi
}

# ratio A_FILE B_FILE: median of A over median of B ("-" when either is
# missing).
ratio() {
  [ -s "$1" ] && [ -s "$2" ] || { echo -; return; }
  local a b _
  read -r a _ < <(stats "$1" 1)
  read -r b _ < <(stats "$2" 1)
  awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'
}

# below FILE SCALE LIMIT: "yes" when FILE's median is under LIMIT, else "NO".
below() {
  local m _
  read -r m _ < <(stats "$1" "$2")
  awk -v a="$m" -v t="$3" 'BEGIN { print (a < t ? "yes" : "NO") }'
}

# --- lodged and LXD side by side -----------------------------------------------
# The scripts that run both daemons set, before daemons_init: tmp (scratch
# directory), log, LXD_BIN, LODGE_BUILD; then call daemons_init once their
# scratch directory exists (before their cleanup trap is set), and
# compile_bench_tools after it. Everything below keys on a side: lodge or lxd.

# daemon_scratch PARENT PREFIX: the run's scratch directory $tmp under
# PARENT, with $log and $results; container roots (uid 1000000 and up) must
# be able to reach below it.
daemon_scratch() {
  tmp=$(mktemp -d "$1/$2.XXXXXX")
  chmod 755 "$tmp"
  log=$tmp/log
  results=$tmp/results
  mkdir -p "$results"
  : >"$log"
}

# finish_daemon_run WHAT: a daemon benchmark's cleanup, the first command of
# its cleanup(): both daemons stopped, the raw figures kept in $KEEP when
# set, leftovers and the scratch directory removed; WHAT is what the
# end-of-run report says was cleaned up.
finish_daemon_run() {
  local rc=$? side
  set +e
  trap - INT TERM HUP
  report_end "$rc" "$1"
  for side in lodge lxd; do stop_daemon "$side"; done
  if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP" && cp -r "$results/." "$KEEP/" && cp "$log" "$KEEP/log" && note "raw figures kept in $KEEP"
  fi
  remove_daemon_leftovers
  remove_scratch "$tmp"
  exit $rc
}

daemons_init() {
  lodged_bin=$LODGE_BUILD/bin/lodged
  lodge_bin=$LODGE_BUILD/bin/lodge
  lodge_ok=no
  if [ -x "$lodged_bin" ] && "$lodged_bin" --version >/dev/null 2>&1; then
    lodge_ok=yes
  else
    note "no working lodged under $LODGE_BUILD/bin (set LODGE_BUILD): SKIPPING every lodge row; LXD figures only"
  fi
  sides=(lxd)
  [ $lodge_ok = yes ] && sides=(lodge lxd)
  # Everything the clients write (lxc's config.yml, lodge's remotes) stays in
  # the scratch directory, not in root's home.
  export LXD_CONF=$tmp/lxc-conf LODGE_CONF=$tmp/lodge-conf
  declare -gA dir pid launched
  dir[lxd]=$tmp/lxd
  dir[lodge]=$tmp/lodged
  pid[lxd]=
  pid[lodge]=
  launched[lxd]= # side -> names of the containers launched there
  launched[lodge]=
  prefix="bench-$$-"
  # LXC (inside LXD) leaves an empty lxc.pivot cgroup in every hierarchy;
  # remove it at the end only if it was not there before.
  pivot_existed=no
  compgen -G "/sys/fs/cgroup/*/lxc.pivot" >/dev/null && pivot_existed=yes
  return 0
}

# compile_bench_tools: bench-time and bench-api into the scratch directory,
# as $bt and $api.
compile_bench_tools() {
  cc -O2 -o "$tmp/bench-time" "$bench_dir/bench-time.c" 2>>"$log" || die "cannot compile bench-time.c"
  cc -O2 -o "$tmp/bench-api" "$bench_dir/bench-api.c" 2>>"$log" || die "cannot compile bench-api.c"
  bt=$tmp/bench-time
  api=$tmp/bench-api
}

# cl SIDE ARGS...: LXD's own client against SIDE's daemon.
cl() { local side=$1; shift; LXD_DIR=${dir[$side]} lxc "$@"; }
# lg ARGS...: our client against lodged.
lg() { LODGE_DIR=${dir[lodge]} "$lodge_bin" "$@"; }
sock() { echo "${dir[$1]}/unix.socket"; }

# client_cmd CLIENT ARGS...: sets CMD to the command line of CLIENT
# (lxc-lxd, lxc-lodge: LXD's client against that daemon; lodge-lodge: ours)
# with ARGS, for bench-time.
client_cmd() {
  local client=$1
  shift
  case $client in
    lxc-*) CMD=(LXD_DIR="${dir[${client#*-}]}" lxc "$@") ;;
    lodge-lodge) CMD=(LODGE_DIR="${dir[lodge]}" "$lodge_bin" "$@") ;;
  esac
}

# start_daemon SIDE: starts it on its own directory, in a network namespace
# of its own (LXD looks up a public image server at start, which must not
# leave the host; lodged gets the same), and waits until it answers.
start_daemon() {
  local side=$1 d=${dir[$1]} _
  mkdir -p "$d"
  chmod 755 "$d"
  if [ "$side" = lxd ]; then
    LXD_DIR=$d ${LXD_LAUNCH:-unshare -n} "$LXD_BIN" --group root --logfile "$d/lxd.log" </dev/null >>"$log" 2>&1 &
    pid[lxd]=$!
    LXD_DIR=$d "$LXD_BIN" waitready --timeout 30 >>"$log" 2>&1 || die "LXD did not get ready (see the log)"
    # What lodged has from its embedded defaults: a dir pool, the root disk
    # in the default profile, no network.
    cl lxd storage create default dir >>"$log" 2>&1 || die "LXD: cannot create the dir pool"
    cl lxd profile device add default root disk path=/ pool=default >>"$log" 2>&1 ||
      die "LXD: cannot add the root disk to the default profile"
  else
    unshare -n "$lodged_bin" --state-dir "$d" ${LODGED_ARGS:---no-default-network} </dev/null >>"$log" 2>&1 &
    pid[lodge]=$!
    for _ in $(seq 1 300); do
      "$api" "$(sock lodge)" get 1 /1.0 >/dev/null 2>&1 && break
      kill -0 "${pid[lodge]}" 2>/dev/null || die "lodged exited at start (see the log)"
      sleep 0.1
    done
    "$api" "$(sock lodge)" get 1 /1.0 >/dev/null 2>>"$log" || die "lodged did not answer within 30 s"
  fi
}

# stop_daemon SIDE: force-deletes what it launched, asks it to shut down,
# and kills it (by its PID) if it has not gone after 30 s.
stop_daemon() {
  local side=$1 p=${pid[$1]} _
  [ -n "$p" ] || return 0
  if [ -n "${launched[$side]}" ] && kill -0 "$p" 2>/dev/null; then
    # shellcheck disable=SC2086 # a list of names
    timeout 120 env LXD_DIR="${dir[$side]}" lxc delete -f ${launched[$side]} >>"$log" 2>&1 ||
      note "$side: could not delete all of: ${launched[$side]}"
  fi
  launched[$side]=
  if [ "$side" = lxd ]; then
    timeout 60 env LXD_DIR="${dir[lxd]}" "$LXD_BIN" shutdown >>"$log" 2>&1 || true
  else
    kill -TERM "$p" 2>/dev/null || true
  fi
  for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then
    note "$side daemon (pid $p) still there after 30 s: killing it"
    kill -KILL "$p" 2>/dev/null || true
  fi
  wait "$p" 2>/dev/null || true
  pid[$side]=
}

# After both daemons have stopped: any cgroup a container of ours left (a
# daemon killed mid-way), LXC's lxc.pivot if it was not there before, and
# loop devices backed by files in the scratch directory (the btrfs pools'
# images, detached once their mounts are gone).
remove_daemon_leftovers() {
  local d dev file
  for d in /sys/fs/cgroup/*/lxc.payload."$prefix"* /sys/fs/cgroup/*/lxc.monitor."$prefix"* \
    /sys/fs/cgroup/*/lodge/"$prefix"*; do
    [ -d "$d" ] && note "a cgroup was left behind: $d; removing it" && remove_cgroup_tree "$d"
  done
  if [ $pivot_existed = no ]; then
    for d in /sys/fs/cgroup/*/lxc.pivot; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
  fi
  findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | while read -r d; do umount "$d" 2>/dev/null || umount -l "$d"; done
  losetup -n -O NAME,BACK-FILE -l 2>/dev/null | while read -r dev file; do
    case $file in "$tmp"/*) losetup -d "$dev" 2>/dev/null || note "could not free $dev ($file)" ;; esac
  done
}

# pack_busybox_image OUT: an LXD unified tarball of the busybox fixture.
pack_busybox_image() {
  "$bench_dir/../../scripts/pack-image" "$LODGE_TEST_CACHE/busybox" "$1" busybox fixture \
    "busybox (lodge test fixture)" >>"$log" 2>&1 || die "cannot pack the busybox image"
}
