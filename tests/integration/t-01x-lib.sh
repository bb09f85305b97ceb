# shellcheck shell=sh
# Shared by t-010 and t-011: run every default collector on a root and print the
# exposition, the way users and the simulator do: `soakd --root DIR --once`.
: "${SOAK_BUILD:?}" "${SOAK_SRC:?}"

soak_collect() {
    "$SOAK_BUILD/src/agent/soakd" --root "$1" --once 2>/dev/null
}

# Drop what changes from run to run: wall time, the agent's own process and
# timing metrics.
soak_stable() {
    _volatile='node_time_seconds|process_|soak_collector_duration|soak_scrape_|soakd_'
    grep -Ev "^(# (HELP|TYPE) )?($_volatile)"
}
