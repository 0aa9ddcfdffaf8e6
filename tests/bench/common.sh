# Pieces both benchmarks use. Sourced by them; each defines note() and $log.

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
