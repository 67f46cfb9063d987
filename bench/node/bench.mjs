// Side-by-side numbers for the official Node SDKs against the emulator (see BENCHMARKS.md).
import { EPayment } from "@vippsno/vipps-sdk";
import { Client } from "@vippsmobilepay/sdk";

const EMU = process.env.EMU_URL;
const quick = process.argv.includes("--quick");
const scale = (n) => (quick ? Math.max(100, Math.floor(n / 10)) : n);
const creds = {
  clientId: "fb492b5e-7907-4d83-bc20-c7fb60ca35de",
  clientSecret: "Y8Kteew6GE3ZmeycEt6egg==",
  subscriptionKey: "0f14ebcab0eb4b29ae0cb90d91b4a84a",
  merchantSerialNumber: "123456",
};

async function load(concurrency, n, f) {
  const lat = [];
  let next = 0;
  const t0 = performance.now();
  async function worker() {
    while (next < n) {
      const i = next++;
      const s = performance.now();
      await f(i);
      lat.push(performance.now() - s);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] * 1000;
  return { rps: n / wall, p50: pct(0.5), p99: pct(0.99) };
}

const row = (name, s) => console.log(`| ${name} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(0)} | ${s.p99.toFixed(0)} |`);

// `--round get|capture [--requests N] [--concurrency C]`: one measured round of
// @vippsno/vipps-sdk (the faster of the two) for bench/node/interleave.sh, which alternates it
// with rounds of our SDK. Seeds its own payment, warms up (V8 compiles the hot paths in the
// first few thousand calls), then prints RPS=, P50= and P99= (µs) and exits.
const roundOp = process.argv.includes("--round") ? process.argv[process.argv.indexOf("--round") + 1] : undefined;
if (roundOp !== undefined) {
  const arg = (name, dflt) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
  const n = arg("--requests", 40000);
  const c = arg("--concurrency", 32);
  if (!["get", "capture"].includes(roundOp) || !(n > 0) || !(c > 0)) {
    console.error("usage: bench.mjs --round get|capture [--requests N] [--concurrency C]");
    process.exit(2);
  }
  const prefix = `nr${Math.random().toString(36).slice(2, 8)}`;
  const seeded = await fetch(`${EMU}/_emulator/seed`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ payments: 16, prefix, authorized: true, amount: 65000000 }) });
  if (!seeded.ok) throw new Error(`seeding failed: ${seeded.status}`);
  // 16 payments, used in turn, as `vipps-bench client` does.
  const ref = (i) => `${prefix}-${String(i % 16).padStart(8, "0")}`;
  const sdk = new EPayment({ ...creds, useTestMode: true });
  const check = (r) => { if (!r || r.reference === undefined) throw new Error(`unexpected answer: ${JSON.stringify(r)}`); };
  const call = roundOp === "get"
    ? async (i) => check(await sdk.getPayment(ref(i)))
    : async (i) => check(await sdk.capturePayment(ref(i), { modificationAmount: { currency: "NOK", value: 1 } }));
  await load(c, 3000, call);
  const s = await load(c, n, call);
  console.log(`RPS=${s.rps.toFixed(0)}\nP50=${s.p50.toFixed(0)}\nP99=${s.p99.toFixed(0)}`);
  process.exit(0);
}

await fetch(`${EMU}/_emulator/seed`, { method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ payments: 4, prefix: "nodebench", authorized: true, amount: 65000000 }) });

// Token requests for 1,000 concurrent calls on a cold client.
globalThis.__tokenRequests = 0;
const cold = new EPayment({ ...creds, useTestMode: true });
await Promise.all(Array.from({ length: 1000 }, () => cold.getPayment("nodebench-00000000")));
const oldSdkTokens = globalThis.__tokenRequests;
globalThis.__tokenRequests = 0;
const mp = Client({ merchantSerialNumber: creds.merchantSerialNumber, subscriptionKey: creds.subscriptionKey, useTestMode: true, retryRequests: false });
await Promise.all(Array.from({ length: 1000 }, async () => {
  const t = await mp.auth.getToken(creds.clientId, creds.clientSecret);
  return mp.payment.info(t.data.access_token, "nodebench-00000000");
}));
const newSdkTokens = globalThis.__tokenRequests;
console.log(`## Token requests for 1,000 concurrent calls on a cold client (Node SDKs)\n`);
console.log(`@vippsno/vipps-sdk 0.9.13: ${oldSdkTokens}  \n@vippsmobilepay/sdk 2.4.2 (no token cache; documented usage fetches one per call): ${newSdkTokens}\n`);

console.log("## Official Node SDKs against the emulator\n");
console.log("| operation | requests/s | p50 µs | p99 µs |\n|---|---|---|---|");
const warm = new EPayment({ ...creds, useTestMode: true });
await warm.getPayment("nodebench-00000000");
const token = (await mp.auth.getToken(creds.clientId, creds.clientSecret)).data.access_token;
for (const [c, n] of [[1, scale(5000)], [32, scale(40000)]]) {
  row(`get payment, @vippsno/vipps-sdk, concurrency ${c}`, await load(c, n, () => warm.getPayment("nodebench-00000000")));
  row(`get payment, @vippsmobilepay/sdk, concurrency ${c}`, await load(c, n, async () => {
    const r = await mp.payment.info(token, "nodebench-00000000");
    if (!r.ok) throw new Error(JSON.stringify(r.error));
  }));
}
let k = 0;
for (const [c, n] of [[1, scale(3000)], [32, scale(20000)]]) {
  const a = `nodebench-0000000${k++}`;
  const b = `nodebench-0000000${k++}`;
  row(`capture, @vippsno/vipps-sdk, concurrency ${c}`, await load(c, n, () => warm.capturePayment(a, { modificationAmount: { currency: "NOK", value: 1 } })));
  row(`capture, @vippsmobilepay/sdk, concurrency ${c}`, await load(c, n, async () => {
    const r = await mp.payment.capture(token, b, { modificationAmount: { currency: "NOK", value: 1 } });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
  }));
}
