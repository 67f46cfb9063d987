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
