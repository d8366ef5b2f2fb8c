# Phase timing, sourced by scripts/test.sh and .ci/run. `phase NAME COMMAND...` runs COMMAND
# (a program or a shell function) with errexit on, and appends how long it took, and whether it
# failed, to $PHASE_LOG; `phase_report` prints that table.
: "${PHASE_LOG:=$PWD/target/phases.log}"
export PHASE_LOG
mkdir -p "$(dirname "$PHASE_LOG")"

phase() {
  local name=$1 start=$SECONDS status=0
  shift
  # The subshell keeps errexit on inside COMMAND; `cmd || status=$?` would switch it off there.
  set +e
  (set -e; "$@")
  status=$?
  set -e
  local outcome=""
  [ "$status" -eq 0 ] || outcome=" (failed, exit $status)"
  printf '%-44s %5ds%s\n' "$name" $((SECONDS - start)) "$outcome" >>"$PHASE_LOG"
  return "$status"
}

phase_report() {
  [ -s "$PHASE_LOG" ] || return 0
  echo "phase times (wall clock; phases marked & ran beside the ones after them):"
  cat "$PHASE_LOG"
}
