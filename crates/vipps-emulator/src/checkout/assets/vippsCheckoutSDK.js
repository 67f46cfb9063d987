/* Vipps MobilePay Checkout frontend SDK, as served by the local emulator.
 *
 *   var checkout = VippsCheckout({checkoutFrontendUrl, iFrameContainerId, token, language,
 *                                 on: {shipping_option_selected, total_amount_changed,
 *                                      session_status_changed, shipping_address_changed,
 *                                      customer_information_changed}});
 *   checkout.redirectToCurrentPageWithToken(token);
 *   VippsCheckoutDirect({checkoutFrontendUrl, token, language});
 *
 * Without `token`, the `token` query parameter of the current page is used ("sticky" session).
 */
(function (w) {
  "use strict";
  var EVENTS = ["shipping_option_selected", "total_amount_changed", "session_status_changed",
    "shipping_address_changed", "customer_information_changed"];

  function queryToken() {
    try { return new URLSearchParams(w.location.search).get("token"); } catch (e) { return null; }
  }

  function frameUrl(base, token, language) {
    var u = new URL(base, w.location.href);
    u.searchParams.set("token", token);
    if (language) { u.searchParams.set("lang", language); }
    return u.toString();
  }

  function VippsCheckout(options) {
    var opts = options || {};
    var on = opts.on || {};
    if (!opts.checkoutFrontendUrl) { throw new Error("VippsCheckout: checkoutFrontendUrl is required"); }
    var origin = new URL(opts.checkoutFrontendUrl, w.location.href).origin;
    var token = opts.token || queryToken();
    var iframe = null;

    function onMessage(ev) {
      if (!iframe || ev.source !== iframe.contentWindow || ev.origin !== origin) { return; }
      var m = ev.data;
      if (!m || m.source !== "vipps-checkout" || typeof m.type !== "string") { return; }
      if (m.type === "resize") {
        if (typeof m.data === "number" && m.data > 0) { iframe.style.height = (m.data + 24) + "px"; }
        return;
      }
      if (m.type === "redirect") {
        if (typeof m.data === "string" && /^(https?:|[a-z][a-z0-9+.-]*:)/i.test(m.data) && !/^javascript:/i.test(m.data)) {
          var target = m.data;
          setTimeout(function () { w.location.href = target; }, 800);
        }
        return;
      }
      if (EVENTS.indexOf(m.type) >= 0 && typeof on[m.type] === "function") {
        try { on[m.type](m.data); } catch (e) { if (w.console) { w.console.error(e); } }
      }
    }
    w.addEventListener("message", onMessage);

    var api = {
      iframe: null,
      redirectToCurrentPageWithToken: function (t) {
        var u = new URL(w.location.href);
        u.searchParams.set("token", t);
        w.location.href = u.toString();
      },
      destroy: function () {
        w.removeEventListener("message", onMessage);
        if (iframe && iframe.parentNode) { iframe.parentNode.removeChild(iframe); }
        iframe = null;
        api.iframe = null;
      }
    };

    if (token) {
      var container = document.getElementById(opts.iFrameContainerId);
      if (!container) { throw new Error("VippsCheckout: no element with id '" + opts.iFrameContainerId + "'"); }
      iframe = document.createElement("iframe");
      iframe.src = frameUrl(opts.checkoutFrontendUrl, token, opts.language);
      iframe.title = "Vipps MobilePay Checkout";
      iframe.id = "vipps-checkout-iframe";
      iframe.setAttribute("allow", "payment");
      iframe.style.width = "100%";
      iframe.style.minHeight = "600px";
      iframe.style.border = "0";
      container.appendChild(iframe);
      api.iframe = iframe;
    }
    return api;
  }

  function VippsCheckoutDirect(options) {
    var opts = options || {};
    if (!opts.checkoutFrontendUrl) { throw new Error("VippsCheckoutDirect: checkoutFrontendUrl is required"); }
    var token = opts.token || queryToken();
    if (!token) { throw new Error("VippsCheckoutDirect: token is required"); }
    w.location.href = frameUrl(opts.checkoutFrontendUrl, token, opts.language);
  }

  // `window.VippsCheckout = {…}` set before this script loads: initialise with it.
  var preset = w.VippsCheckout;
  w.VippsCheckout = VippsCheckout;
  w.VippsCheckoutDirect = VippsCheckoutDirect;
  if (preset && typeof preset === "object" && preset.checkoutFrontendUrl) {
    var start = function () { w.vippsCheckout = VippsCheckout(preset); };
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
  }
})(window);
