#!/usr/bin/node
// fast_amazon.js - a fast stand-in for the Device Address API (and the cert
// host) of tests/integration/fake_amazon.py, for make bench only.
//
// Why: the test fake is a Python threading server; at a few thousand TLS
// requests per second it, not the server under test, would be the bottleneck
// (every NextCollection request makes one Device Address API call). This one
// speaks the same protocol for the calls the benchmark makes, with the same
// token scenarios (tok-granted, tok-slow-<N>ms, both optionally followed by
// "-anything"), on Node's event loop (N workers with --workers).
//
//   GET /v1/devices/{deviceId}/settings/address[/countryAndPostalCode]
//       deviceId "...bench-<i>" gets line i of --addresses (a TSV of
//       addressLine1, city, postalCode), wrapping around
//   GET /echo.api/<file>.pem   from --pem-dir
//   GET /_stats                count of address calls served (this worker)
//
// usage: fast_amazon.js --cert C --key K --addresses TSV [--pem-dir D]
//                       [--port-file F] [--workers N]
'use strict';
const cluster = require('cluster');
const fs = require('fs');
const https = require('https');
const path = require('path');

function args() {
  const a = {};
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) a[v[i].replace(/^--/, '')] = v[i + 1];
  return a;
}
const opt = args();
const workers = Math.max(1, parseInt(opt.workers || '1', 10));

if (cluster.isPrimary && workers > 1) {
  let reported = false;
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork();
    w.on('message', (m) => {
      if (!reported && m && m.port) {
        reported = true;
        if (opt['port-file']) fs.writeFileSync(opt['port-file'], String(m.port));
      }
    });
  }
  const stop = () => { for (const id in cluster.workers) cluster.workers[id].kill(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  serve();
}

function serve() {
  const addrs = fs.readFileSync(opt.addresses, 'utf8').split('\n').filter((l) => l.length)
    .map((l) => {
      const [line1, city, postcode] = l.split('\t');
      return {
        addressLine1: line1, addressLine2: null, addressLine3: null, city,
        districtOrCounty: 'Norfolk', stateOrRegion: null, countryCode: 'GB', postalCode: postcode,
      };
    });
  if (addrs.length === 0) throw new Error('no addresses in ' + opt.addresses);
  // pre-serialised answers: this server must cost as little as possible
  const full = addrs.map((a) => JSON.stringify(a));
  const short = addrs.map((a) => JSON.stringify({ countryCode: a.countryCode, postalCode: a.postalCode }));
  const pems = {};
  if (opt['pem-dir']) {
    for (const f of fs.readdirSync(opt['pem-dir'])) {
      if (f.endsWith('.pem')) pems['/echo.api/' + f] = fs.readFileSync(path.join(opt['pem-dir'], f));
    }
  }
  let served = 0;
  const devRe = /^\/v1\/devices\/([^/]+)\/settings\/address(\/countryAndPostalCode)?$/;
  const tokRe = /^Bearer tok-(granted|slow-(\d+)ms)(-|$)/;

  const send = (res, status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  const server = https.createServer({ cert: fs.readFileSync(opt.cert), key: fs.readFileSync(opt.key) }, (req, res) => {
    if (req.method !== 'GET') return send(res, 405, '{"code":"METHOD_NOT_ALLOWED"}');
    const pem = pems[req.url];
    if (pem) {
      res.writeHead(200, { 'Content-Type': 'application/x-pem-file', 'Content-Length': pem.length });
      return res.end(pem);
    }
    if (req.url === '/_stats') return send(res, 200, JSON.stringify({ served }));
    const m = devRe.exec(req.url);
    if (!m) return send(res, 404, '{"code":"NOT_FOUND"}');
    const t = tokRe.exec(req.headers.authorization || '');
    if (!t) return send(res, 401, '{"code":"UNAUTHORIZED","message":"bad token"}');
    const dm = /bench-(\d+)$/.exec(decodeURIComponent(m[1]));
    const i = dm ? parseInt(dm[1], 10) % addrs.length : 0;
    const body = m[2] ? short[i] : full[i];
    served++;
    const ms = t[2] ? parseInt(t[2], 10) : 0;
    if (ms > 0) setTimeout(() => send(res, 200, body), ms);
    else send(res, 200, body);
  });
  server.keepAliveTimeout = 120000;
  server.headersTimeout = 125000;
  server.maxConnections = 20000;
  // a deep accept queue: S3 opens ~1,000 upstream connections at once, and
  // a dropped SYN costs binday's 1 s connect timeout
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    const port = server.address().port;
    if (process.send) process.send({ port });
    else if (opt['port-file']) fs.writeFileSync(opt['port-file'], String(port));
  });
  process.on('SIGTERM', () => process.exit(0));
}
