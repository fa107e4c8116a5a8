// server.js - the comparison peer of make bench: the NextCollection answer
// built the way a council would without binday, on Amazon's Node.js ASK SDK
// (ask-sdk-core + ask-sdk-express-adapter + express), over HTTPS with the same
// certificate binday serves.
//
// It does what binday does for a NextCollectionIntent:
//  - request verification by the adapter's SkillRequestSignatureVerifier and
//    TimestampVerifier (150 s window), chain cached after the first download,
//    the skill id checked by ask-sdk-core (withSkillId);
//  - the Device Address API called through the SDK's DeviceAddressServiceClient
//    (DefaultApiClient, Node's https with the keep-alive global agent);
//  - the address matched against the same demo data CSV files, loaded into
//    memory at start (postcode + first number of the address), and the next
//    collection of each service computed from rounds, assignments and
//    exceptions; a spoken answer and a Simple card.
//
// Pointing it at the fakes without touching /etc/hosts: Amazon's host names
// stay in every URL (the adapter insists on https://s3.amazonaws.com/echo.api/
// and the SDK uses the request's apiEndpoint); the global https agent's
// createConnection sends host:443 to 127.0.0.1:<port> from --route, keeping
// the TLS server name, so certificates are checked for the real names.
// NODE_EXTRA_CA_CERTS trusts the fakes' TLS CA. The development signing
// chain's CA cannot be added to tls.rootCertificates (the adapter's chain
// check uses only those), so BenchSignatureVerifier repeats the adapter's
// chain checks with the dev CA added; everything else is the adapter's code.
//
// usage: node server.js --cert C --key K --skill-id ID --data DIR
//        --signing-ca PEM --route host=port [--route ...] [--port-file F]
'use strict';
const fs = require('fs');
const https = require('https');
const tls = require('tls');
const express = require('express');
const forge = require('node-forge');
const Alexa = require('ask-sdk-core');
const { ExpressAdapter, SkillRequestSignatureVerifier } = require('ask-sdk-express-adapter');

// ---- options -----------------------------------------------------------------
const opt = { route: [] };
{
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) {
    const k = v[i].replace(/^--/, '');
    if (k === 'route') opt.route.push(v[i + 1]);
    else opt[k] = v[i + 1];
  }
}
for (const k of ['cert', 'key', 'skill-id', 'data', 'signing-ca']) {
  if (!opt[k]) {
    console.error('server.js: --' + k + ' is required');
    process.exit(2);
  }
}

// ---- Amazon host names -> local fakes ------------------------------------------
const routes = {};
for (const r of opt.route) {
  const [host, port] = r.split('=');
  routes[host] = parseInt(port, 10);
}
const baseCreate = https.Agent.prototype.createConnection;
https.globalAgent.createConnection = function (options, cb) {
  const port = routes[options.host];
  if (port && (options.port === 443 || options.port === undefined || options.port === null)) {
    // servername was already set from the original host by the agent
    options = Object.assign({}, options, { host: '127.0.0.1', port, servername: options.servername || options.host });
  }
  return baseCreate.call(this, options, cb);
};

// ---- verification: the adapter's verifier, with the dev CA for the chain check --
const devCa = fs.readFileSync(opt['signing-ca'], 'utf8');
class BenchSignatureVerifier extends SkillRequestSignatureVerifier {
  // Same checks as the adapter on a cache miss (validity dates, SAN
  // echo-api.amazon.com, chain to a trusted root), trusting the dev CA too.
  _validateCertChain(pem) {
    const pems = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) || [];
    const chain = pems.map((p) => forge.pki.certificateFromPem(p));
    if (chain.length === 0) throw new Error('no certificate in chain');
    const leaf = chain[0];
    const now = Date.now();
    if (now < leaf.validity.notBefore.getTime() || now > leaf.validity.notAfter.getTime()) {
      throw new Error('Signing Certificate expired or not started');
    }
    const san = leaf.getExtension('subjectAltName');
    if (!san || !san.altNames.some((n) => n.value === 'echo-api.amazon.com')) {
      throw new Error('echo-api.amazon.com domain missing in Signature Certificate Chain.');
    }
    const store = forge.pki.createCaStore([]);
    for (const c of tls.rootCertificates.concat([devCa])) {
      try { store.addCertificate(c); } catch (e) { /* forge cannot read EC roots; the adapter skips them too */ }
    }
    forge.pki.verifyCertificateChain(store, chain);
  }
}

// ---- demo data in memory ---------------------------------------------------------
function parseCsv(file) {
  // RFC 4180: quoted fields with "" escapes and embedded commas/newlines
  const text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  const rows = [];
  let row = [];
  let field = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else q = false;
      } else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      rows.push(row); row = [];
    } else field += c;
  }
  if (field.length || row.length) { row.push(field); rows.push(row); }
  const head = rows.shift();
  return rows.filter((r) => r.length === head.length).map((r) => {
    const o = {};
    head.forEach((h, i) => { o[h] = r[i]; });
    return o;
  });
}
const DAY = 86400000;
const dayOf = (s) => (s ? Math.floor(Date.parse(s + 'T00:00:00Z') / DAY) : null);
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December'];
const normPc = (s) => (s || '').toUpperCase().replace(/[^A-Z0-9]/g, '');
const firstNumber = (s) => { const m = /\d+/.exec(s || ''); return m ? m[0] : ''; };

const t0 = Date.now();
const dir = opt.data;
const services = {};
for (const s of parseCsv(dir + '/services.csv')) services[s.service_id] = s;
const rounds = {};
for (const r of parseCsv(dir + '/rounds.csv')) {
  rounds[r.round_id] = { interval: parseInt(r.interval_weeks, 10) * 7, anchor: dayOf(r.anchor_date),
    from: dayOf(r.valid_from), to: dayOf(r.valid_to) };
}
const exceptions = new Map(); // "round|day" and "*|day" -> {action, to, reason}
for (const e of parseCsv(dir + '/exceptions.csv')) {
  if (e.original_date) {
    exceptions.set(e.round_id + '|' + dayOf(e.original_date), { action: e.action, to: dayOf(e.new_date), reason: e.reason });
  }
}
const byKey = new Map(); // postcode|first number -> [uprn]
const addressOf = new Map();
for (const a of parseCsv(dir + '/addresses.csv')) {
  const key = normPc(a.postcode) + '|' + firstNumber(a.paon || a.saon);
  let l = byKey.get(key);
  if (!l) byKey.set(key, l = []);
  l.push(a.uprn);
  addressOf.set(a.uprn, [a.saon, a.paon, a.street, a.town, a.postcode].filter((x) => x).join(', '));
}
const assignments = new Map(); // uprn -> [{service, round, from, to}]
for (const a of parseCsv(dir + '/assignments.csv')) {
  let l = assignments.get(a.uprn);
  if (!l) assignments.set(a.uprn, l = []);
  l.push({ service: a.service_id, round: a.round_id, from: dayOf(a.valid_from), to: dayOf(a.valid_to) });
}
console.log(`node-peer: loaded ${addressOf.size} addresses, ${assignments.size} properties with assignments in ${Date.now() - t0} ms`);

function nextCollections(uprn, today) {
  const out = [];
  for (const a of assignments.get(uprn) || []) {
    const r = rounds[a.round];
    if (!r) continue;
    // first round date >= today, then skip cancelled ones; look 8 weeks ahead
    let d = today + ((((r.anchor - today) % r.interval) + r.interval) % r.interval);
    for (; d < today + 56; d += r.interval) {
      if ((a.from !== null && d < a.from) || (a.to !== null && d > a.to)) continue;
      if ((r.from !== null && d < r.from) || (r.to !== null && d > r.to)) continue;
      const e = exceptions.get(a.round + '|' + d) || exceptions.get('*|' + d);
      if (e && e.action === 'cancelled') continue;
      const when = e && e.action === 'moved' ? e.to : d;
      if (when < today) continue;
      out.push({ date: when, service: services[a.service], reason: e ? e.reason : null });
      break;
    }
  }
  out.sort((x, y) => x.date - y.date);
  return out;
}

function spokenDate(d, today) {
  const dt = new Date(d * DAY);
  const n = dt.getUTCDate();
  const suf = (n % 10 === 1 && n !== 11) ? 'st' : (n % 10 === 2 && n !== 12) ? 'nd' : (n % 10 === 3 && n !== 13) ? 'rd' : 'th';
  const s = `${WEEKDAYS[dt.getUTCDay()]} the ${n}${suf} of ${MONTHS[dt.getUTCMonth()]}`;
  return d === today ? 'today, ' + s : d === today + 1 ? 'tomorrow, ' + s : s;
}

// ---- the skill -------------------------------------------------------------------
const PERMS = ['read::alexa:device:all:address'];
const NextCollectionHandler = {
  canHandle(h) {
    return Alexa.getRequestType(h.requestEnvelope) === 'IntentRequest' &&
      Alexa.getIntentName(h.requestEnvelope) === 'NextCollectionIntent';
  },
  async handle(h) {
    const deviceId = Alexa.getDeviceId(h.requestEnvelope);
    let addr;
    try {
      addr = await h.serviceClientFactory.getDeviceAddressServiceClient().getFullAddress(deviceId);
    } catch (e) {
      // counted by bench.py around each run (the answer is still HTTP 200)
      console.error('node-peer: address api failed: ' + (e.statusCode || e.message));
      if (e.statusCode === 403) {
        return h.responseBuilder.speak('I need permission to read your address. I have sent a card to the Alexa app.')
          .withAskForPermissionsConsentCard(PERMS).getResponse();
      }
      return h.responseBuilder.speak('Sorry, I could not get your address just now. Please try again.').getResponse();
    }
    const uprns = byKey.get(normPc(addr.postalCode) + '|' + firstNumber(addr.addressLine1)) || [];
    if (uprns.length === 0) {
      return h.responseBuilder.speak('I could not find your address in Breckland. Please check it in the Alexa app.')
        .getResponse();
    }
    const today = Math.floor(Date.now() / DAY);
    const next = nextCollections(uprns[0], today);
    if (next.length === 0) {
      return h.responseBuilder.speak('I have no collections for your address in the next few weeks.').getResponse();
    }
    const first = next.filter((c) => c.date === next[0].date);
    const what = first.map((c) => `the ${c.service.spoken_name} (${c.service.name.toLowerCase()})`).join(' and ');
    let text = `Your next collection is ${what}, ${spokenDate(next[0].date, today)}.`;
    if (first.some((c) => c.reason)) text += ` That is not the usual day, because of the ${first.find((c) => c.reason).reason}.`;
    if (next[0].date === today + 1) text += ' Please put it out by 6:30 in the morning.';
    return h.responseBuilder.speak(text).withSimpleCard('Next collection', text).getResponse();
  },
};
const FallbackHandler = {
  canHandle() { return true; },
  handle(h) {
    return h.responseBuilder.speak('You can ask me when your next bin collection is.').reprompt('What would you like to know?')
      .getResponse();
  },
};
const ErrorHandler = {
  canHandle() { return true; },
  handle(h, e) {
    console.error('node-peer: handler error: ' + e.message);
    return h.responseBuilder.speak('Sorry, something went wrong.').getResponse();
  },
};

const skill = Alexa.SkillBuilders.custom()
  .withSkillId(opt['skill-id'])
  .addRequestHandlers(NextCollectionHandler, FallbackHandler)
  .addErrorHandlers(ErrorHandler)
  .withApiClient(new Alexa.DefaultApiClient())
  .create();
const adapter = new ExpressAdapter(skill, false, true, [new BenchSignatureVerifier()]);
const app = express();
app.disable('x-powered-by');
app.post('/alexa', adapter.getRequestHandlers());

const server = https.createServer({ cert: fs.readFileSync(opt.cert), key: fs.readFileSync(opt.key) }, app);
server.keepAliveTimeout = 120000;
server.headersTimeout = 125000;
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  const port = server.address().port;
  if (opt['port-file']) fs.writeFileSync(opt['port-file'], String(port));
  console.log('node-peer: listening on 127.0.0.1:' + port);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
