// Points the official SDKs at the emulator (EMU_URL, plain http) and counts token requests.
// @vippsno/vipps-sdk uses node's https module (and only parses 4-digit ports);
// @vippsmobilepay/sdk uses the global fetch. Both are redirected here.
const http = require("node:http");
const https = require("node:https");
const emu = new URL(process.env.EMU_URL);
globalThis.__tokenRequests = 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
https.request = function (options, cb) {
  const o = typeof options === "string" ? new URL(options) : { ...options };
  if ((o.path || o.pathname || "").startsWith("/accesstoken/get")) globalThis.__tokenRequests++;
  return http.request({ ...o, protocol: "http:", hostname: emu.hostname, host: emu.hostname, port: emu.port, agent }, cb);
};
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const u = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  if (u.pathname.startsWith("/accesstoken/get")) globalThis.__tokenRequests++;
  const target = new URL(u.pathname + u.search, emu);
  return realFetch(target, init ?? (typeof input === "object" && !(input instanceof URL) ? input : undefined));
};
