# shellcheck shell=sh
# Shared by t-010 and t-011: run every default collector on a root and print the
# exposition. Uses `soakd --root DIR --once`; while soakd cannot do that yet, the
# tests-only driver tests/unit/agent/collect-root runs the same collectors.
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"

soak_collect() {
    _root=$1
    _soakd="$SOAK_BUILD/src/agent/soakd"
    if [ -x "$_soakd" ] &&
        "$_soakd" --root "$_root" --once >"$_root.out.$$" 2>/dev/null; then
        cat "$_root.out.$$"
        rm -f "$_root.out.$$"
        return 0
    fi
    rm -f "$_root.out.$$"
    echo "# soakd --once unavailable: using collect-root" >&2
    "$SOAK_BUILD/tests/unit/agent/collect-root" "$_root" 2>/dev/null
}

# Drop what changes from run to run: wall time, the agent's own process and
# timing metrics.
soak_stable() {
    _volatile='node_time_seconds|process_|soak_collector_duration|soak_scrape_|soakd_'
    grep -Ev "^(# (HELP|TYPE) )?($_volatile)"
}
