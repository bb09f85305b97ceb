#!/bin/sh
# rauc-install.sh HOST BUNDLE [REMOTE_DIR] - the `install` step of `soak deploy` for a RAUC board
# reached over ssh as root:
#   [device rockpis-1]
#   install = sh /usr/share/doc/soak/examples/rauc-install.sh {host} {bundle}
#   reboot  = ssh root@{host} systemctl reboot
#
# BUNDLE is either a file on this machine (bitbake's tmp/deploy/images/MACHINE/*.raucb): it is
# copied to REMOTE_DIR on the board (default /data: a 256 MB board cannot hold a bundle in a
# RAM-backed /tmp), installed and removed; or an http(s) URL the board can reach, which RAUC
# (1.7 or later, verity bundles) streams without a copy.
#
# ssh hands its command to the board's shell as one string, so nothing taken from the
# arguments reaches it unchecked: the remote file name is fixed and a URL or REMOTE_DIR with
# characters outside [A-Za-z0-9:/._~%?=&+-] is refused. Exit: 0 installed (reboot next),
# 1 the copy or `rauc install` failed (its stderr is what soak deploy shows), 2 usage.
# Env: SSH (default ssh), SCP (default scp), SSH_OPTS (default: BatchMode, 10 s connect timeout; empty: none).
set -u
SSH=${SSH:-ssh}
SCP=${SCP:-scp}
SSH_OPTS=${SSH_OPTS--o BatchMode=yes -o ConnectTimeout=10}
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 HOST BUNDLE [REMOTE_DIR]" >&2; exit 2; }
host=$1
bundle=$2
dir=${3:-/data}
safe() {
    case $1 in
    "" | -* | *[!A-Za-z0-9:/._~%?=\&+-]*) return 1 ;;
    esac
}
safe "$host" || { echo "rauc-install: bad host '$host'" >&2; exit 2; }
case $bundle in
http://* | https://*)
    safe "$bundle" || { echo "rauc-install: refusing URL with unusual characters: $bundle" >&2; exit 2; }
    # shellcheck disable=SC2086 # SSH_OPTS are separate words
    exec $SSH $SSH_OPTS "root@$host" "rauc install '$bundle'"
    ;;
esac
[ -r "$bundle" ] || { echo "rauc-install: cannot read bundle $bundle" >&2; exit 1; }
safe "$dir" || { echo "rauc-install: bad remote directory '$dir'" >&2; exit 2; }
remote="$dir/soak-update.raucb"
# shellcheck disable=SC2086
$SCP $SSH_OPTS -q "$bundle" "root@$host:$remote" || { echo "rauc-install: copy to $host:$remote failed" >&2; exit 1; }
# shellcheck disable=SC2086
$SSH $SSH_OPTS "root@$host" "rauc install '$remote'; rc=\$?; rm -f '$remote'; exit \$rc" ||
    { echo "rauc-install: rauc install on $host failed" >&2; exit 1; }
