// Every operation of the official Node SDKs for the APIs the emulator has, run against an
// emulator at EMU_URL: @vippsmobilepay/sdk (Access Token, ePayment, Checkout, Webhooks,
// Recurring) and
// @vippsno/vipps-sdk, the SDK of the seed document (its 7 ePayment and 2 Checkout methods).
// Started by conformance/node-sdk.sh, with bench/node/preload.cjs pointing the SDK's fetch
// at the emulator. Exits non-zero when a call fails or answers something unexpected.
import { Client } from "@vippsmobilepay/sdk";
import { Checkout, EPayment } from "@vippsno/vipps-sdk";

const clientId = "fb492b5e-7907-4d83-bc20-c7fb60ca35de";
const clientSecret = "Y8Kteew6GE3ZmeycEt6egg==";
const client = Client({
  merchantSerialNumber: "123456",
  subscriptionKey: "0f14ebcab0eb4b29ae0cb90d91b4a84a",
  useTestMode: true,
  retryRequests: false,
  pluginName: "conformance",
  pluginVersion: "1.0.0",
  systemName: "vipps-rs",
  systemVersion: "0.1.0",
});

let failed = 0;
function check(name, result, test = () => true) {
  const ok = result.ok && test(result.data);
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${JSON.stringify(result).slice(0, 400)}`}`);
  if (!ok) failed++;
  return result.data;
}

let token = check("auth.getToken", await client.auth.getToken(clientId, clientSecret), (d) => !!d.access_token).access_token;

const payment = (reference, extra = {}) => ({
  amount: { currency: "NOK", value: 10000 },
  paymentMethod: { type: "WALLET" },
  customer: { phoneNumber: "4791234567" },
  reference,
  userFlow: "WEB_REDIRECT",
  returnUrl: `https://example.com/return?reference=${reference}`,
  paymentDescription: "Socks",
  ...extra,
});
const stamp = Date.now();
const ref = `node-sdk-${stamp}`;
check("payment.create", await client.payment.create(token, payment(ref, { profile: { scope: "name email" } })),
  (d) => d.reference === ref && d.redirectUrl.includes("token="));
check("payment.forceApprove", await client.payment.forceApprove(token, ref, { customer: { phoneNumber: "4791234567" } }));
const info = check("payment.info", await client.payment.info(token, ref),
  (d) => d.state === "AUTHORIZED" && d.aggregate.authorizedAmount.value === 10000 && !!d.profile.sub);
check("payment.capture", await client.payment.capture(token, ref, { modificationAmount: { currency: "NOK", value: 6000 } }),
  (d) => d.aggregate.capturedAmount.value === 6000);
check("payment.refund", await client.payment.refund(token, ref, { modificationAmount: { currency: "NOK", value: 1000 } }),
  (d) => d.aggregate.refundedAmount.value === 1000);
check("payment.cancel", await client.payment.cancel(token, ref),
  (d) => d.aggregate.cancelledAmount.value === 4000);
check("payment.history", await client.payment.history(token, ref),
  (d) => d.map((e) => e.name).join(",") === "CREATED,AUTHORIZED,CAPTURED,REFUNDED,CANCELLED");
// A refused operation comes back as the SDK's typed error, not a crash.
const over = await client.payment.capture(token, ref, { modificationAmount: { currency: "NOK", value: 999999 } });
console.log(`${over.ok ? "FAIL" : "ok  "} payment.capture beyond the authorized amount is refused`);
if (over.ok) failed++;

// The profile behind the payment's sub (the SDK has no Userinfo call: plain fetch, as its docs show).
const sub = info?.profile?.sub;
const userinfo = await fetch(`https://apitest.vipps.no/vipps-userinfo-api/userinfo/${sub}`, {
  headers: { Authorization: `Bearer ${token}` },
});
const profile = await userinfo.json();
const userinfoOk = userinfo.status === 200 && profile.given_name === "Ola" && profile.email && !profile.phone_number;
console.log(`${userinfoOk ? "ok  " : "FAIL"} userinfo${userinfoOk ? "" : `: ${userinfo.status} ${JSON.stringify(profile)}`}`);
if (!userinfoOk) failed++;

// A receipt sent with the official SDK's createPayment (its `Receipt` type), read back through the
// Order Management API (the SDK has no Order Management calls: plain fetch, as for Userinfo).
const receiptRef = `node-sdk-receipt-${stamp}`;
const receipt = {
  orderLines: [
    { name: "socks", id: "line_item_1", totalAmount: 8000, totalAmountExcludingTax: 6400, totalTaxAmount: 1600,
      taxRate: 2500, unitInfo: { unitPrice: 4000, quantity: "2", quantityUnit: "PCS" }, discount: 0 },
    { name: "Home Delivery", id: "delivery", totalAmount: 2000, totalAmountExcludingTax: 1600, totalTaxAmount: 400,
      taxRate: 2500, isShipping: true },
  ],
  bottomLine: { currency: "NOK", posId: "pos_122", receiptNumber: "0527013501" },
};
check("payment.create with a receipt", await client.payment.create(token, payment(receiptRef, { receipt })),
  (d) => d.reference === receiptRef);
const om = (method, path, body) => fetch(`https://apitest.vipps.no/order-management${path}`, {
  method,
  headers: { Authorization: `Bearer ${token}`, "Ocp-Apim-Subscription-Key": "0f14ebcab0eb4b29ae0cb90d91b4a84a",
    "Merchant-Serial-Number": "123456", "Content-Type": "application/json" },
  body: body && JSON.stringify(body),
});
const categoryPut = await om("PUT", `/v2/ecom/categories/${receiptRef}`,
  { category: "ORDER_CONFIRMATION", orderDetailsUrl: "https://example.com/orders/1" });
const order = await (await om("GET", `/v2/ecom/${receiptRef}`)).json();
const orderOk = categoryPut.status === 200 && order.receipt?.orderLines?.length === 2 &&
  order.receipt.orderLines[1].isShipping === true && order.category?.category === "ORDER_CONFIRMATION";
console.log(`${orderOk ? "ok  " : "FAIL"} order-management receipt and category${orderOk ? "" : `: ${categoryPut.status} ${JSON.stringify(order)}`}`);
if (!orderOk) failed++;

const session = check("checkout.create", await client.checkout.create(clientId, clientSecret, {
  merchantInfo: { callbackUrl: "https://example.com/callback", returnUrl: "https://example.com/return", callbackAuthorizationToken: "secret-token" },
  transaction: { amount: { currency: "NOK", value: 10000 }, paymentDescription: "Socks" },
}), (d) => !!d.token && !!d.checkoutFrontendUrl && !!d.pollingUrl);
const sessionRef = session?.pollingUrl?.split("/").pop();
check("checkout.info", await client.checkout.info(clientId, clientSecret, sessionRef),
  (d) => d.sessionState === "SessionCreated" && d.reference === sessionRef);
// A subscription without an initial payment: the SDK makes up the top-level reference.
const sub2 = check("checkout.create (subscription)", await client.checkout.create(clientId, clientSecret, {
  type: "SUBSCRIPTION",
  merchantInfo: { callbackUrl: "https://example.com/callback", returnUrl: "https://example.com/return", callbackAuthorizationToken: "secret-token" },
  subscription: { amount: { currency: "NOK", value: 9900 }, productName: "Socks every month", interval: { unit: "MONTH", count: 1 }, merchantAgreementUrl: "https://example.com/agreement" },
}), (d) => !!d.token);
check("checkout.info (subscription)", await client.checkout.info(clientId, clientSecret, sub2?.pollingUrl?.split("/").pop()),
  (d) => d.subscriptionDetails?.state === "PENDING");

const hook = check("webhook.register", await client.webhook.register(token, {
  url: "https://example.com/webhooks", events: ["epayments.payment.captured.v1"],
}), (d) => !!d.id && !!d.secret);
check("webhook.list", await client.webhook.list(token), (d) => d.webhooks.some((w) => w.id === hook.id));
check("webhook.delete", await client.webhook.delete(token, hook.id));
check("webhook.list after delete", await client.webhook.list(token), (d) => !d.webhooks.some((w) => w.id === hook.id));

// Recurring: every agreement and charge call of the SDK. Charges are processed by the
// emulator's clock, moved through its control plane.
const emu = process.env.EMU_URL;
const advance = (seconds) => fetch(`${emu}/_emulator/clock/advance`, {
  method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ seconds }),
}).then((r) => r.json());
const emuToday = async () => (await (await fetch(`${emu}/_emulator/clock`)).json()).now.slice(0, 10);
const daysFrom = (day, n) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86400e3).toISOString().slice(0, 10);
const draft = (extra = {}) => ({
  pricing: { type: "LEGACY", amount: 49900, currency: "NOK" },
  interval: { unit: "MONTH", count: 1 },
  merchantRedirectUrl: "https://example.com/subscriptions/return",
  merchantAgreementUrl: "https://example.com/subscriptions/mine",
  phoneNumber: "4791234567",
  productName: "Node SDK subscription",
  ...extra,
});
const agr = check("agreement.create", await client.recurring.agreement.create(token, draft({
  initialCharge: { amount: 10000, description: "Router", transactionType: "RESERVE_CAPTURE" },
})), (d) => !!d.agreementId && !!d.vippsConfirmationUrl && !!d.chargeId);
check("agreement.forceAccept", await client.recurring.agreement.forceAccept(token, agr.agreementId, { phoneNumber: "4791234567" }));
check("agreement.info", await client.recurring.agreement.info(token, agr.agreementId), (d) => d.status === "ACTIVE");
check("agreement.list", await client.recurring.agreement.list(token, "ACTIVE"), (d) => d.some((a) => a.id === agr.agreementId));
check("agreement.update", await client.recurring.agreement.update(token, agr.agreementId, { productName: "Renamed subscription" }));
check("agreement.info after update", await client.recurring.agreement.info(token, agr.agreementId),
  (d) => d.productName === "Renamed subscription");
check("charge.info (reserved initial charge)", await client.recurring.charge.info(token, agr.agreementId, agr.chargeId),
  (d) => d.status === "RESERVED" && d.amount === 10000);
check("charge.capture", await client.recurring.charge.capture(token, agr.agreementId, agr.chargeId, { amount: 10000, description: "Shipped" }));
check("charge.refund", await client.recurring.charge.refund(token, agr.agreementId, agr.chargeId, { amount: 2500, description: "Goodwill" }));
check("charge.infoById", await client.recurring.charge.infoById(token, agr.chargeId),
  (d) => d.status === "PARTIALLY_REFUNDED" && d.summary.refunded === 2500);
const today = await emuToday();
const next = check("charge.create", await client.recurring.charge.create(token, agr.agreementId, {
  amount: 49900, description: "Next month", due: daysFrom(today, 3), retryDays: 2, transactionType: "DIRECT_CAPTURE",
}), (d) => !!d.chargeId);
const later = check("charge.create (to cancel)", await client.recurring.charge.create(token, agr.agreementId, {
  amount: 49900, description: "Month after", due: daysFrom(today, 40), retryDays: 2, transactionType: "DIRECT_CAPTURE",
}), (d) => !!d.chargeId);
check("charge.list", await client.recurring.charge.list(token, agr.agreementId), (d) => d.length === 3);
check("charge.list (PENDING)", await client.recurring.charge.list(token, agr.agreementId, "PENDING"),
  (d) => d.length === 1 && d[0].id === later.chargeId);
check("charge.cancel", await client.recurring.charge.cancel(token, agr.agreementId, later.chargeId));
const batch = check("charge.createMultiple", await client.recurring.charge.createMultiple(token, [
  { agreementId: agr.agreementId, amount: 20000, description: "Extra", due: daysFrom(today, 3), retryDays: 0,
    transactionType: "DIRECT_CAPTURE", orderId: `node-batch-${stamp}` },
  { agreementId: "agr_doesnotexist", amount: 20000, description: "Extra", due: daysFrom(today, 3), retryDays: 0,
    transactionType: "DIRECT_CAPTURE", orderId: `node-batch-bad-${stamp}` },
]), (d) => d.validCharges.length === 1 && d.invalidCharges.length === 1);
await advance(4 * 86400);
// Four days on, the access token has expired: the SDK's user fetches a new one.
token = check("auth.getToken after the clock moved", await client.auth.getToken(clientId, clientSecret),
  (d) => !!d.access_token).access_token;
check("charge.info after its due date", await client.recurring.charge.info(token, agr.agreementId, next.chargeId),
  (d) => d.status === "CHARGED");
check("charge.info (batch) after its due date", await client.recurring.charge.infoById(token, batch.validCharges[0]),
  (d) => d.status === "CHARGED");
check("agreement.update (stop)", await client.recurring.agreement.update(token, agr.agreementId, { status: "STOPPED" }));
check("agreement.info after stop", await client.recurring.agreement.info(token, agr.agreementId), (d) => d.status === "STOPPED");
const refused = await client.recurring.charge.create(token, agr.agreementId, {
  amount: 100, description: "After stop", due: daysFrom(await emuToday(), 3), retryDays: 0, transactionType: "DIRECT_CAPTURE",
});
console.log(`${refused.ok ? "FAIL" : "ok  "} charge.create on a stopped agreement is refused`);
if (refused.ok) failed++;

// @vippsno/vipps-sdk: it throws on an error and returns the body.
async function step(name, f, test = () => true) {
  try {
    const data = await f();
    const ok = test(data);
    console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${JSON.stringify(data).slice(0, 400)}`}`);
    if (!ok) failed++;
    return data;
  } catch (e) {
    console.log(`FAIL ${name}: ${e?.message ?? e}`);
    failed++;
  }
}
const config = {
  clientId, clientSecret, subscriptionKey: "0f14ebcab0eb4b29ae0cb90d91b4a84a", merchantSerialNumber: "123456",
  useTestMode: true, pluginName: "conformance", pluginVersion: "1.0.0",
};
const ep = new EPayment(config);
const ref2 = `node-seed-sdk-${stamp}`;
await step("vipps-sdk createPayment", () => ep.createPayment(payment(ref2)), (d) => d.reference === ref2);
await step("vipps-sdk forceApprovePayment", () => ep.forceApprovePayment(ref2, { customer: { phoneNumber: "4791234567" } }));
await step("vipps-sdk getPayment", () => ep.getPayment(ref2), (d) => d.state === "AUTHORIZED");
await step("vipps-sdk capturePayment", () => ep.capturePayment(ref2, { modificationAmount: { currency: "NOK", value: 10000 } }),
  (d) => d.aggregate.capturedAmount.value === 10000);
await step("vipps-sdk refundPayment", () => ep.refundPayment(ref2, { modificationAmount: { currency: "NOK", value: 2500 } }),
  (d) => d.aggregate.refundedAmount.value === 2500);
const ref3 = `node-seed-cancel-${stamp}`;
await step("vipps-sdk cancelPayment", async () => {
  await ep.createPayment(payment(ref3));
  return ep.cancelPayment(ref3);
}, (d) => d.state === "TERMINATED");
await step("vipps-sdk getPaymentEventLog", () => ep.getPaymentEventLog(ref2),
  (d) => d.map((e) => e.name).join(",") === "CREATED,AUTHORIZED,CAPTURED,REFUNDED");
const co = new Checkout(config);
const ref4 = `node-seed-checkout-${stamp}`;
// The seed document's example, with the two things the API requires and the example leaves
// out (transaction.paymentDescription; priority and isDefault of a fixed option).
await step("vipps-sdk createSession", () => co.createSession({
  merchantInfo: { callbackUrl: "https://example.com/vipps/payment-callback", returnUrl: "https://example.com/vipps",
    callbackAuthorizationToken: "secret-token-to-verify-callback" },
  transaction: { amount: { currency: "NOK", value: 1000 }, reference: ref4, paymentDescription: "Socks" },
  logistics: { dynamicOptionsCallback: "https://example.com/vipps/shipping", fixedOptions: [{ brand: "POSTEN",
    amount: { currency: "NOK", value: 100 }, id: "shipping-option-1", description: "Pakke levert på døren",
    priority: 0, isDefault: true }] },
}), (d) => !!d.checkoutFrontendUrl);
await step("vipps-sdk getSessionDetails", () => co.getSessionDetails(ref4), (d) => d.sessionState === "SessionCreated");

process.exit(failed ? 1 : 0);
