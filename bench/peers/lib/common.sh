# shellcheck shell=bash
# Shared helpers for the peer benchmark. Sourced by run-all.sh and lib/run-one.sh.
# (Vendored from the team's ../shared/bench/peers harness and extended: scenario registry,
#  per-scenario configs, directory outputs, sluice-only fallback.)

PEERS_ROOT=${PEERS_ROOT:-/tmp/peers-root}
CLK_TCK=$(getconf CLK_TCK)
BENCH_PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$BENCH_PEERS_DIR/../.." && pwd)

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- receivers ------------------------------------------------------------
# Order = column order in the results; the index also picks the port block (port_for).
ALL_RECEIVERS="rsyslog syslog-ng syslog-ng-tuned sluice node-file node-discard"
DEFAULT_RECEIVERS="rsyslog syslog-ng syslog-ng-tuned sluice"

receiver_index() {
  local i=0 r
  for r in $ALL_RECEIVERS; do [ "$r" = "$1" ] && { echo $i; return 0; }; i=$((i + 1)); done
  return 1
}

# ---- scenario registry (scenarios.sh) -----------------------------------------
SCENARIO_NAMES=()
declare -A SC_CONF SC_PROTO SC_RATE SC_OUTPUT SC_DESC SC_LOGGEN SC_INDEX SC_MAXREPS
known_scenario() { [ -n "${SC_CONF[$1]:-}" ]; }
scenario() { # NAME CONF PROTO RATE OUTPUT DESCRIPTION -- LOGGEN_FLAGS...
  local name=$1 conf=$2 proto=$3 rate=$4 output=$5 desc=$6
  shift 6
  [ "${1:-}" = -- ] || die "scenarios.sh: '$name': expected -- before the loggen flags"
  shift
  case "$proto" in tcp|tls|udp) ;; *) die "scenarios.sh: '$name': PROTO must be tcp, tls or udp" ;; esac
  case "$output" in file|dir) ;; *) die "scenarios.sh: '$name': OUTPUT must be file or dir" ;; esac
  SC_INDEX[$name]=${#SCENARIO_NAMES[@]}
  SCENARIO_NAMES+=("$name")
  SC_CONF[$name]=$conf SC_PROTO[$name]=$proto SC_RATE[$name]=$rate SC_OUTPUT[$name]=$output SC_DESC[$name]=$desc
  SC_LOGGEN[$name]=$(printf '%q ' "$@")   # re-read with eval "arr=(${SC_LOGGEN[x]})"
}
max_reps() { # NAME N -- at most N repetitions of this scenario (keeps the default full run short)
  known_scenario "$1" || die "scenarios.sh: max_reps: unknown scenario '$1' (put it after the scenario line)"
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "scenarios.sh: max_reps $1: expected a positive integer"
  SC_MAXREPS[$1]=$2
}
# shellcheck source=../scenarios.sh
. "$BENCH_PEERS_DIR/scenarios.sh"

# config template of a receiver for a scenario ("" = the receiver does not take part)
conf_for() { # receiver scenario
  local c=${SC_CONF[$2]} f
  case "$1" in
    sluice) f="$BENCH_PEERS_DIR/conf/sluice-$c.yaml.in" ;;
    rsyslog|syslog-ng|syslog-ng-tuned) f="$BENCH_PEERS_DIR/conf/$1-$c.conf.in" ;;
    node-file) [ "$2" = tcp ] && echo "(builtin)"; return 0 ;;
    node-discard) { [ "$2" = tcp ] || [ "$2" = tls ]; } && echo "(builtin)"; return 0 ;;
    *) return 0 ;;
  esac
  [ -f "$f" ] && echo "$f"
  return 0
}
applies() { [ -n "$(conf_for "$1" "$2")" ]; }

# repetitions of a scenario when REPS are asked: capped by its max_reps unless REPS_EXACT=1
reps_for() { # scenario
  local m=${SC_MAXREPS[$1]:-}
  if [ -n "$m" ] && [ "${REPS_EXACT:-0}" != 1 ] && [ "$m" -lt "$REPS" ]; then echo "$m"; else echo "$REPS"; fi
}

# loopback ports: 15400 + 40 x receiver index + scenario position (+1000 per retry if taken)
port_for() { # receiver scenario [attempt]
  echo $(( 15400 + 40 * $(receiver_index "$1") + ${SC_INDEX[$2]} + 1000 * ${3:-0} ))
}

# ---- locate the peers (apt-installed or unpacked by setup.sh); never fatal -------
# Sets HAVE_RSYSLOG, HAVE_SYSLOGNG, LOGGEN (empty if absent) and SENDER (loggen | sluice-send).
find_peers() {
  HAVE_RSYSLOG=0 HAVE_SYSLOGNG=0 LOGGEN="" SNG_ENV=()
  if command -v rsyslogd >/dev/null 2>&1; then
    RSYSLOGD=$(command -v rsyslogd); RSYSLOG_MODDIR=/usr/lib/x86_64-linux-gnu/rsyslog
  else
    RSYSLOGD=$PEERS_ROOT/rsyslog/usr/sbin/rsyslogd; RSYSLOG_MODDIR=$PEERS_ROOT/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog
  fi
  if command -v syslog-ng >/dev/null 2>&1; then
    SYSLOGNG=$(command -v syslog-ng); LOGGEN=$(command -v loggen || true)
  else
    local r=$PEERS_ROOT/syslog-ng
    SYSLOGNG=$r/usr/sbin/syslog-ng; LOGGEN=$r/usr/bin/loggen
    SNG_ENV=(env "SYSLOGNG_PREFIX=$r/usr" "LD_LIBRARY_PATH=$r/usr/lib/syslog-ng")
  fi
  [ -x "$RSYSLOGD" ] && HAVE_RSYSLOG=1
  [ -x "$SYSLOGNG" ] && HAVE_SYSLOGNG=1
  [ -n "$LOGGEN" ] && [ -x "$LOGGEN" ] || LOGGEN=""
  # PEERS_DISABLE="rsyslog syslog-ng loggen": act as if not installed (to test the fallbacks)
  case " ${PEERS_DISABLE:-} " in *" rsyslog "*) HAVE_RSYSLOG=0 ;; esac
  case " ${PEERS_DISABLE:-} " in *" syslog-ng "*) HAVE_SYSLOGNG=0 ;; esac
  case " ${PEERS_DISABLE:-} " in *" loggen "*) LOGGEN="" ;; esac
  if [ -n "${BENCH_SENDER:-}" ]; then SENDER=$BENCH_SENDER
  elif [ -n "$LOGGEN" ]; then SENDER=loggen
  else SENDER=sluice-send; fi
  [ "$SENDER" = loggen ] && [ -z "$LOGGEN" ] && die "BENCH_SENDER=loggen but loggen is not installed"
  export RSYSLOGD RSYSLOG_MODDIR SYSLOGNG LOGGEN SENDER HAVE_RSYSLOG HAVE_SYSLOGNG
}

# is this receiver runnable here?
receiver_present() {
  case "$1" in
    rsyslog) [ "$HAVE_RSYSLOG" = 1 ] ;;
    syslog-ng|syslog-ng-tuned) [ "$HAVE_SYSLOGNG" = 1 ] ;;
    sluice) [ -n "$(sluice_bin 2>/dev/null)" ] ;;
    node-file|node-discard) command -v node >/dev/null ;;
    *) return 1 ;;
  esac
}

# the project under test: SLUICE_BIN, or the bin of the package.json in SLUICE_REPO (default: this repo)
sluice_bin() {
  if [ -n "${SLUICE_BIN:-}" ]; then echo "$SLUICE_BIN"; return 0; fi
  (cd "${SLUICE_REPO:-$REPO_ROOT}" && node -e 'const b=require("./package.json").bin; const p=require("path").resolve(typeof b==="string"?b:b.sluice); if(!require("fs").existsSync(p)) process.exit(1); console.log(p)')
}

versions() {
  echo "- sluice: $(cd "${SLUICE_REPO:-$REPO_ROOT}" && node -p 'require("./package.json").version' 2>/dev/null || echo '?')," \
    "commit $(git -C "${SLUICE_REPO:-$REPO_ROOT}" rev-parse --short=12 HEAD 2>/dev/null || echo '?')$( [ -n "$(GIT_OPTIONAL_LOCKS=0 git -C "${SLUICE_REPO:-$REPO_ROOT}" status --porcelain --untracked-files=no 2>/dev/null | head -1)" ] && echo ' + uncommitted changes'), $(sluice_bin 2>/dev/null || echo 'not built')"
  if [ "$HAVE_RSYSLOG" = 1 ]; then
    echo "- rsyslog: $("$RSYSLOGD" -v 2>&1 | head -1 | sed 's/ compiled with://') (Debian $(dpkg-deb -f "$(ls -t "$PEERS_ROOT"/debs/rsyslog_*.deb 2>/dev/null | head -1)" Version 2>/dev/null || dpkg-query -W -f='${Version}' rsyslog 2>/dev/null || echo '?'))"
  else echo "- rsyslog: not installed"; fi
  if [ "$HAVE_SYSLOGNG" = 1 ]; then
    echo "- syslog-ng: $("${SNG_ENV[@]}" "$SYSLOGNG" --version 2>&1 | head -1) (Debian $(dpkg-query -W -f='${Version}' syslog-ng-core 2>/dev/null || echo unpacked))"
  else echo "- syslog-ng: not installed"; fi
  if [ "$SENDER" = loggen ]; then
    echo "- load generator: loggen from syslog-ng-core $(dpkg-query -W -f='${Version}' syslog-ng-core 2>/dev/null || echo '(unpacked)'), $LOGGEN"
  else
    echo "- load generator: \`sluice send\` (loggen not installed; figures are not comparable with loggen runs)"
  fi
  echo "- node: $(node --version)"
  echo "- openssl: $(openssl version 2>/dev/null || echo 'not installed')"
  echo "- kernel: $(uname -r); CPUs: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); RAM: $(free -g | awk '/Mem:/{print $2}') GiB"
}

# ---- small utilities -----------------------------------------------------
# sleep without forking (read -t on a never-ready fd)
exec {_SLEEPFD}<> <(:)
nsleep() { read -r -t "$1" -u "$_SLEEPFD" || true; }

now() { echo "$EPOCHREALTIME"; }

# listening sockets from /proc/net (no dependency on ss): tcp in state LISTEN, udp bound
port_listening() { # port proto(tcp|udp)
  local hex st files
  hex=$(printf '%04X' "$1")
  if [ "$2" = udp ]; then files=(/proc/net/udp /proc/net/udp6); st=07; else files=(/proc/net/tcp /proc/net/tcp6); st=0A; fi
  awk -v p=":$hex" -v st="$st" 'FNR>1 && substr($2, length($2)-4)==p && $4==st {f=1} END{exit !f}' "${files[@]}" 2>/dev/null
}
port_free() { ! port_listening "$1" "$2"; }

wait_listen() { # port proto timeout_s
  local end=$(( SECONDS + ${3:-10} ))
  while [ $SECONDS -lt $end ]; do
    port_listening "$1" "$2" && return 0
    nsleep 0.05
  done
  return 1
}

cpu_ticks() { # pid -> utime+stime (clock ticks, all threads)
  [ -r "/proc/$1/stat" ] || { echo 0; return; }
  local s; s=$(<"/proc/$1/stat"); s=${s##*) }
  # after "pid (comm) ": field 3 is state; utime/stime are fields 14/15 -> index 11/12 here
  local a; read -r -a a <<<"$s"; echo $(( a[11] + a[12] ))
}

vm_hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
vm_rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# /proc/stat aggregate: "total steal"
cpu_stat() { awk '/^cpu /{t=0; for(i=2;i<=9;i++) t+=$i; print t, $9}' /proc/stat; }

stop_pid() { # pid [grace_s] -- TERM, then KILL; only the pid we started
  local p=$1 g=${2:-5} end
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  end=$(( SECONDS + g ))
  while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $end ]; do nsleep 0.05; done
  if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  wait "$p" 2>/dev/null || true
}

render() { # template out key=value...
  local t=$1 o=$2; shift 2
  local sedargs=() kv
  for kv in "$@"; do sedargs+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${sedargs[@]}" "$t" >"$o"
  ! grep -q '@[A-Z_0-9]*@' "$o" || die "unfilled placeholder in $o: $(grep -o '@[A-Z_0-9]*@' "$o" | sort -u | tr '\n' ' ')"
}

# columns printed by lib/run-one.sh (TSV, one line per run)
# written = lines in the output (as `wc -l`), blank = empty lines among them,
# bad_shape = non-empty lines not of the expected "<ts> <host> <tag>: <msg>" shape, files = output files,
# sock_rcvbuf = the UDP socket's receive buffer as the kernel reports it (ss -m "rb"; 0 for TCP),
# seq_ok = sequence-number check (lib/run-one.sh)
RUN_COLUMNS="peer scenario rep sent written loss_pct elapsed_s load_s msgs_s mb_s rss_kb cpu_s cpu_pct loggen_cpu_s steal_pct load1 out_bytes udp_rcvbuf_err blank bad_shape files sock_rcvbuf seq_ok idle_rss_kb"

make_certs() { # dir -- self-signed server certificate for 127.0.0.1/localhost (also used as CA file)
  local d=$1; mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$d/server.key" -out "$d/server.pem" >/dev/null 2>&1
  cp "$d/server.pem" "$d/ca.pem"
  chmod 600 "$d/server.key"
}
