# shellcheck shell=bash
# scenarios.sh -- the list of peer scenarios: one `scenario` line each. Sourced by lib/common.sh.
#
#   scenario NAME CONF PROTO RATE OUTPUT DESCRIPTION -- LOGGEN_FLAGS...
#
#   NAME     what `run-all.sh -s` and `npm run bench NAME` take
#   CONF     which configs: conf/<receiver>-<CONF>.conf.in (rsyslog, syslog-ng, syslog-ng-tuned)
#            and conf/sluice-<CONF>.yaml.in. A receiver takes part in a scenario exactly when
#            its config file exists (so: no syslog-ng-tuned config = no tuned row).
#   PROTO    tcp | tls | udp  (what the receiver listens on; tls also gets a certificate)
#   RATE     loggen -r per connection; 0 = unthrottled. A paced scenario's message count is
#            RATE x target seconds (no calibration probe).
#   OUTPUT   file: the receiver writes @OUT@ (one file);
#            dir:  the receiver writes any files under the directory @OUT@ (templated paths);
#                  all files under it are counted.
#   LOGGEN_FLAGS  loggen's message/transport flags; the harness adds -s SIZE -n COUNT -r RATE -I MAX
#            and 127.0.0.1 PORT. Keep every flag one word or quote it as in bash.
#
# Placeholders a config can use (filled by lib/run-one.sh): @PORT@ (where loggen sends),
# @PORT2@ (a second free loopback port, e.g. for a forwarding hop inside the same daemon),
# @OUT@ (file or directory, see OUTPUT), @WORK@ (the run's private directory, for
# state/queues/disk buffers), @DATA@ (= @WORK@/data, created empty), @CA@ @CERT@ @KEY@ (TLS).
#
#   max_reps NAME N   (after NAME's line) at most N repetitions of NAME, whatever --reps asks
#            (unless run-all.sh --exact-reps / `npm run bench -- --reps N`): keeps the default full
#            run in its time budget.
#
# Adding a scenario = one line here + its config files in conf/. Ports are derived from the
# position of the line (lib/common.sh: port_for), so append new lines at the end.
# All loggen messages are RFC 5424, 256 bytes (MSG_SIZE), host "localhost", program "prg00000".

scenario tcp                 tcp                 tcp 0 file "TCP, RFC 6587 newline framing -> one file" \
  -- -i -S -P -F
scenario tls                 tls                 tls 0 file "TLS (RFC 5425 octet-counted) -> one file" \
  -- -U -P
scenario udp                 udp                 udp 0 file "UDP, unthrottled sender -> one file" \
  -- -i -D -P -F
scenario udp-paced           udp                 udp "${UDP_PACED_RATE:-50000}" file "UDP, sender paced at ${UDP_PACED_RATE:-50000} msg/s (loggen -r) -> one file" \
  -- -i -D -P -F
scenario tcp-octet-sd        tcp-octet-sd        tcp 0 file "TCP, RFC 6587 octet counting, RFC 5424 structured data -> one file" \
  -- -i -S -P -p '[meta@32473 host="web-01" user="alice" action="login"]'
scenario tcp-filter-template tcp-filter-template tcp 0 dir  "TCP, filter (severity + program regex) -> templated path \${HOST}/\${PROGRAM}.log" \
  -- -i -S -P -F
# Forwarding: each daemon forwards to itself (a second TCP listener on @PORT2@ that writes the
# file), so one process and one output file per receiver; memory vs disk queue on the forwarding hop.
scenario fwd-memory          fwd-memory          tcp 0 file "TCP -> forwarding destination with an in-memory queue -> TCP (own 2nd listener) -> one file" \
  -- -i -S -P -F
scenario fwd-disk            fwd-disk            tcp 0 file "TCP -> forwarding destination with a disk queue (every message on disk before it is sent) -> TCP (own 2nd listener) -> one file" \
  -- -i -S -P -F
# 2 repetitions, not 3, in a full run: 8 more (receiver, scenario) cells would take the default
# `npm run bench` past its ~25 min budget (and the peer harness past its 22-23 min bound)
max_reps fwd-memory 2
max_reps fwd-disk 2
# (next: file-disk-buffer -- add its line here and conf/*-file-disk-buffer.*.in)
