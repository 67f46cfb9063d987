-- wrk script: POST /epayment/v1/payments with a fresh reference and Idempotency-Key per request.
-- Environment: WRK_TOKEN (bearer token), WRK_RUN (a string unique to this run).
local token = os.getenv("WRK_TOKEN") or "any-token"
local run = os.getenv("WRK_RUN") or tostring(os.time())
local n = 0

request = function()
  n = n + 1
  local ref = string.format("wrk-%s-%08d", run, n)
  local body = '{"amount":{"currency":"NOK","value":1000},"paymentMethod":{"type":"WALLET"},'
    .. '"reference":"' .. ref .. '","userFlow":"WEB_REDIRECT","returnUrl":"https://example.com/r"}'
  return wrk.format("POST", "/epayment/v1/payments", {
    ["Authorization"] = "Bearer " .. token,
    ["Ocp-Apim-Subscription-Key"] = "0f14ebcab0eb4b29ae0cb90d91b4a84a",
    ["Merchant-Serial-Number"] = "123456",
    ["Idempotency-Key"] = ref,
    ["Content-Type"] = "application/json",
  }, body)
end
