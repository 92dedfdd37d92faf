// The embedded default config that `npm start` / `sluice run` without -c runs.

export const DEFAULT_CONFIG_NAME = '<embedded default>';

export const DEFAULT_CONFIG = `# sluice's embedded default: syslog on loopback, one file per host and day under ./data,
# and every event in the embedded store (./data/store: searchable with sluice query, sealed).
data_dir: ./data
sources:
  net:
    type: syslog
    listen: [udp://127.0.0.1:5140, tcp://127.0.0.1:5140]
destinations:
  files:
    type: file
    path: "data/logs/\${HOST}/\${YEAR}-\${MONTH}-\${DAY}.log"
  store:
    type: store
log:
  - { from: net, to: [files, store] }
`;
