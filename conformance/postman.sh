#!/usr/bin/env bash
# Runs the official Postman collections (../shared/specs, or $SPECS) against a fresh emulator
# with newman, and fails when any request gets an unexpected status.
# Needs Node and npm (newman is installed into conformance/node). Not part of the test suite:
# the collections are not in this repository and newman comes from npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
specs=${SPECS:-$root/../shared/specs}
work=$(mktemp -d)
trap 'kill ${emu_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT

if [ ! -x "$here/node/node_modules/.bin/newman" ]; then
  mkdir -p "$here/node"
  (cd "$here/node" && npm install --silent --no-audit --no-fund newman@6 >/dev/null)
fi
newman=$here/node/node_modules/.bin/newman
(cd "$root" && cargo build --release --quiet --bin vipps)

VIPPS_LOG=error "$root/target/release/vipps" emulator --port 0 >"$work/emu.out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do grep -q listening "$work/emu.out" && break; sleep 0.05; done
base=$(grep -o 'http://[^ ]*' "$work/emu.out" | head -1)
base=${base%/}

# The Webhooks collection fetches its token from apitest.vipps.no, out of reach here: the
# token is fetched from the emulator once and given to every collection.
token=$(curl -sf -X POST "$base/accesstoken/get" -H "client_id: fb492b5e-7907-4d83-bc20-c7fb60ca35de" \
  -H "client_secret: Y8Kteew6GE3ZmeycEt6egg==" -H "Ocp-Apim-Subscription-Key: 0f14ebcab0eb4b29ae0cb90d91b4a84a" |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).access_token))')

cat >"$work/env.json" <<JSON
{"values": [
  {"key": "base_url", "value": "$base"},
  {"key": "access_token", "value": "$token"},
  {"key": "orderId", "value": "postman-checkout-$(date +%s)"},
  {"key": "termsAndConditionsUrl", "value": "https://shop.example/terms"},
  {"key": "dynamicOptionsCallbackUrl", "value": "https://shop.example/vipps/shipping"},
  {"key": "firstName", "value": "Ada"},
  {"key": "lastName", "value": "Lovelace"},
  {"key": "email", "value": "ada@example.com"},
  {"key": "streetAddress", "value": "Robert Levins gate 5"},
  {"key": "postalCode", "value": "0154"},
  {"key": "city", "value": "Oslo"},
  {"key": "country", "value": "NO"},
  {"key": "client_id", "value": "fb492b5e-7907-4d83-bc20-c7fb60ca35de"},
  {"key": "client_secret", "value": "Y8Kteew6GE3ZmeycEt6egg=="},
  {"key": "Ocp-Apim-Subscription-Key", "value": "0f14ebcab0eb4b29ae0cb90d91b4a84a"},
  {"key": "merchantSerialNumber", "value": "123456"},
  {"key": "internationalMobileNumber", "value": "4791234567"},
  {"key": "mobileNumber", "value": "91234567"},
  {"key": "currency", "value": "NOK"},
  {"key": "amount", "value": "1000"},
  {"key": "callbackPrefix", "value": "https://shop.example/vipps"},
  {"key": "consentRemovalPrefix", "value": "https://shop.example/vipps"},
  {"key": "shippingDetailsPrefix", "value": "https://shop.example/vipps"},
  {"key": "callbackUrl", "value": "https://shop.example/vipps/webhooks"},
  {"key": "fallBack", "value": "https://shop.example/fallback"},
  {"key": "transactionTextInitiate", "value": "Socks"},
  {"key": "transactionTextCapture", "value": "Socks shipped"},
  {"key": "transactionTextCancel", "value": "Socks cancelled"},
  {"key": "transactionTextRefund", "value": "Socks returned"},
  {"key": "shippingCost1", "value": "99"},
  {"key": "shippingCost2", "value": "199"},
  {"key": "shippingMethod1", "value": "Posten"},
  {"key": "shippingMethod2", "value": "Helthjem"},
  {"key": "vipps_system_name", "value": "newman"},
  {"key": "vipps_system_version", "value": "6"},
  {"key": "vipps_system_plugin_name", "value": "official-postman-collection"},
  {"key": "vipps_system_plugin_version", "value": "1"},
  {"key": "idempotency_key", "value": "{{\$guid}}"},
  {"key": "interval", "value": "MONTH"},
  {"key": "intervalCount", "value": "1"},
  {"key": "price", "value": "49900"},
  {"key": "campaignPrice", "value": "100"},
  {"key": "productName", "value": "Premier League subscription"},
  {"key": "merchantRedirectUrl", "value": "https://shop.example/subscriptions/return"},
  {"key": "merchantAgreementUrl", "value": "https://shop.example/subscriptions/mine"},
  {"key": "amount_initial", "value": "49900"},
  {"key": "description_initial", "value": "First month"},
  {"key": "amount_charge", "value": "49900"},
  {"key": "description_charge", "value": "Next month"},
  {"key": "merchantOrderId", "value": "{{\$guid}}"},
  {"key": "retryDays", "value": "2"},
  {"key": "amount_refund", "value": "1000"},
  {"key": "description_refund", "value": "Goodwill"}
]}
JSON

failed=0
# run NAME EXPECTED-STATUSES REQUEST...: one collection, its requests in this order, each
# expected to answer with the status at the same position.
run() {
  local name=$1 expected=$2
  shift 2
  node "$here/order.mjs" "$specs/$name.postman_collection.json" "$work/$name.json" "$@"
  if [ -n "${FIXUP:-}" ]; then sed -i "$FIXUP" "$work/$name.json"; fi
  "$newman" run "$work/$name.json" -e "$work/env.json" ${NEWMAN_ENV:-} --reporters json \
    --reporter-json-export "$work/$name.out.json" >/dev/null 2>&1 || true
  local got
  got=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const codes = r.run.executions.map((e) => (e.response ? e.response.code : "none")).join(" ");
    // The Webhooks collection'"'"'s "Delete All" test script does not parse (commas missing in
    // an object literal): a bug of the collection, not a failed check.
    const failed = r.run.failures.filter((f) => f.error.name !== "SyntaxError").length;
    console.log(failed ? `${codes} (${failed} failed assertions)` : codes);
  ' "$work/$name.out.json")
  if [ "$got" = "$expected" ]; then
    echo "ok   $name: $got"
  else
    echo "FAIL $name: expected $expected, got $got"
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      for (const e of r.run.executions) {
        const body = e.response && e.response.stream ? Buffer.from(e.response.stream.data).toString() : "";
        console.log(`  ${e.item.name}: ${e.response ? e.response.code : "no response"} ${body.slice(0, 300)}`);
      }
      for (const f of r.run.failures) console.log(`  failed: ${f.source.name}: ${f.error.message}`);
    ' "$work/$name.out.json"
    failed=1
  fi
}

run epayment "200 201 201 201 201 201 200 201 200 200 200 200 200 200" \
  "Get Access Token" \
  "Create payment - Web redirect" "Create payment - QR" "Create payment - Push request" \
  "Create payment - Native redirect" "Create payment - Card" "Cancel payment" \
  "Create payment - User info" "Force approve payment" "Get payment" "Get Userinfo" \
  "Capture payment" "Refund payment" "Get payment event log"

run ecom "200 200 200 200 200 200 200 200 200 200" \
  "Get Access Token" \
  "Initiate Payment" "Initiate Payment - Express Checkout" "Cancel Payment" \
  "Initiate Payment - Profile flow" "Force Approve Payment" "Get Payment Details" "Get Userinfo" \
  "Capture Payment" "Refund Payment"

run checkout "200 200" "Create a Checkout session" "Get session info"

run webhooks "201 200 204 200" "Register" "Get All" "Delete Last" "Delete All"

# Recurring's collection gives phone numbers with the country code (4791234567), eCom's without.
# Its draft requests send `Authorization: bearer …`, which the API refuses with 401 ("Bearer" is
# case-sensitive, knowledge-base--errors.md; the emulator does too, tests/recurring_api.rs): the
# run corrects the word so the requests reach the API's own rules.
FIXUP='s/"bearer {{access_token}}"/"Bearer {{access_token}}"/g' \
NEWMAN_ENV="--env-var mobileNumber=4791234567" run recurring-v3 \
  "200 201 204 200 200 204 204 204 204 201 200 200 400 400 204 201 201 201 201 204 201 201 201 201 201 201 201 201 201 204 200 204 200" \
  "Get Access Token" \
  "Draft Agreement - Legacy pricing and reserve initial charge" "(Test only) Force accept agreement" \
  "Get Agreement" "List Agreements" \
  "Update Agreement - Product name" "Update Agreement - Product description" \
  "Update Agreement - Merchant agreement url" "Update Agreement - Legacy pricing amount" \
  "Create Charge - Reserve capture" "Get Charge" "List Charges" \
  "Capture reserved charge" "Refund Charge" "Cancel Charge" "Create Charge - Direct capture" \
  "Draft Agreement - Legacy pricing" "Draft Agreement - Legacy pricing and direct capture initial charge" \
  "Draft Agreement - Variable pricing" "Update Agreement - Suggested max amount" \
  "Draft Agreement - Price campaign" \
  "Draft Agreement - Price campaign and initial charge" "Draft Agreement - Period campaign" \
  "Draft Agreement - Period campaign and initial charge" "Draft Agreement - Event campaign" \
  "Draft Agreement - Event campaign and initial charge" "Draft Agreement - Full flex campaign" \
  "Draft Agreement - Full flex campaign and initial charge" \
  "Draft Agreement - Profile sharing flow" "(Test only) Force accept agreement" "Get Agreement" \
  "Stop Agreement" "Get Userinfo"

exit $failed
