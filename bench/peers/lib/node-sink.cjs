#!/usr/bin/env node
// Node.js baselines for the peer benchmark (plain `node`, no dependencies; .cjs because the repo is ESM).
//
//   node node-sink.cjs file    <port> <outfile> <statsfile>
//     naive: TCP server, socket.setEncoding('utf8'), split on '\n', and one
//     fs.WriteStream.write(line + '\n') per line (pauses the socket when the
//     stream asks for backpressure, so memory stays bounded).
//   node node-sink.cjs discard <port> -        <statsfile> [<keyfile> <certfile>]
//     raw upper bound: counts bytes and drops them; no parsing, no file.
//     With key and certificate files it is a TLS server (node's tls module, OpenSSL).
//
// Listens on 127.0.0.1 only. Writes JSON stats to <statsfile> on SIGTERM/SIGINT
// (and after each connection ends): bytes, lines, first/last activity in ms since epoch.
'use strict';
const net = require('net');
const tls = require('tls');
const fs = require('fs');

const [mode, portArg, outFile, statsFile, keyFile, certFile] = process.argv.slice(2);
if (!['file', 'discard'].includes(mode) || !portArg || !statsFile) {
  console.error('usage: node-sink.cjs file|discard <port> <outfile|-> <statsfile>');
  process.exit(2);
}
const port = Number(portArg);
const st = { mode, bytes: 0, lines: 0, firstMs: 0, lastMs: 0, conns: 0 };
const t0 = Date.now() - performance.now(); // wall clock of hrtime origin
const stamp = () => t0 + performance.now();

let ws = null;
if (mode === 'file') ws = fs.createWriteStream(outFile, { flags: 'a' });

function dumpStats() {
  fs.writeFileSync(statsFile, JSON.stringify(st) + '\n');
}

const onConn = (sock) => {
  st.conns++;
  if (mode === 'discard') {
    sock.on('data', (d) => {
      const t = stamp();
      if (!st.firstMs) st.firstMs = t;
      st.bytes += d.length;
      st.lastMs = t;
    });
  } else {
    sock.setEncoding('utf8');
    let rest = '';
    sock.on('data', (s) => {
      if (!st.firstMs) st.firstMs = stamp();
      st.bytes += Buffer.byteLength(s);
      const parts = (rest + s).split('\n');
      rest = parts.pop();
      let ok = true;
      for (const line of parts) {
        ok = ws.write(line + '\n');
        st.lines++;
      }
      if (!ok) {
        sock.pause();
        ws.once('drain', () => sock.resume());
      }
      st.lastMs = stamp();
    });
    sock.on('end', () => {
      if (rest) { ws.write(rest + '\n'); st.lines++; rest = ''; }
    });
  }
  sock.on('error', () => {});
  sock.on('close', dumpStats);
};
const server = keyFile
  ? tls.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, onConn)
  : net.createServer(onConn);
server.listen(port, '127.0.0.1');

function shutdown() {
  server.close();
  const done = () => { dumpStats(); process.exit(0); };
  if (ws) ws.end(done); else done();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
