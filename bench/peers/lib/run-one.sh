#!/usr/bin/env bash
# lib/run-one.sh -- one measurement: start one receiver, blast it with loggen, measure, stop it.
#
# usage: lib/run-one.sh <receiver> <scenario> <rep> <count> <workdir>
#   receiver: rsyslog | syslog-ng | syslog-ng-tuned | sluice | node-file | node-discard
#             (sluice: the project under test, run as `node <bin> run -c <config>` with the bin of
#              the package.json in SLUICE_REPO (default: this repository), or SLUICE_BIN)
#   scenario: a name from ../scenarios.sh; the receiver needs its conf/ file for it
#   workdir:  holds tls/ (made by run-all.sh, or made here if missing) and one directory per run
# Prints one TSV line (columns in $RUN_COLUMNS, lib/common.sh) on stdout; details go to
# <workdir>/<receiver>-<scenario>-<rep>/ (config, daemon.log, loggen.log, sample.txt).
#
# Measurement:
#   written   = lines in the output (all files under the directory for OUTPUT=dir) after the
#               writer went quiet (node-discard: bytes / frame size)
#   elapsed   = time from the first to the last observed change of the output size,
#               polled every POLL_S (node-discard: first to last byte, timed inside the server)
#   msgs/s    = written / elapsed;  MB/s = written * MSG_SIZE / elapsed / 1e6 (received syslog bytes)
#   rss       = VmHWM (peak RSS) of the receiver process, read just before it is stopped
#   idle_rss  = VmRSS of the receiver once it listens (and its forwarding hop is up) and has sat
#               IDLE_SETTLE_S (1) more seconds without load, read just before the load starts
#   cpu       = utime+stime of the receiver (all threads) over the run; cpu% = cpu_s / elapsed
#   steal%    = steal share of all CPU time on the machine during the run (noise indicator)
#   udp_rcvbuf_err = kernel Udp RcvbufErrors during the run (datagrams dropped at a full socket buffer)
#   blank, bad_shape = empty lines, and non-empty lines not shaped "<ts> localhost prg00000[pid]: <msg>"
#               (SHAPE_RE), counted after the run (outside the timed window)
#   seq_ok    = 1 if the sequence numbers in the lines sum to 0+1+...+(sent-1) (each message once),
#               0 if not, -1 if not checked (count written != sent, e.g. UDP loss)
# Bounds: loggen -n COUNT and -I MAX_SEND_S, under `timeout`; the watch loop ends at most
# MAX_SEND_S + 60 s after the start; the receiver is stopped by PID (TERM, KILL after 10 s).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=common.sh
. "$HERE/common.sh"

[ $# -eq 5 ] || die "usage: run-one.sh <receiver> <scenario> <rep> <count> <workdir>"
peer=$1 scen=$2 rep=$3 count=$4 work=$5
MSG_SIZE=${MSG_SIZE:-256}     # loggen -s: whole message incl. trailing newline
POLL_S=${POLL_S:-0.05}
QUIET_S=${QUIET_S:-2}         # writer considered done after this long without growth
MAX_SEND_S=${MAX_SEND_S:-60}  # hard bound on one loggen run
# expected output line: "<RFC 3339 time> localhost prg00000[1234]: <msg with seq: N>" (rsyslog writes no ":"
# after an RFC 5424 tag, and keeps the BOM at the start of MSG: both allowed)
export SHAPE_RE=${SHAPE_RE:-'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2}) localhost prg00000(\[[0-9]+\])?:? .*seq[:=] ?[0-9]+'}

[ "$peer" = node-file ] && SHAPE_RE='^<[0-9]+>1 '   # the naive Node baseline writes the raw syslog line
find_peers
known_scenario "$scen" || die "unknown scenario '$scen' (see scenarios.sh)"
receiver_index "$peer" >/dev/null || die "unknown receiver '$peer' (one of: $ALL_RECEIVERS)"
conf=$(conf_for "$peer" "$scen")
[ -n "$conf" ] || die "$peer has no config for scenario $scen"
receiver_present "$peer" || die "$peer is not installed/built here"

proto=${SC_PROTO[$scen]} output=${SC_OUTPUT[$scen]} rate=${SC_RATE[$scen]}
lproto=$proto; [ "$proto" = tls ] && lproto=tcp
[ "$rate" = 0 ] && rate=1000000000        # loggen -r is per connection; this = unthrottled
eval "lflags=(${SC_LOGGEN[$scen]})"
frame=$MSG_SIZE
case " ${lflags[*]} " in *" -F "*) ;; *" -D "*) ;; *) frame=$(( MSG_SIZE + ${#MSG_SIZE} + 1 )) ;; esac  # octet counted: "256 " + msg

# ports: the receiver's own, and a second one for configs that forward inside the daemon
port="" port2=""
for attempt in 0 1 2 3; do
  p=$(port_for "$peer" "$scen" "$attempt")
  if port_free "$p" "$lproto" && port_free $((p + 500)) tcp && port_free $((p + 500)) udp; then port=$p port2=$((p + 500)); break; fi
  log "port $p/$lproto (or $((p + 500))) in use; trying another"
done
[ -n "$port" ] || die "no free port for $peer/$scen"

rd=$work/$peer-$scen-$rep
rm -rf "$rd"; mkdir -p "$rd" "$rd/data"
if [ "$output" = dir ]; then out=$rd/out; mkdir -p "$out"; else out=$rd/out.log; fi
[ -f "$work/tls/server.pem" ] || make_certs "$work/tls"
vals=(WORK="$rd" DATA="$rd/data" PORT="$port" PORT2="$port2" OUT="$out" CA="$work/tls/ca.pem" CERT="$work/tls/server.pem" KEY="$work/tls/server.key")

# ---- start the receiver in its foreground mode, in the background of this shell ----
case "$peer" in
  rsyslog)
    render "$conf" "$rd/rsyslog.conf" "${vals[@]}"
    "$RSYSLOGD" -n -M "$RSYSLOG_MODDIR" -f "$rd/rsyslog.conf" -i "$rd/rsyslogd.pid" >"$rd/daemon.log" 2>&1 &
    ;;
  syslog-ng|syslog-ng-tuned)
    render "$conf" "$rd/syslog-ng.conf" "${vals[@]}"
    "${SNG_ENV[@]}" "$SYSLOGNG" -F --no-caps -f "$rd/syslog-ng.conf" --persist-file="$rd/syslog-ng.persist" \
      --pidfile="$rd/syslog-ng.pid" --control="$rd/syslog-ng.ctl" >"$rd/daemon.log" 2>&1 &
    ;;
  sluice)
    render "$conf" "$rd/sluice.yaml" "${vals[@]}"
    bin=$(sluice_bin) || die "sluice is not built (npm run build) or SLUICE_BIN/SLUICE_REPO is wrong"
    (cd "$rd" && exec node "$bin" run -c "$rd/sluice.yaml") >"$rd/daemon.log" 2>&1 &
    ;;
  node-file)    node "$HERE/node-sink.cjs" file "$port" "$out" "$rd/stats.json" >"$rd/daemon.log" 2>&1 & ;;
  node-discard)
    tlsargs=(); [ "$proto" = tls ] && tlsargs=("$work/tls/server.key" "$work/tls/server.pem")
    node "$HERE/node-sink.cjs" discard "$port" - "$rd/stats.json" "${tlsargs[@]}" >"$rd/daemon.log" 2>&1 & ;;
esac
dpid=$!
lpid=""
cleanup() { stop_pid "$dpid" 5; [ -n "$lpid" ] && stop_pid "$lpid" 2; true; }
trap cleanup EXIT
trap 'exit 143' TERM INT

if ! wait_listen "$port" "$lproto" 20; then
  tail -20 "$rd/daemon.log" >&2
  die "$peer did not listen on $port/$lproto"
fi
nsleep 0.3
kill -0 "$dpid" 2>/dev/null || { tail -20 "$rd/daemon.log" >&2; die "$peer exited at start"; }
# forwarding configs (a hop to the daemon's own second listener on @PORT2@): wait until that
# listener is up and give the forwarding destination time to (re)connect before the load starts
# (syslog-ng connects at start-up, maybe before its own source listens, then retries after
# time-reopen(1)); otherwise messages queued meanwhile would be written in one burst at the start
# of the timed window
if grep -q '@PORT2@' "$conf"; then
  wait_listen "$port2" tcp 20 || { tail -20 "$rd/daemon.log" >&2; die "$peer did not listen on $port2/tcp (@PORT2@)"; }
  nsleep "${FWD_SETTLE_S:-1.5}"
else
  nsleep "${IDLE_SETTLE_S:-1}"   # let the start-up settle (the forwarding case above waited already)
fi
idle_rss=$(vm_rss_kb "$dpid")

if [ "$proto" = tls ] && command -v openssl >/dev/null; then  # what a default OpenSSL client negotiates
  timeout 5 openssl s_client -connect "127.0.0.1:$port" -brief </dev/null >"$rd/tls-probe.txt" 2>&1 || true
fi
sock_rcvbuf=""
[ "$proto" = udp ] && command -v ss >/dev/null && sock_rcvbuf=$(ss -lunmH "sport = :$port" 2>/dev/null | grep -o 'rb[0-9]*' | head -1 | tr -d rb || true)
echo "${sock_rcvbuf:-}" >"$rd/sock-rcvbuf.txt"
udp_err() { awk '/^Udp:/{n++; if(n==1){for(i=1;i<=NF;i++) h[i]=$i} else {for(i=1;i<=NF;i++) if(h[i]=="RcvbufErrors") print $i}}' /proc/net/snmp; }
udp_err0=$(udp_err)
read -r load1 _ </proc/loadavg
read -r st_tot0 st_steal0 < <(cpu_stat)
cpu0=$(cpu_ticks "$dpid")
t_start=$(now)

# ---- load: bounded in count (-n) and time (-I / --duration, and timeout) ----
if [ "$SENDER" = loggen ]; then
  sendcmd=("${SNG_ENV[@]}" "$LOGGEN" "${lflags[@]}" -s "$MSG_SIZE" -n "$count" -r "$rate" -I "$MAX_SEND_S" 127.0.0.1 "$port")
else  # fallback when loggen is missing: the project's own sender, same size, host and program
  framing=octet; case " ${lflags[*]} " in *" -F "*) framing=lf ;; esac
  srate=${SC_RATE[$scen]}
  sendcmd=(node "$(sluice_bin)" send -n "$count" -s "$MSG_SIZE" -r "$srate" -d "$MAX_SEND_S" --no-progress
    --hostname localhost --appname prg00000 --severity info --facility auth)
  [ "$proto" = udp ] || sendcmd+=(--framing "$framing")
  [ "$proto" = tls ] && sendcmd+=(--insecure)
  sendcmd+=("$proto://127.0.0.1:$port")
fi
printf '%q ' "${sendcmd[@]}" >"$rd/sender.cmd"
timecmd=(); [ -x /usr/bin/time ] && timecmd=(/usr/bin/time -f '%U %S %M' -o "$rd/loggen.time")  # sender CPU
"${timecmd[@]}" timeout -k 5 $((MAX_SEND_S + 10)) "${sendcmd[@]}" >"$rd/loggen.log" 2>&1 &
lpid=$!

out_size() {
  if [ "$output" = dir ]; then find "$out" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END{print s+0}'
  else stat -c %s "$out" 2>/dev/null || echo 0; fi
}

# ---- watch the output grow ----
t_first="" t_last="" last_size=-1 t_lg_done=""
hard_end=$(( SECONDS + MAX_SEND_S + 60 ))
while :; do
  t=$(now)
  if [ "$peer" != node-discard ]; then
    sz=$(out_size)
    if [ "$sz" != "$last_size" ]; then
      if [ "$sz" -gt 0 ]; then [ -z "$t_first" ] && t_first=$t; t_last=$t; fi
      last_size=$sz
    fi
  fi
  if [ -z "$t_lg_done" ] && ! kill -0 "$lpid" 2>/dev/null; then
    wait "$lpid" 2>/dev/null || true; t_lg_done=$t
  fi
  if [ -n "$t_lg_done" ]; then
    ref=${t_last:-$t_lg_done}
    awk -v a="$t" -v b="$ref" -v c="$t_lg_done" -v q="$QUIET_S" 'BEGIN{exit !((a-b)>=q && (a-c)>=q)}' && break
  fi
  [ $SECONDS -ge $hard_end ] && { log "hard timeout in $rd"; break; }
  nsleep "$POLL_S"
done
lpid=""

cpu1=$(cpu_ticks "$dpid")
hwm=$(vm_hwm_kb "$dpid")
read -r st_tot1 st_steal1 < <(cpu_stat)
udp_err1=$(udp_err)
if [ "$peer" = syslog-ng ] || [ "$peer" = syslog-ng-tuned ]; then
  "${SNG_ENV[@]}" "$(dirname "$SYSLOGNG")/syslog-ng-ctl" stats -c "$rd/syslog-ng.ctl" >"$rd/syslog-ng-stats.txt" 2>&1 || true
fi
alive=1; kill -0 "$dpid" 2>/dev/null || alive=0
stop_pid "$dpid" 10
trap - EXIT
[ "$alive" = 1 ] || log "WARNING: $peer exited during the run ($rd/daemon.log): $(tail -3 "$rd/daemon.log" | tr '\n' ' ')"

# ---- results ----
if [ "$SENDER" = loggen ]; then
  sent=$(grep -o 'count=[0-9]*' "$rd/loggen.log" | tail -1 | cut -d= -f2 || true)
else
  sent=$(sed -n 's/^sent \([0-9]*\) messages.*/\1/p' "$rd/loggen.log" | tail -1)
fi
sent=${sent:-NA}
blank=0 bad=0 files=0 seq_ok=-1
if [ "$peer" = node-discard ]; then
  read -r bytes first_ms last_ms < <(node -e 'const s=require(process.argv[1]);console.log(s.bytes,s.firstMs,s.lastMs)' "$rd/stats.json")
  written=$(( bytes / frame ))   # frame: MSG_SIZE (newline framing) or "NNN " + MSG_SIZE (octet counting)
  elapsed=$(awk -v a="$first_ms" -v b="$last_ms" 'BEGIN{printf "%.3f",(b-a)/1000}')
  out_bytes=$bytes
else
  if [ "$output" = dir ]; then
    find "$out" -type f | sort >"$rd/files.txt"
    files=$(wc -l <"$rd/files.txt")
    catout() { find "$out" -type f -print0 | sort -z | xargs -0 -r cat; }
    sed "s|^$out/||" "$rd/files.txt" | head -20 >"$rd/files-relative.txt"
  else
    files=0; [ -f "$out" ] && files=1
    catout() { [ -f "$out" ] && cat "$out"; true; }
  fi
  # one pass: lines, empty lines, lines of the expected shape
  # and the sum of the sequence numbers loggen (seq: N) or sluice send (seq=N) put in MSG: with every
  # message written exactly once it is 0+1+...+(sent-1), so duplicates that cancel out losses show too
  read -r written blank good seqsum < <(catout | LC_ALL=C awk '{n++} $0=="" {b++} $0 ~ ENVIRON["SHAPE_RE"] {g++}
    { i=index($0,"seq: "); k=5; if(!i){i=index($0,"seq="); k=4}; if(i) s+=substr($0,i+k,12)+0 }
    END{printf "%d %d %d %.0f\n", n+0, b+0, g+0, s+0}')
  bad=$(( written - blank - good ))
  seq_ok=-1   # -1: not checked (nothing sent/known, or a different count written)
  if [[ "$sent" =~ ^[0-9]+$ ]] && [ $(( written - blank )) -eq "$sent" ]; then
    seq_ok=$(awk -v s="$seqsum" -v n="$sent" 'BEGIN{print (s == n*(n-1)/2) ? 1 : 0}')
  fi
  out_bytes=$(out_size)
  { catout | head -2 >"$rd/sample.txt"; } 2>/dev/null || true
  if [ "$bad" -gt 0 ] || [ "$blank" -gt 0 ]; then
    { catout | LC_ALL=C awk '$0=="" || $0 !~ ENVIRON["SHAPE_RE"] {print NR": "$0}' | head -5 >"$rd/bad-sample.txt"; } 2>/dev/null || true
  fi
  [ -n "$t_first" ] && elapsed=$(awk -v a="$t_first" -v b="$t_last" 'BEGIN{printf "%.3f",b-a}') || elapsed=0
  [ "${KEEP_OUTPUT:-0}" = 1 ] || rm -rf "$out"
fi
rm -rf "$rd/data"
load_s=$(awk -v a="$t_start" -v b="${t_last:-${t_lg_done:-$t_start}}" 'BEGIN{printf "%.3f",b-a}')
read -r lg_u lg_s _ <"$rd/loggen.time" 2>/dev/null || { lg_u=0; lg_s=0; }
case "$lg_u$lg_s" in *[!0-9.]*|"") lg_u=0 lg_s=0 ;; esac
awk -v OFS='\t' -v peer="$peer" -v scen="$scen" -v rep="$rep" -v sent="$sent" -v w="$written" \
    -v el="$elapsed" -v ld="$load_s" -v ms="$MSG_SIZE" -v hwm="$hwm" -v c0="$cpu0" -v c1="$cpu1" -v hz="$CLK_TCK" \
    -v lgu="$lg_u" -v lgs="$lg_s" -v t0="$st_tot0" -v t1="$st_tot1" -v s0="$st_steal0" -v s1="$st_steal1" \
    -v l1="$load1" -v ob="$out_bytes" -v ue=$(( udp_err1 - udp_err0 )) -v bl="$blank" -v bad="$bad" -v nf="$files" -v rb="${sock_rcvbuf:-0}" -v sq="$seq_ok" -v irss="${idle_rss:-0}" 'BEGIN{
  cpu=(c1-c0)/hz; good=w-bl; rate=(el>0)?good/el:0;
  loss=(sent ~ /^[0-9]+$/ && sent>0)?100*(sent-good)/sent:"NA";
  steal=(t1>t0)?100*(s1-s0)/(t1-t0):0;
  printf "%s\t%s\t%s\t%s\t%d\t%s\t%.3f\t%.3f\t%.0f\t%.1f\t%d\t%.2f\t%.0f\t%.2f\t%.1f\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n",
    peer,scen,rep,sent,w,(loss=="NA"?"NA":sprintf("%.3f",loss)),el,ld,rate,rate*ms/1e6,hwm,cpu,(el>0?100*cpu/el:0),lgu+lgs,steal,l1,ob,ue,bl,bad,nf,rb,sq,irss
}'
