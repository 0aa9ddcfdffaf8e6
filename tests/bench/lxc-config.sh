# shellcheck shell=bash
# LXC's side of the runtime benchmark: a complete container config that
# matches what lodge-runtime gives a container, and the fallback rootfs shift
# for when LXC cannot idmap. Sourced by runtime-vs-lxc.sh.
#
# The config is written from scratch on purpose: it includes neither
# common.conf nor userns.conf, so nothing from common.conf.d (where lxcfs
# drops its mount and post-stop hooks, 0.5 s of sleep at every stop) gets in.
# Each line says which part of lodge's container it mirrors.

# lxc_write_seccomp FILE: lodge's default policy (runtime/security.hpp) in
# LXC's format: the same denied calls on every ABI ([all]: x86_64, i386 and
# x32), and forced umount refused.
lxc_write_seccomp() {
  cat >"$1" <<'EOF'
2
denylist
reject_force_umount
[all]
kexec_load errno 1
kexec_file_load errno 1
open_by_handle_at errno 1
init_module errno 1
finit_module errno 1
delete_module errno 1
EOF
}

# lxc_write_config LXCPATH NAME ROOTFS HALT_SIGNAL SECCOMP_FILE IDMAP(yes|no)
# Writes LXCPATH/NAME/config. IDMAP=no is for a rootfs already shifted to
# 1000000 on disk (lxc_shift_copy).
lxc_write_config() {
  local lxcpath=$1 name=$2 rootfs=$3 halt=$4 seccomp=$5 idmap=$6
  mkdir -p "$lxcpath/$name"
  {
    echo "lxc.uts.name = $name"
    echo "lxc.rootfs.path = dir:$rootfs"
    # lodge presents the rootfs through an idmapped mount; so does LXC 5
    # with idmap=container (open_tree + mount_setattr, as lodge does).
    [ "$idmap" = yes ] && echo "lxc.rootfs.options = idmap=container"
    # Unprivileged, the same range lodge takes by default.
    echo "lxc.idmap = u 0 1000000 65536"
    echo "lxc.idmap = g 0 1000000 65536"
    # No network for either: a bare network namespace.
    echo "lxc.net.0.type = empty"
    # lodge gives the guest a console pty and no ttys (no gettys to start);
    # a private devpts; a fresh /dev with the standard nodes bound in.
    echo "lxc.tty.max = 0"
    echo "lxc.tty.dir ="
    echo "lxc.pty.max = 1024"
    echo "lxc.autodev = 1"
    # lodge's monitor keeps a 128 KiB ring buffer of the console.
    echo "lxc.console.buffer.size = 128k"
    # proc and sys with the dangerous parts read-only, cgroups through a
    # cgroup namespace (LXC always unshares one when the kernel has it).
    echo "lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed"
    # lodge's default capability drops and seccomp policy.
    echo "lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio"
    echo "lxc.seccomp.profile = $seccomp"
    # Neither side uses AppArmor (lodge does not; our hosts have none).
    echo "lxc.apparmor.profile = unconfined"
    echo "lxc.signal.halt = $halt"
    # No hooks at all, whatever a system-wide config might add.
    local hook
    for hook in pre-start pre-mount mount autodev start stop post-stop clone destroy start-host; do
      echo "lxc.hook.$hook ="
    done
  } >"$lxcpath/$name/config"
}

# lxc_idmap_works LXCPATH NAME: starts and kills the container once; true
# when LXC could idmap its rootfs (the container reached RUNNING).
lxc_idmap_works() {
  local ok=1
  lxc_start "$1" "$2" >>"${log:-/dev/null}" 2>&1 && ok=0
  lxc-stop -k -n "$2" -P "$1" >>"${log:-/dev/null}" 2>&1 || true
  return $ok
}

# lxc_start_env: a PATH for lxc-start without newuidmap/newgidmap. With
# them on PATH, LXC hands the id maps to them even when run as root, and
# they refuse any range /etc/subuid does not give root. Without them LXC
# writes /proc/PID/uid_map itself, as lodge does: one step less for LXC, so
# this can only flatter it.
lxc_start_env() {
  local dir out=
  local IFS=:
  for dir in $PATH; do
    [ -x "$dir/newuidmap" ] || [ -x "$dir/newgidmap" ] && continue
    out=${out:+$out:}$dir
  done
  echo "PATH=$out"
}

lxc_start() { # LXCPATH NAME
  env "$(lxc_start_env)" "$(command -v lxc-start)" -d -n "$2" -P "$1"
}

# lxc_shift_copy SRC DST: DST becomes a copy of SRC with every uid/gid N
# turned into 1000000+N (the fallback when LXC cannot idmap: a one-time
# cost, so not part of any figure). chown clears setuid/setgid bits, so they
# are put back. File capabilities are not translated (minbase has none).
lxc_shift_copy() {
  local src=$1 dst=$2 pair u g modes
  cp -a --reflink=auto "$src" "$dst"
  modes=$(mktemp)
  find "$dst" -xdev -type f -perm /6000 -printf '%m\0%p\0' >"$modes"
  find "$dst" -xdev -printf '%U %G\n' | sort -u | while read -r u g; do
    pair="$((u + 1000000)):$((g + 1000000))"
    find "$dst" -xdev -uid "$u" -gid "$g" -print0 | xargs -0r chown -h "$pair"
  done
  local mode path
  while IFS= read -r -d '' mode && IFS= read -r -d '' path; do
    chmod "$mode" "$path"
  done <"$modes"
  rm -f "$modes"
}
