#!/usr/bin/env bash
# run-all.sh -- peer throughput benchmark: sluice beside rsyslog and syslog-ng (Debian 12 packages),
# all receiving the same loggen load of RFC 5424 syslog on loopback, in the same run.
# (`npm run bench` drives this script and writes bench/RESULTS.md; it can also run alone.)
#
# Usage: bash bench/peers/run-all.sh [options]
#   -r, --reps N          repetitions per (receiver, scenario), interleaved           [3]
#   -s, --scenarios LIST  space/comma list from scenarios.sh                           [all]
#   -p, --peers LIST      space/comma list of: rsyslog syslog-ng syslog-ng-tuned sluice node-file node-discard
#                         (a receiver runs a scenario when it has a conf/ file for it;
#                          node-file: tcp only, node-discard: tcp and tls)            [rsyslog syslog-ng syslog-ng-tuned sluice]
#   -t, --target S        target seconds of load per run; the message count of each
#                         (receiver, scenario) is calibrated by one probe run to last about S s [8]
#   -n, --count N         fixed message count for every run (skips calibration)
#       --out-dir DIR     where the results go                       [results/<UTC timestamp>/]
#       --setup MODE      auto: run setup.sh only if a requested peer or loggen is missing and we
#                         are root; yes: always; no: never                            [auto]
#       --max-minutes M   start no new run after M minutes; summarize what ran        [60]
#       --exact-reps      run every scenario --reps times, also those with a max_reps in
#                         scenarios.sh (by default they run min(--reps, max_reps) times)
#       --keep            keep the temp work dir (configs, logs, per-run outputs) under /tmp
#       --list            print the scenarios (TSV: name proto rate output receivers description max_reps
#                         settle_s, the pause before the load for configs with a forwarding hop) and exit
#   -h, --help
# Environment: MSG_SIZE (256), UDP_PACED_RATE (50000 msg/s), QUIET_S (2), POLL_S (0.05),
#              MAX_SEND_S (60, hard bound per loggen run), IDLE_SETTLE_S (1: seconds a receiver sits listening before its idle RSS is read), PROBE_COUNT (300000), PEERS_ROOT
#              (/tmp/peers-root), SLUICE_REPO / SLUICE_BIN (the sluice under test; default this
#              repository's package.json bin), BENCH_SENDER (loggen | sluice-send; default loggen
#              when installed), KEEP_OUTPUT=1 (keep the receivers' output files),
#              PEERS_DISABLE ("rsyslog syslog-ng loggen": act as if missing, to test the fallbacks)
#
# What it does: setup.sh if needed (apt install + unpack, see there), a self-signed certificate
# made with openssl in a temp dir, then for every repetition, scenario and receiver: lib/run-one.sh
# starts the receiver in its foreground mode with the config rendered from conf/ (127.0.0.1,
# ports from lib/common.sh port_for), drives it with loggen (one connection, unthrottled unless
# paced), measures, and stops it by PID. Repetitions are interleaved (rep 1 of everything, then
# rep 2, ...), so that a noisy minute hits all receivers. Into the out dir: runs.tsv (one row per
# run), scenarios.tsv (as --list), env.md (versions, notes), samples.tsv (first output line of each receiver and scenario),
# logs/ (tails of the daemons' logs), and peers.md (the summary, from the compiled
# dist/bench/summary.js when it exists). Writes only under results/ and /tmp.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

REPS=3 SCENARIOS="${SCENARIO_NAMES[*]}" PEERS=$DEFAULT_RECEIVERS
TARGET_S=8 FIXED_COUNT="" OUT_DIR="" SETUP=auto KEEP=0 MAX_MIN=60 LIST=0
PROBE_COUNT=${PROBE_COUNT:-300000}
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    -r|--reps) REPS=$2; shift ;;
    -s|--scenarios) SCENARIOS=${2//,/ }; shift ;;
    -p|--peers) PEERS=${2//,/ }; shift ;;
    -t|--target) TARGET_S=$2; shift ;;
    -n|--count) FIXED_COUNT=$2; shift ;;
    --out-dir) OUT_DIR=$2; shift ;;
    --setup) SETUP=$2; shift ;;
    --no-setup) SETUP=no ;;
    --max-minutes) MAX_MIN=$2; shift ;;
    --keep) KEEP=1 ;;
    --exact-reps) REPS_EXACT=1 ;;
    --list) LIST=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
# shellcheck disable=SC2086
SCENARIOS=$(echo $SCENARIOS) PEERS=$(echo $PEERS)   # normalize spaces
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
[[ "$TARGET_S" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--target must be a number of seconds"
[[ "$MAX_MIN" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--max-minutes must be a number"
for s in $SCENARIOS; do known_scenario "$s" || die "unknown scenario '$s' (known: ${SCENARIO_NAMES[*]})"; done
for p in $PEERS; do receiver_index "$p" >/dev/null || die "unknown receiver '$p' (known: $ALL_RECEIVERS)"; done

if [ "$LIST" = 1 ]; then
  for s in "${SCENARIO_NAMES[@]}"; do
    rs="" settle=0
    for p in $ALL_RECEIVERS; do
      applies "$p" "$s" || continue
      rs+="${rs:+,}$p"
      c=$(conf_for "$p" "$s"); [ -f "$c" ] && grep -q '@PORT2@' "$c" && settle=${FWD_SETTLE_S:-1.5}
    done
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "${SC_PROTO[$s]}" "${SC_RATE[$s]}" "${SC_OUTPUT[$s]}" "$rs" "${SC_DESC[$s]}" "${SC_MAXREPS[$s]:-}" "$settle"
  done
  exit 0
fi

command -v node >/dev/null || die "node is required"
T0=$SECONDS
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT_DIR=${OUT_DIR:-$HERE/results/$STAMP}
mkdir -p "$OUT_DIR/logs"
NOTES=()   # lines for env.md

# ---- peers: present? install if allowed ----
find_peers
missing=()
for p in $PEERS; do receiver_present "$p" || missing+=("$p"); done
[ -z "$LOGGEN" ] && missing+=(loggen)
if [ "$SETUP" = yes ] || { [ "$SETUP" = auto ] && [ ${#missing[@]} -gt 0 ]; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "running setup.sh (missing: ${missing[*]:-none})"
    if bash "$HERE/setup.sh" >&2; then NOTES+=("- setup.sh ran in this run (missing before: ${missing[*]:-none})")
    else NOTES+=("- setup.sh FAILED in this run (missing: ${missing[*]})"); log "setup.sh failed; going on with what is installed"; fi
    find_peers
  else
    NOTES+=("- setup.sh not run: needs root and apt-get (missing: ${missing[*]})")
    log "not root (or no apt-get): cannot install ${missing[*]}"
  fi
fi
run_peers=""
for p in $PEERS; do
  if receiver_present "$p"; then run_peers+="$p "
  else NOTES+=("- **$p not available here: not measured**"); log "$p is not available: skipped"; fi
done
[ -n "$run_peers" ] || die "no receiver available (peers: $PEERS)"
run_peers=${run_peers% }
case "$run_peers:$PEERS" in
  sluice:sluice) ;;
  sluice:*) NOTES+=("- **sluice ran alone**: rsyslog and syslog-ng were not available, so there are no ratios") ;;
esac
[ "$SENDER" = loggen ] || NOTES+=("- **load generator: \`sluice send\`**, loggen was not available: figures are not comparable with loggen runs; tcp-octet-sd carries sluice send's own structured data")
if [[ " $run_peers " == *" sluice "* ]]; then
  sluice_bin >/dev/null || die "sluice is not built: run npm run build (or set SLUICE_BIN / SLUICE_REPO)"
fi

WORK=$(mktemp -d /tmp/sluice-bench.XXXXXX)
finish() { [ "$KEEP" = 1 ] && log "work dir kept: $WORK" || rm -rf "$WORK"; }
trap finish EXIT
trap 'exit 143' TERM INT
bash "$HERE/run-all.sh" --list >"$OUT_DIR/scenarios.tsv"
RUNS=$OUT_DIR/runs.tsv
SAMPLES=$OUT_DIR/samples.tsv
echo "$RUN_COLUMNS" | tr ' ' '\t' >"$RUNS"
printf 'peer\tscenario\tsample\n' >"$SAMPLES"
command -v openssl >/dev/null || die "openssl is required (TLS certificate)"
make_certs "$WORK/tls"
{
  versions
  echo "- machine load at start: loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  [ -s "$PEERS_ROOT/setup-notes.txt" ] && cut -d' ' -f2- "$PEERS_ROOT/setup-notes.txt" | sort -u | sed 's/^/- setup: /'
  for n in "${NOTES[@]}"; do echo "$n"; done
} >"$WORK/env.md"
cat "$WORK/env.md" >&2
# The sluice under test is a snapshot of the built package taken now (dist/src, bin, package.json, build/Release,
# node_modules linked): other people's builds rewriting dist/ during the run cannot change it.
if [[ " $run_peers " == *" sluice "* ]] && [ -z "${SLUICE_BIN:-}" ] && [ "${SLUICE_SNAPSHOT:-1}" = 1 ]; then
  src=${SLUICE_REPO:-$REPO_ROOT}
  if [ -d "$src/dist/src" ] && [ -f "$src/bin/sluice.js" ]; then
    snap=$WORK/sluice-under-test
    mkdir -p "$snap/dist" "$snap/bin"
    cp -r "$src/dist/src" "$snap/dist/src"
    cp "$src/bin/sluice.js" "$snap/bin/"
    cp "$src/package.json" "$snap/"
    [ -f "$src/openssl-sluice.cnf" ] && cp "$src/openssl-sluice.cnf" "$snap/"
    [ -d "$src/build/Release" ] && mkdir -p "$snap/build" && cp -r "$src/build/Release" "$snap/build/"  # the UDP addon
    ln -s "$src/node_modules" "$snap/node_modules"
    export SLUICE_BIN=$snap/bin/sluice.js
    echo "- sluice under test: a copy of $src/dist/src taken at the start of the run (SLUICE_SNAPSHOT=0 runs the live dist/)" >>"$WORK/env.md"
  fi
fi

failure_excerpt() { # run dir -> one line: the daemon's error lines, else its last lines
  local f=$1/daemon.log m
  m=$(grep -m3 -E 'Error|ERROR|error:|FATAL|[Ff]atal|refused|denied' "$f" 2>/dev/null || true)
  [ -n "$m" ] || m=$(tail -3 "$f" 2>/dev/null || true)
  echo "$m" | tr '\n' ' ' | sed 's/`/'"'"'/g' | cut -c1-300
}
over_budget() { awk -v s=$((SECONDS - T0)) -v m="$MAX_MIN" 'BEGIN{exit !(s >= m*60)}'; }
skipped=0
keep_logs() { # peer scen rep
  local rd=$WORK/$1-$2-$3
  [ -f "$rd/daemon.log" ] && tail -200 "$rd/daemon.log" >"$OUT_DIR/logs/$1-$2-$3.daemon.log"
  [ -s "$rd/bad-sample.txt" ] && cp "$rd/bad-sample.txt" "$OUT_DIR/logs/$1-$2-$3.bad-lines.txt"
  [ -s "$rd/loggen.log" ] && tail -5 "$rd/loggen.log" >"$OUT_DIR/logs/$1-$2-$3.sender.log"
  true
}

declare -A COUNT
# ---- calibration: one probe per (receiver, scenario) sets the count for its repetitions ----
for scen in $SCENARIOS; do
  for peer in $run_peers; do
    applies "$peer" "$scen" || continue
    if [ -n "$FIXED_COUNT" ]; then COUNT[$peer:$scen]=$FIXED_COUNT; continue; fi
    if [ "${SC_RATE[$scen]}" != 0 ]; then  # the sender sets the pace: count = rate x target, no probe
      COUNT[$peer:$scen]=$(awk -v r="${SC_RATE[$scen]}" -v t="$TARGET_S" 'BEGIN{print int(r*t)}'); continue
    fi
    if over_budget; then log "time budget used up: no probe for $peer/$scen"; continue; fi
    if ! row=$("$HERE/lib/run-one.sh" "$peer" "$scen" probe "$PROBE_COUNT" "$WORK"); then
      keep_logs "$peer" "$scen" probe
      echo "- **FAILED: $peer/$scen calibration probe** (see logs/$peer-$scen-probe.daemon.log): $(failure_excerpt "$WORK/$peer-$scen-probe")" >>"$WORK/env.md"
      log "probe failed: $peer $scen (skipped)"; continue
    fi
    # count = sent * TARGET / (loggen start -> last write), rounded to 10k, within [100k, 20M]
    c=$(awk -F'\t' -v t="$TARGET_S" '{n=($8>0)?$4*t/$8:$4; n=int(n/10000+0.5)*10000; if(n<100000)n=100000; if(n>20000000)n=20000000; print n}' <<<"$row")
    COUNT[$peer:$scen]=$c
    log "calibrated $peer/$scen: probe $(cut -f9 <<<"$row") msg/s -> $c messages per run"
  done
done

# ---- measured runs, interleaved ----
total=0; for rep in $(seq 1 "$REPS"); do for scen in $SCENARIOS; do for peer in $run_peers; do
  [ "$rep" -le "$(reps_for "$scen")" ] && [ -n "${COUNT[$peer:$scen]:-}" ] && total=$((total + 1)); done; done; done
for scen in $SCENARIOS; do
  r=$(reps_for "$scen")
  [ "$r" -lt "$REPS" ] && echo "- $scen: $r repetition(s), not $REPS (max_reps in scenarios.sh: keeps the default full run under ~25 min; --exact-reps runs all)" >>"$WORK/env.md"
done
i=0
for rep in $(seq 1 "$REPS"); do
  for scen in $SCENARIOS; do
    for peer in $run_peers; do
      [ -n "${COUNT[$peer:$scen]:-}" ] || continue
      [ "$rep" -le "$(reps_for "$scen")" ] || continue
      i=$((i + 1))
      if over_budget; then skipped=$((skipped + 1)); continue; fi
      if ! row=$("$HERE/lib/run-one.sh" "$peer" "$scen" "$rep" "${COUNT[$peer:$scen]}" "$WORK"); then
        keep_logs "$peer" "$scen" "$rep"
        echo "- **FAILED: $peer/$scen rep $rep** (see logs/$peer-$scen-$rep.daemon.log): $(failure_excerpt "$WORK/$peer-$scen-$rep")" >>"$WORK/env.md"
        log "run failed: $peer $scen $rep"; continue
      fi
      echo "$row" >>"$RUNS"
      keep_logs "$peer" "$scen" "$rep"
      if [ "$rep" = 1 ]; then
        printf '%s\t%s\t%s\n' "$peer" "$scen" "$(head -1 "$WORK/$peer-$scen-$rep/sample.txt" 2>/dev/null | tr '\t' ' ' | cut -c1-200)" >>"$SAMPLES"
      fi
      log "[$i/$total] $(awk -F'\t' '{printf "%-15s %-19s rep %s: %8s msg/s  written %s/%s  %ss  idle %d MB  peak rss %d MB  cpu %s%%", $1,$2,$3,$9,$5-$19,$4,$7,$24/1024,$11/1024,$13; if($19>0) printf "  BLANK LINES %d", $19; if($20>0) printf "  BAD-SHAPE LINES %d", $20}' <<<"$row")"
      nsleep 1
    done
  done
done
[ "$skipped" -gt 0 ] && echo "- **time budget (--max-minutes $MAX_MIN) used up: $skipped of $total runs not made**" >>"$WORK/env.md"

# what a default OpenSSL client negotiated with each TLS receiver (probe made before each TLS run)
for f in "$WORK"/*-1/tls-probe.txt; do
  [ -f "$f" ] || continue
  pv=$(sed -n 's/^Protocol version: //p' "$f"); cs=$(sed -n 's/^Ciphersuite: //p' "$f")
  echo "- TLS negotiated by $(basename "$(dirname "$f")" | sed 's/-1$//'): ${pv:-?} ${cs:-?} (openssl s_client probe)"
done >>"$WORK/env.md"
printf -- '- messages per run (calibrated for ~%s s):' "$TARGET_S" >>"$WORK/env.md"
for k in "${!COUNT[@]}"; do printf ' %s=%s' "$k" "${COUNT[$k]}"; done | tr ' ' '\n' | sort | tr '\n' ' ' >>"$WORK/env.md"
echo >>"$WORK/env.md"
echo "- peer harness wall time: $(( (SECONDS - T0) / 60 )) min $(( (SECONDS - T0) % 60 )) s" >>"$WORK/env.md"
cp "$WORK/env.md" "$OUT_DIR/env.md"

SUMMARY=$REPO_ROOT/dist/bench/summary.js
if [ -f "$SUMMARY" ]; then
  node "$SUMMARY" "$OUT_DIR" >"$OUT_DIR/peers.md" && log "wrote $OUT_DIR/peers.md"
else
  log "dist/bench/summary.js not built (npm run build): raw rows only"
fi
log "results in $OUT_DIR (runs.tsv, env.md, samples.tsv, logs/)"
