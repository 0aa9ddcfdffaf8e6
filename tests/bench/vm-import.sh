#!/usr/bin/env bash
# Benchmarks `lodge image import-vm DISK --alias A` against the manual path
# an admin takes with the same disk: qemu-img convert to raw, a loop device
# per partition (the LVM root put together with dd first), mount read-only,
# cp -a of the guest's tree to a directory on the filesystem lodged's pool
# is on. Time and bytes written, per fixture disk (tests/fixtures/vm-disks.sh).
# Run by hand, never by CI:
#   tests/fixtures/vm-disks.sh && scripts/build lodged lodge && tests/bench/vm-import.sh
# See tests/bench/README.md for what it prints and the knobs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/common.sh
. "$here/common.sh"
# shellcheck source=tests/fixtures/vm-guest.sh
. "$here/../fixtures/vm-guest.sh"
repo=$(cd "$here/../.." && pwd)

REPS=${BENCH_VM_REPS:-3}                    # imports per side and disk
DISKS=${BENCH_VM_DISKS:-"mbr-ext4.raw gpt-xfs.qcow2 btrfs-subvol.vmdk lvm.qcow2 dirty-ext4.qcow2"}
SIDES=${BENCH_VM_SIDES:-"manual lodge"}     # manual alone tests the reference half
KEEP=${BENCH_RESULTS:-}                     # a directory to keep the raw figures and the log in
LODGE_BUILD=${LODGE_BUILD:-$repo/build}
LXD_BIN=${LXD_BIN:-/usr/bin/lxd}            # unused here; common.sh's daemon code names it
LODGE_TEST_CACHE=${LODGE_TEST_CACHE:-/var/cache/lodge-test}
vmdir=$LODGE_TEST_CACHE/vm-disks

die() { echo "vm-import: $*" >&2; exit 1; }
note() { echo "vm-import: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (loop devices, mounts, lodged)"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_VM_REPS must be a positive number, not '$REPS'"
for tool in qemu-img losetup sfdisk jq mcopy cc unshare; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup and scripts/setup-bench"
done
for d in $DISKS; do
  [ -f "$vmdir/$d" ] && [ -f "$vmdir/$d.expect" ] || die "no $vmdir/$d: run tests/fixtures/vm-disks.sh"
done

# --- scratch space, lodged and cleanup -------------------------------------------
scratch_parent=${TMPDIR:-/var/tmp}
need_mib=4096
free_mib=$(($(df -Pk "$scratch_parent" | awk 'NR == 2 { print $4 }') / 1024))
[ "$free_mib" -ge "$need_mib" ] || die "not enough disk space in $scratch_parent: $free_mib MiB free, about $need_mib MiB needed (set TMPDIR elsewhere)"
daemon_scratch "$scratch_parent" bench-vm
cleanup() {
  set +e
  vm_guest_release
  finish_daemon_run "mounts, loop devices, images, lodged and files"
}
daemons_init
set_cleanup_traps
compile_bench_tools
[[ " $SIDES " == *" lodge "* ]] && [ $lodge_ok = yes ] && run_lodge=yes || run_lodge=no
[[ " $SIDES " == *" manual "* ]] && run_manual=yes || run_manual=no

# --- bytes written ------------------------------------------------------------------
# Two figures per import, both read around the timed step (which ends with
# a sync of the scratch filesystem):
# - process: write_bytes of /proc/PID/io (bytes the process and every child
#   it has waited for sent towards storage, charged when they dirty the page
#   cache). The manual path runs in a subshell whose own counters are read
#   (bash's read builtin, no fork); lodge's is lodged's (the client writes
#   nothing). Writes the kernel makes on a process's behalf through a loop
#   device are charged to the loop worker, not the process: neither side
#   writes through a loop device here except an ext4 journal replay.
# - device: sectors written (/sys/class/block/DEV/stat, field 7, x 512) of
#   the block device under the scratch directory: everything, metadata and
#   journal included, but also anything else the machine writes meanwhile.
scratch_dev=$(findmnt -n -o SOURCE -T "$tmp" | sed 's|^/dev/||')
dev_stat=/sys/class/block/$scratch_dev/stat
[ -r "$dev_stat" ] || dev_stat=
dev_written() { if [ -n "$dev_stat" ]; then awk '{ printf "%.0f\n", $7 * 512 }' "$dev_stat"; else echo 0; fi; }
proc_written() { # PID: write_bytes, read without forking
  local k v
  WB=0
  while read -r k v; do
    if [ "$k" = write_bytes: ]; then WB=$v; fi
  done <"/proc/$1/io"
}
now_ns() { date +%s%N; }

# --- the manual path ------------------------------------------------------------------
# manual_import DISK TARGET: what an admin does; the .expect says where the
# filesystems are (the admin reads fstab and the partition table for that).
manual_import() {
  local disk=$1 target=$2 e=$vmdir/$1.expect raw mode
  if [ "$(vm_expect "$e" format)" = raw ]; then
    raw=$vmdir/$disk mode=ro
  else
    raw=$tmp/manual.raw mode=rw
    qemu-img convert -O raw "$vmdir/$disk" "$raw"
  fi
  mkdir -p "$tmp/mnt" "$target"
  vm_guest_mount "$e" "$raw" "$tmp/mnt" "$mode" "$tmp"
  cp -a "$tmp/mnt/." "$target/"
  vm_guest_vfat "$raw" "$target"
  vm_guest_release
  rm -f "$tmp/manual.raw" "$tmp/lv-root.raw"
  sync -f "$target"
}

# One timed manual import in a subshell: "ns process-bytes device-bytes".
manual_timed() {
  (
    set -e
    trap vm_guest_release EXIT
    sync -f "$tmp"
    proc_written "$BASHPID"; p0=$WB; d0=$(dev_written); t0=$(now_ns)
    manual_import "$1" "$2" >>"$log" 2>&1
    t1=$(now_ns); proc_written "$BASHPID"; d1=$(dev_written)
    echo "$((t1 - t0)) $((WB - p0)) $((d1 - d0))"
  )
}

# lodge_timed DISK ALIAS: one timed import-vm: "ns process-bytes device-bytes".
lodge_timed() {
  local t0 t1 p0 d0 d1 rc=0
  sync -f "$tmp"
  proc_written "${pid[lodge]}"; p0=$WB; d0=$(dev_written); t0=$(now_ns)
  LODGE_DIR=${dir[lodge]} "$lodge_bin" image import-vm "$vmdir/$1" --alias "$2" >>"$log" 2>&1 || rc=$?
  sync -f "$tmp"
  t1=$(now_ns); proc_written "${pid[lodge]}"; d1=$(dev_written)
  [ $rc -eq 0 ] || return $rc
  echo "$((t1 - t0)) $((WB - p0)) $((d1 - d0))"
}

# The guest's tree size from the .expect: "entries bytes" summed over mounts.
source_size() {
  awk -F= '$1 ~ /^mount\..*\.entries$/ { n += $2 } $1 ~ /^mount\..*\.bytes$/ { b += $2 } END { printf "%d %.0f\n", n, b }' "$1"
}

# check_tree DIR DISK: the manual copy holds the guest's entries (untimed
# sanity check, lost+found of each ext4 counted).
check_tree() {
  local want got extra
  read -r want _ < <(source_size "$vmdir/$2.expect")
  extra=$(grep -c '\.fs_extra=lost+found$' "$vmdir/$2.expect" || true)
  got=$(find "$1" -mindepth 1 | wc -l)
  [ "$got" -eq $((want + extra * 1)) ] || note "$2: the manual copy has $got entries, the fixture $want (+$extra lost+found, whose contents are empty)"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
note "$(nproc) cpus, load $load_before, kernel $(uname -r); scratch in $tmp ($scratch_dev); $REPS reps"
if [ $run_lodge = yes ]; then
  start_daemon lodge
  proc_written "${pid[lodge]}" # lodged must be readable
else
  [[ " $SIDES " == *" lodge "* ]] && note "no lodged: the import-vm column is skipped"
fi

r=$results
declare -A lodge_broken=()
for rep in $(seq 1 "$REPS"); do
  for d in $DISKS; do
    order="manual lodge"
    [ $((rep % 2)) -eq 0 ] && order="lodge manual"
    for side in $order; do
      if [ "$side" = manual ] && [ $run_manual = yes ]; then
        note "rep $rep: $d, manual path"
        read -r ns pb db < <(manual_timed "$d" "$tmp/manual-target") || die "manual path failed on $d (see the log)"
        check_tree "$tmp/manual-target" "$d"
        echo "$ns" >>"$r/$d.manual.ns"; echo "$pb" >>"$r/$d.manual.proc"; echo "$db" >>"$r/$d.manual.dev"
        rm -rf --one-file-system "$tmp/manual-target"
      elif [ "$side" = lodge ] && [ $run_lodge = yes ] && [ -z "${lodge_broken[$d]:-}" ]; then
        note "rep $rep: $d, lodge image import-vm"
        alias=vmbench-$rep-${d%%.*}
        if out=$(lodge_timed "$d" "$alias"); then
          read -r ns pb db <<<"$out"
          echo "$ns" >>"$r/$d.lodge.ns"; echo "$pb" >>"$r/$d.lodge.proc"; echo "$db" >>"$r/$d.lodge.dev"
          LODGE_DIR=${dir[lodge]} "$lodge_bin" image delete "$alias" >>"$log" 2>&1 || note "could not delete image $alias"
        else
          note "$d: lodge image import-vm failed (exit $?); its column is skipped (see the log)"
          lodge_broken[$d]=1
        fi
      fi
    done
  done
done

# --- the table ------------------------------------------------------------------------
print_row() { printf '%-18s %-15s %-24s %-24s %-9s %-22s %-22s\n' "$@"; }
mb_fig() { [ -s "$1" ] && figure "$1" 1e6 || echo skipped; }
echo
echo "lodge image import-vm vs the manual path (qemu-img convert to raw + loop per partition + mount ro + cp -a), median [min-max] of $REPS"
echo "kernel $(uname -r), $(nproc) cpus, load $load_before at the start; targets in $scratch_parent ($(findmnt -n -o FSTYPE -T "$scratch_parent") on $scratch_dev), lodged's dir pool on the same filesystem"
print_row disk "source" "manual s" "import-vm s" "imp/man" "written MB manual" "written MB import-vm"
for d in $DISKS; do
  read -r n b < <(source_size "$vmdir/$d.expect")
  print_row "$d" "$n/$(awk -v b="$b" 'BEGIN { printf "%.0fMB", b / 1e6 }')" \
    "$(figure "$r/$d.manual.ns" 1e9)" "$(figure "$r/$d.lodge.ns" 1e9)" "$(ratio "$r/$d.lodge.ns" "$r/$d.manual.ns")" \
    "$(mb_fig "$r/$d.manual.proc")" "$(mb_fig "$r/$d.lodge.proc")"
  print_row "" "" "" "" "" "dev $(mb_fig "$r/$d.manual.dev")" "dev $(mb_fig "$r/$d.lodge.dev")"
done
echo
echo "source: entries/bytes of the guest's filesystems (the fixture's .expect). Times include a sync of the target filesystem at the end; sync before each."
echo "written: first line, write_bytes of the process tree (manual: the subshell and its waited children; import-vm: lodged); 'dev': sectors written to $scratch_dev meanwhile (all writers)."
echo "manual path on qcow2/vmdk: qemu-img convert to a raw file first; LVM: the root LV put together from its segments with dd into a file, then looped."
[ $run_lodge = yes ] || echo "import-vm column SKIPPED: no working lodged under $LODGE_BUILD, or BENCH_VM_SIDES without lodge"
