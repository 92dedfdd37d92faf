#!/usr/bin/env bash
# setup.sh -- make rsyslog, syslog-ng and loggen available for the peer benchmark.
#
# Debian packages rsyslog and syslog-ng-core CONFLICT with each other (both
# "Provides/Conflicts: system-log-daemon"), so apt can install only one of them.
# This script installs ONE through apt and unpacks the OTHER's .deb (fetched with
# `apt-get download`, i.e. the ordinary apt client) into $PEERS_ROOT (default
# /tmp/peers-root), from where the harness runs it with its module directory set
# explicitly.  Nothing under /etc is edited by this script.
#
#   - syslog-ng-core is preferred for apt (it ships loggen, the load generator);
#   - if rsyslog is already apt-installed (e.g. by the project's CI), syslog-ng-core
#     is unpacked instead and run relocated (SYSLOGNG_PREFIX + LD_LIBRARY_PATH).
#
# If an apt install starts a system daemon, only that process is stopped, by PID,
# and the fact is printed (and appended to $PEERS_ROOT/setup-notes.txt).
#
# Usage: bash bench/peers/setup.sh   (needs root, Debian 12; `npm run bench` and run-all.sh run it
#        only when a peer or loggen is missing and they are root)
#        SKIP_APT_UPDATE=1 bash setup.sh
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "[setup] needs root (apt-get install)" >&2; exit 1; }
PEERS_ROOT=${PEERS_ROOT:-/tmp/peers-root}
mkdir -p "$PEERS_ROOT/debs"
NOTES="$PEERS_ROOT/setup-notes.txt"
note() { echo "[setup] $*"; echo "$(date -u +%FT%TZ) $*" >>"$NOTES"; }

export DEBIAN_FRONTEND=noninteractive
if [ -z "${SKIP_APT_UPDATE:-}" ] && [ ! -e "$PEERS_ROOT/.apt-updated" ]; then
  apt-get update -q >/dev/null && touch "$PEERS_ROOT/.apt-updated"
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# PIDs of system log daemons that exist before we install anything
daemon_pids() { ps -eo pid=,comm= | awk '$2=="rsyslogd"||$2=="syslog-ng"{print $1}' | sort -n; }
before=$(daemon_pids | tr '\n' ' ')

stop_new_daemons() {
  local p
  for p in $(daemon_pids); do
    case " $before " in *" $p "*) continue ;; esac
    note "apt started a system log daemon: PID $p ($(ps -o args= -p "$p" || true)); stopping it by PID"
    kill "$p" 2>/dev/null || true
  done
}

unpack() { # unpack <dest> <pkg>...
  local dest=$1; shift
  mkdir -p "$dest"
  (cd "$PEERS_ROOT/debs" && apt-get download "$@" >/dev/null 2>&1)
  local p
  for p in "$@"; do
    dpkg -x "$(ls -t "$PEERS_ROOT"/debs/"${p}"_*.deb | head -1)" "$dest"
  done
}

# always-needed small tools
need=()
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/bin/time ] || need+=(time)
command -v ss >/dev/null || need+=(iproute2)
[ ${#need[@]} -eq 0 ] || apt-get install -y -q "${need[@]}" >/dev/null

if installed rsyslog && ! installed syslog-ng-core; then
  # rsyslog owns the apt slot: unpack syslog-ng-core (+ its deps via apt)
  installed rsyslog-gnutls || apt-get install -y -q rsyslog-gnutls >/dev/null
  installed rsyslog-relp || apt-get install -y -q rsyslog-relp >/dev/null
  apt-get install -y -q libcap2 libglib2.0-0 libivykis0 libjson-c5 libnet1 libpcre3 libssl3 libwrap0 >/dev/null
  [ -x "$PEERS_ROOT/syslog-ng/usr/sbin/syslog-ng" ] || unpack "$PEERS_ROOT/syslog-ng" syslog-ng-core
  note "rsyslog from apt; syslog-ng-core unpacked into $PEERS_ROOT/syslog-ng"
  # store scenarios: rsyslog's ompgsql from apt; syslog-ng's sql() (libdbi + its PostgreSQL driver) unpacked
  installed rsyslog-pgsql || apt-get install -y -q rsyslog-pgsql >/dev/null || note "rsyslog-pgsql not installed (store scenarios run without it)"
  apt-get install -y -q libdbi1 libpq5 >/dev/null || true
  [ -e "$PEERS_ROOT/syslog-ng/usr/lib/syslog-ng/3.38/libafsql.so" ] || unpack "$PEERS_ROOT/syslog-ng" syslog-ng-mod-sql libdbd-pgsql || true
else
  installed syslog-ng-core || apt-get install -y -q syslog-ng-core >/dev/null
  # rsyslog's and rsyslog-gnutls' own dependencies, then the unpacked binaries
  apt-get install -y -q libestr0 libfastjson4 liblognorm5 libsystemd0 libuuid1 libzstd1 zlib1g libgnutls30 >/dev/null
  [ -x "$PEERS_ROOT/rsyslog/usr/sbin/rsyslogd" ] && [ -e "$PEERS_ROOT/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so" ] \
    && [ -e "$PEERS_ROOT/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so" ] \
    || unpack "$PEERS_ROOT/rsyslog" rsyslog rsyslog-gnutls rsyslog-relp librelp0
  note "syslog-ng-core from apt; rsyslog + rsyslog-gnutls + rsyslog-relp unpacked into $PEERS_ROOT/rsyslog (RELP modules need LD_LIBRARY_PATH=$PEERS_ROOT/rsyslog/usr/lib/x86_64-linux-gnu)"
  # store scenarios (bench/store.ts). rsyslog-pgsql depends on rsyslog, so apt would remove
  # syslog-ng-core: unpack it beside rsyslog instead (ompgsql.so needs only libpq5).
  # syslog-ng's sql() is an ordinary add-on of the apt syslog-ng: install it only if apt would
  # remove nothing.
  apt-get install -y -q libpq5 >/dev/null || true
  [ -e "$PEERS_ROOT/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog/ompgsql.so" ] || unpack "$PEERS_ROOT/rsyslog" rsyslog-pgsql || note "rsyslog-pgsql could not be unpacked"
  if ! installed syslog-ng-mod-sql || ! installed libdbd-pgsql; then
    if apt-get install -s -y syslog-ng-mod-sql libdbd-pgsql 2>/dev/null | grep -q '^Remv'; then
      note "syslog-ng-mod-sql/libdbd-pgsql not installed: apt would remove packages"
    else
      apt-get install -y -q syslog-ng-mod-sql libdbd-pgsql >/dev/null || note "syslog-ng-mod-sql/libdbd-pgsql install failed"
    fi
  fi
fi
stop_new_daemons
echo "[setup] done"
