#!/bin/sh
# The farm's scripts, against stand-ins for what they drive:
# - contrib/bisect/soak-bisect-run.sh with a fake `soak` (leak --json answers from a state
#   file the fake deploy command advances; judge answers a chosen exit code): skip on a failed
#   build or deploy or a board that never boots, judge's verdict passed through with the new
#   build, SOAK_COMMIT given to the build, a reused build label aborting the bisection.
# - contrib/deploy/rauc-install.sh with fake ssh/scp: a local bundle is copied then installed,
#   a URL is streamed, a URL that would reach the board's shell is refused.
set -u
: "${SOAK_SRC:?}"
. "$SOAK_SRC/tests/lib/tap.sh"
tap_workdir t095
command -v jq >/dev/null 2>&1 || skip_all "jq is missing (the bisect script needs it)"
command -v git >/dev/null 2>&1 || skip_all "git is missing"
BISECT="$SOAK_SRC/contrib/bisect/soak-bisect-run.sh"
RAUC="$SOAK_SRC/contrib/deploy/rauc-install.sh"
S="$WORK/state"
mkdir -p "$S" "$WORK/repo"

# The fake soak: `leak --json` prints $S/segments; `judge ARGS` logs them, exits $S/judge_rc.
cat >"$WORK/soak" <<'EOF'
#!/bin/sh
case $1 in
leak) printf '{"device":"b","segments":[%s]}\n' "$(cat "$STATE/segments")" ;;
judge) shift; echo "$*" >>"$STATE/judge.log"; exit "$(cat "$STATE/judge_rc")" ;;
*) exit 2 ;;
esac
EOF
# The fake deploy: the board "boots" the build labelled by $1 with $SOAK_COMMIT in it.
cat >"$WORK/boot" <<'EOF'
#!/bin/sh
printf '%s,{"build":"%s","boot_time":%s}' "$(cat "$STATE/segments")" "$1" "$(date +%s)" >"$STATE/segments.new"
mv "$STATE/segments.new" "$STATE/segments"
EOF
chmod +x "$WORK/soak" "$WORK/boot"
(cd "$WORK/repo" && git init -q && git -c user.email=t@t -c user.name=t commit -q --allow-empty -m one) ||
    skip_all "cannot make a git repository"
COMMIT=$(cd "$WORK/repo" && git rev-parse --short=12 HEAD)

# step BUILD_CMD DEPLOY_CMD JUDGE_RC: one `git bisect run` step; sets rc, output in $WORK/out.
step() {
    printf '{"build":"6.12.55-yocto-standard good","boot_time":1000}' >"$S/segments"
    echo "$3" >"$S/judge_rc"
    : >"$S/judge.log"
    (cd "$WORK/repo" && STATE=$S SOAK="$WORK/soak" SOAK_DB=sqlite:/nonexistent SOAK_DEVICE=b \
        SOAK_HOURS=6 SOAK_POLL=1 SOAK_BOOT_TIMEOUT=3 SOAK_BUILD_CMD="$1" SOAK_DEPLOY_CMD="$2" \
        sh "$BISECT") >"$WORK/out" 2>&1
    rc=$?
}
DEPLOY="\"$WORK/boot\" \"6.17.0-yocto-standard bisect-\$SOAK_COMMIT\""

step "echo \$SOAK_COMMIT >$WORK/built" "$DEPLOY" 1
if [ $rc -eq 1 ] && grep -q -- "--build 6.17.0-yocto-standard bisect-$COMMIT --hours 6" "$S/judge.log"; then
    ok "bisect: the new boot's build is judged and judge's 'bad' (1) is the step's result"
else
    not_ok "bisect: judge bad" "exit $rc" "$(cat "$WORK/out" "$S/judge.log")"
fi
[ "$(cat "$WORK/built" 2>/dev/null)" = "$COMMIT" ] && ok "bisect: SOAK_COMMIT is the checked-out commit ($COMMIT)" ||
    not_ok "bisect: SOAK_COMMIT exported" "got '$(cat "$WORK/built" 2>/dev/null)', want $COMMIT"

step true "$DEPLOY" 0
[ $rc -eq 0 ] && ok "bisect: judge's 'good' (0) is the step's result" || not_ok "bisect: judge good" "exit $rc" "$(cat "$WORK/out")"

step false "$DEPLOY" 1
if [ $rc -eq 125 ] && [ ! -s "$S/judge.log" ] && grep -q "build failed" "$WORK/out"; then
    ok "bisect: a failed build skips the commit (125) without judging"
else
    not_ok "bisect: failed build skips" "exit $rc" "$(cat "$WORK/out")"
fi

step true false 1
if [ $rc -eq 125 ] && [ ! -s "$S/judge.log" ] && grep -q "deploy failed" "$WORK/out"; then
    ok "bisect: a failed deploy (soak deploy exit 1: never back, old build) skips the commit"
else
    not_ok "bisect: failed deploy skips" "exit $rc" "$(cat "$WORK/out")"
fi

step true true 1
if [ $rc -eq 125 ] && grep -q "no new boot" "$WORK/out"; then
    ok "bisect: no new boot in the store within SOAK_BOOT_TIMEOUT skips the commit"
else
    not_ok "bisect: no new boot skips" "exit $rc" "$(cat "$WORK/out")"
fi

step true "\"$WORK/boot\" \"6.12.55-yocto-standard good\"" 0
if [ $rc -eq 128 ] && [ ! -s "$S/judge.log" ] && grep -q "already had in an earlier boot" "$WORK/out"; then
    ok "bisect: a build label seen in an earlier boot aborts (128) instead of judging old data"
else
    not_ok "bisect: reused label aborts" "exit $rc" "$(cat "$WORK/out" "$S/judge.log")"
fi

step true "$DEPLOY" 128
[ $rc -eq 128 ] && ok "bisect: a judge usage or store error stops the bisection (128)" ||
    not_ok "bisect: judge error" "exit $rc" "$(cat "$WORK/out")"

# rauc-install.sh with fake ssh and scp that log their arguments.
printf '#!/bin/sh\necho "ssh $*" >>"%s/ssh.log"\n[ -z "${SSH_FAIL:-}" ] || { echo "rauc: Installation error: bad signature" >&2; exit 1; }\n' "$WORK" >"$WORK/ssh"
printf '#!/bin/sh\necho "scp $*" >>"%s/ssh.log"\n' "$WORK" >"$WORK/scp"
chmod +x "$WORK/ssh" "$WORK/scp"
echo bundle >"$WORK/update.raucb"
rauc() { : >"$WORK/ssh.log"; SSH="$WORK/ssh" SCP="$WORK/scp" SSH_OPTS= sh "$RAUC" "$@" >"$WORK/out" 2>&1; rc=$?; }

rauc 10.0.0.21 "$WORK/update.raucb"
if [ $rc -eq 0 ] && sed -n 1p "$WORK/ssh.log" | grep -q "^scp -q $WORK/update.raucb root@10.0.0.21:/data/soak-update.raucb$" &&
    sed -n 2p "$WORK/ssh.log" | grep -q "^ssh root@10.0.0.21 rauc install '/data/soak-update.raucb'; rc=\$?; rm -f '/data/soak-update.raucb'"; then
    ok "rauc-install: a local bundle is copied to /data, installed and removed"
else
    not_ok "rauc-install: local bundle" "exit $rc" "$(cat "$WORK/ssh.log" "$WORK/out")"
fi
rauc 10.0.0.21 http://farm:8080/update-bundle-rockpi-s.raucb
if [ $rc -eq 0 ] && [ "$(cat "$WORK/ssh.log")" = "ssh root@10.0.0.21 rauc install 'http://farm:8080/update-bundle-rockpi-s.raucb'" ]; then
    ok "rauc-install: a URL is streamed by rauc install, nothing copied"
else
    not_ok "rauc-install: URL" "exit $rc" "$(cat "$WORK/ssh.log" "$WORK/out")"
fi
rauc 10.0.0.21 "http://farm/x.raucb';reboot;'"
if [ $rc -eq 2 ] && [ ! -s "$WORK/ssh.log" ]; then
    ok "rauc-install: a URL with shell characters is refused before ssh (exit 2)"
else
    not_ok "rauc-install: shell characters refused" "exit $rc" "$(cat "$WORK/ssh.log")"
fi
export SSH_FAIL=1
rauc 10.0.0.21 "$WORK/update.raucb"
unset SSH_FAIL
if [ $rc -eq 1 ] && grep -q "bad signature" "$WORK/out"; then
    ok "rauc-install: a failing rauc install exits 1 with RAUC's message (what soak deploy shows)"
else
    not_ok "rauc-install: failure" "exit $rc" "$(cat "$WORK/out")"
fi
done_testing
