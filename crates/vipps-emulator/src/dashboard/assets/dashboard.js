// The emulator's dashboard: lists and details from /_emulator/objects, deliveries from
// /_emulator/deliveries, actions through the control plane. Plain DOM, no framework; data is
// only ever put on the page as text (never as HTML).
(function () {
  "use strict";

  var PAGE_SIZE = 50;
  var POLL_MS = 1000;

  var KINDS = {
    payment: { title: "Payments", states: ["CREATED", "AUTHORIZED", "ABORTED", "EXPIRED", "TERMINATED"] },
    checkout: {
      title: "Checkout sessions",
      states: ["SessionCreated", "PaymentInitiated", "PaymentSuccessful", "PaymentTerminated", "SessionExpired"]
    },
    ecom: {
      title: "eCom orders",
      states: ["INITIATE", "PROCESSING", "RESERVE", "CAPTURE", "SALE", "REFUND", "CANCEL", "VOID", "REJECTED", "FAILED"]
    },
    agreement: { title: "Recurring agreements", states: ["PENDING", "ACTIVE", "STOPPED", "EXPIRED"] },
    charge: {
      title: "Recurring charges",
      states: ["PENDING", "DUE", "CHARGED", "RESERVED", "PARTIALLY_CAPTURED", "FAILED", "REFUNDED",
        "PARTIALLY_REFUNDED", "CANCELLED"]
    },
    webhook: { title: "Webhooks", states: ["ACTIVE", "FAILING"] }
  };

  // What the customer can do to an object in its state: [button text, control-plane path, body].
  function actionsFor(o) {
    var id = encodeURIComponent(o.id);
    var msn = encodeURIComponent(o.msn);
    switch (o.kind) {
      case "payment":
        return o.state === "CREATED" ? [
          ["Approve", "/_emulator/payments/" + id + "/approve?msn=" + msn],
          ["Reject", "/_emulator/payments/" + id + "/reject?msn=" + msn]
        ] : [];
      case "ecom":
        // The control plane's payment actions also act on eCom orders.
        return o.state === "INITIATE" ? [
          ["Approve", "/_emulator/payments/" + id + "/approve?msn=" + msn],
          ["Reject", "/_emulator/payments/" + id + "/reject?msn=" + msn]
        ] : [];
      case "checkout":
        return o.state === "SessionCreated" || o.state === "PaymentInitiated" ? [
          ["Complete", "/_emulator/checkout/" + id + "/complete", { msn: o.msn }],
          ["Abort", "/_emulator/checkout/" + id + "/abort", { msn: o.msn }]
        ] : [];
      case "agreement":
        if (o.state === "PENDING") {
          return [["Accept", "/_emulator/agreements/" + id + "/accept", {}],
            ["Reject", "/_emulator/agreements/" + id + "/reject", {}]];
        }
        return o.state === "ACTIVE" ? [["Stop", "/_emulator/agreements/" + id + "/stop", {}]] : [];
      default:
        return [];
    }
  }

  var view = { kind: "payment", id: null, msn: null, before: null, olderCursors: [], next: null };
  var lastChanges = null;
  var $ = function (id) { return document.getElementById(id); };

  // ---------------------------------------------------------------- requests

  function call(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
        if (r.status === 401) {
          throw new Error("Not signed in: sign in at /_emulator/login");
        }
        if (!r.ok) {
          var why = data && (data.detail || data.title || data.message);
          throw new Error(method + " " + path.split("?")[0] + ": HTTP " + r.status + (why ? " (" + why + ")" : ""));
        }
        return data;
      });
    });
  }

  function notice(text, isError) {
    var n = $("notice");
    n.textContent = text;
    n.className = isError ? "error" : "";
  }

  function fail(e) { notice(String(e && e.message || e), true); }

  // ---------------------------------------------------------------- formatting

  function money(a) {
    if (!a) return "";
    return (a.value / 100).toFixed(2) + " " + a.currency + " (" + a.value + ")";
  }

  function when(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+/, "") : ""; }

  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }

  function cell(row, text, cls) { var td = el("td", text); if (cls) td.className = cls; row.appendChild(td); return td; }

  function detailHref(kind, id, msn) {
    return "#" + kind + "/" + encodeURIComponent(id) + (msn ? "?msn=" + encodeURIComponent(msn) : "");
  }

  // Replaces a tbody's rows, keeping keyboard focus on the same button when it is redrawn.
  function fillBody(tbody, rows) {
    var focused = document.activeElement;
    var key = focused && tbody.contains(focused) ? focused.getAttribute("data-key") : null;
    tbody.replaceChildren.apply(tbody, rows);
    if (key) {
      var again = tbody.querySelector('[data-key="' + CSS.escape(key) + '"]');
      if (again) again.focus();
    }
  }

  function actionButtons(o, after) {
    var box = el("div", null, { "class": "actions" });
    actionsFor(o).forEach(function (a) {
      var b = el("button", a[0], {
        type: "button",
        "data-key": o.kind + ":" + o.id + ":" + a[0],
        "aria-label": a[0] + " " + o.kind + " " + o.id
      });
      b.addEventListener("click", function () {
        b.disabled = true;
        call("POST", a[1], a[2]).then(function () {
          notice(a[0] + ": done for " + o.id + ".");
          return after();
        }).catch(fail).then(function () { b.disabled = false; });
      });
      box.appendChild(b);
    });
    return box;
  }

  // ---------------------------------------------------------------- the list

  function loadList() {
    var q = "kind=" + view.kind + "&limit=" + PAGE_SIZE;
    var ref = $("filter-reference").value.trim();
    var state = $("filter-state").value.trim();
    if (ref) q += "&reference=" + encodeURIComponent(ref);
    if (state) q += "&state=" + encodeURIComponent(state);
    if (view.before) q += "&before=" + view.before;
    return call("GET", "/_emulator/objects?" + q).then(renderList);
  }

  function renderList(page) {
    view.next = page.next || null;
    var rows = page.objects.map(function (o) {
      var tr = el("tr", null, { "data-id": o.id });
      var th = el("th", null, { scope: "row" });
      th.appendChild(el("a", o.id, { href: detailHref(o.kind, o.id, o.msn) }));
      tr.appendChild(th);
      cell(tr, o.msn);
      cell(tr, o.state, "state");
      cell(tr, money(o.amount), "num");
      cell(tr, when(o.created));
      cell(tr, "").appendChild(actionButtons(o, refresh));
      return tr;
    });
    if (!rows.length) {
      var tr = el("tr");
      var td = cell(tr, "Nothing here" + (view.before ? " on this page." : " yet."));
      td.colSpan = 6;
      rows.push(tr);
    }
    fillBody(document.querySelector("#objects tbody"), rows);
    $("objects-caption").textContent = "Newest first" + (view.before ? ", older page" : "") +
      (page.next ? "; older ones follow" : "");
    $("older").disabled = !page.next;
    $("newest").disabled = !view.before;
  }

  // ---------------------------------------------------------------- one object

  function loadDetail() {
    var path = "/_emulator/objects/" + view.kind + "/" + encodeURIComponent(view.id) +
      (view.msn ? "?msn=" + encodeURIComponent(view.msn) : "");
    return call("GET", path).then(function (d) {
      renderDetail(d);
      if (!d.deliveriesReference) return renderDeliveries([], d);
      return call("GET", "/_emulator/deliveries?limit=1000&reference=" + encodeURIComponent(d.deliveriesReference))
        .then(function (r) { renderDeliveries(r.deliveries || [], d); });
    });
  }

  function renderDetail(d) {
    $("detail-title").textContent = KINDS[d.kind].title.replace(/s$/, "") + " " + d.id;
    $("back").href = "#" + d.kind;
    var actions = $("detail-actions");
    var focused = document.activeElement && actions.contains(document.activeElement)
      ? document.activeElement.getAttribute("data-key") : null;
    actions.replaceChildren(actionButtons(d, refresh));
    if (focused) {
      var again = actions.querySelector('[data-key="' + CSS.escape(focused) + '"]');
      if (again) again.focus();
    }
    var facts = [["Merchant", d.msn], ["State", d.state], ["Amount", money(d.amount)], ["Created", when(d.created)]]
      .concat(d.facts || []);
    var dl = $("facts");
    dl.replaceChildren();
    facts.forEach(function (f) { dl.appendChild(el("dt", f[0])); dl.appendChild(el("dd", f[1])); });

    renderOrder(d.order);

    var currency = d.amount ? d.amount.currency : "";
    var amountRows = ["authorized", "captured", "refunded", "cancelled"].filter(function (k) {
      return d.amounts && d.amounts[k] !== undefined;
    }).map(function (k) {
      var tr = el("tr", null, { "data-amount": k });
      tr.appendChild(el("th", k[0].toUpperCase() + k.slice(1), { scope: "row" }));
      cell(tr, money({ value: d.amounts[k], currency: currency }), "num");
      return tr;
    });
    if (!amountRows.length) {
      var none = el("tr");
      cell(none, d.kind === "checkout" ? "Moved on the session's payment (see Related)." : "No amounts.").colSpan = 2;
      amountRows.push(none);
    }
    fillBody(document.querySelector("#amounts tbody"), amountRows);

    fillBody(document.querySelector("#history tbody"), (d.history || []).map(function (h) {
      var tr = el("tr");
      cell(tr, when(h.at));
      cell(tr, h.name, "state");
      cell(tr, h.amount === undefined ? "" : money({ value: h.amount, currency: currency }), "num");
      cell(tr, h.success ? "yes" : "no", h.success ? "" : "failed");
      return tr;
    }));

    var links = $("links");
    links.replaceChildren();
    (d.links || []).forEach(function (l) {
      var li = el("li", l.rel + ": ");
      li.appendChild(el("a", l.id, { href: detailHref(l.kind, l.id, d.msn) }));
      links.appendChild(li);
    });
    if (!links.children.length) links.appendChild(el("li", "None."));
  }

  // What Order Management keeps for the object: its receipt (shipping after the items,
  // returns negative, then VAT and total) and the latest category with its image.
  function renderOrder(o) {
    $("order").hidden = !o;
    var rows = [];
    var category = $("order-category");
    category.replaceChildren();
    if (!o) return fillBody(document.querySelector("#receipt tbody"), rows);
    if (o.receipt) {
      var cur = o.receipt.bottomLine.currency;
      var lines = o.receipt.orderLines.filter(function (l) { return !l.isShipping; })
        .concat(o.receipt.orderLines.filter(function (l) { return l.isShipping; }));
      var tax = 0, total = 0;
      lines.forEach(function (l) {
        var sign = l.isReturn ? -1 : 1;
        tax += sign * l.totalTaxAmount;
        total += sign * l.totalAmount;
        var tr = el("tr", null, { "data-line": l.id });
        cell(tr, (l.isShipping ? "Shipping: " : "") + l.name + (l.isReturn ? " (returned)" : ""));
        var u = l.unitInfo;
        cell(tr, u ? u.quantity + " " + (u.quantityUnit || "").toLowerCase() : "");
        cell(tr, money({ value: sign * l.totalAmount, currency: cur }), "num");
        rows.push(tr);
      });
      // The tip counts towards the total, as on the landing page.
      var tip = o.receipt.bottomLine.tipAmount || 0;
      if (tip > 0) {
        var tipRow = el("tr", null, { id: "receipt-tip" });
        tipRow.appendChild(el("th", "Tip", { scope: "row", colspan: "2" }));
        cell(tipRow, money({ value: tip, currency: cur }), "num");
        rows.push(tipRow);
      }
      total += tip;
      [["VAT", tax, "receipt-vat"], ["Total", total, "receipt-total"]].forEach(function (t) {
        var tr = el("tr", null, { id: t[2] });
        tr.appendChild(el("th", t[0], { scope: "row", colspan: "2" }));
        cell(tr, money({ value: t[1], currency: cur }), "num");
        rows.push(tr);
      });
    }
    fillBody(document.querySelector("#receipt tbody"), rows);
    $("receipt").hidden = !o.receipt;
    if (o.category) {
      category.appendChild(document.createTextNode(o.category.category + ": "));
      var link = el("a", o.category.orderDetailsUrl, { rel: "noopener noreferrer" });
      if (/^https?:/i.test(o.category.orderDetailsUrl)) link.href = o.category.orderDetailsUrl;
      category.appendChild(link);
      if (o.imageUrl) category.appendChild(el("img", null, { src: o.imageUrl, alt: "", height: "48" }));
    }
  }

  // Deliveries of the object: a charge's events are logged under its agreement, so only
  // those about this charge are kept.
  function renderDeliveries(attempts, d) {
    if (d.kind === "charge") {
      attempts = attempts.filter(function (a) { return a.body && a.body.chargeId === d.id; });
    }
    var deliveryOf = function (a) { return a.id !== undefined ? a.id : a.deliveryId; };
    var last = {};
    attempts.forEach(function (a) { last[deliveryOf(a)] = a; });
    var rows = attempts.map(function (a) {
      var id = deliveryOf(a);
      var tr = el("tr", null, { "data-delivery": id });
      tr.appendChild(el("th", "#" + id + " " + a.kind + (a.resendOf ? " (resend of #" + a.resendOf + ")" : ""), { scope: "row" }));
      cell(tr, a.event || "");
      cell(tr, a.url, "url");
      cell(tr, a.attempt);
      cell(tr, a.status ? "HTTP " + a.status : (a.error || ""), a.success ? "" : "failed");
      cell(tr, when(a.at));
      var next = a.nextAttemptAt || a.nextRetryAt || a.nextRetry;
      cell(tr, next ? when(next) : (a.finished ? "none" : "pending"));
      var body = cell(tr, "");
      var det = el("details");
      det.appendChild(el("summary", "Body"));
      det.appendChild(el("pre", JSON.stringify(a.body, null, 2)));
      body.appendChild(det);
      var act = cell(tr, "");
      if (last[id] === a && a.finished) {
        var b = el("button", "Resend", { type: "button", "data-key": "resend:" + id, "aria-label": "Resend delivery " + id });
        b.addEventListener("click", function () { resend(id, b); });
        act.appendChild(b);
      }
      return tr;
    });
    if (!rows.length) {
      var tr = el("tr");
      cell(tr, d.deliveriesReference ? "No deliveries." : "Deliveries are listed on what they are about.").colSpan = 9;
      rows.push(tr);
    }
    fillBody(document.querySelector("#deliveries tbody"), rows);
  }

  function resend(id, button) {
    button.disabled = true;
    call("POST", "/_emulator/deliveries/" + encodeURIComponent(id) + "/resend").then(function (r) {
      notice("Resent delivery " + id + (r && r.id !== undefined ? " as delivery " + r.id : "") + ".");
      return refresh();
    }).catch(fail).then(function () { button.disabled = false; });
  }

  // ---------------------------------------------------------------- tools

  function loadClock() {
    return call("GET", "/_emulator/clock").then(function (c) {
      $("clock").textContent = "Clock: " + when(c.now) + (c.offsetSeconds ? " (moved " + c.offsetSeconds + " s ahead)" : "");
    });
  }

  function advance(ev) {
    ev.preventDefault();
    var seconds = Math.round(Number($("advance-amount").value) * Number($("advance-unit").value));
    call("POST", "/_emulator/clock/advance", { seconds: seconds }).then(function (c) {
      notice("Clock advanced " + seconds + " s: now " + when(c.now) + ".");
      return refresh();
    }).catch(fail);
  }

  function showFaults() {
    return call("GET", "/_emulator/faults").then(function (f) {
      var stats = f.stats;
      delete f.stats;
      $("faults-json").value = JSON.stringify(f, null, 2);
      if (stats) notice("Fault rules shown; " + stats.injected + " of " + stats.requests + " requests got a fault.");
    }).catch(fail);
  }

  function setFaults(ev) {
    ev.preventDefault();
    call("POST", "/_emulator/faults", $("faults-json").value || "{}").then(function () {
      notice("Fault rules set.");
      return showFaults();
    }).catch(fail);
  }

  function clearFaults() {
    call("DELETE", "/_emulator/faults").then(function () {
      notice("Fault rules cleared.");
      return showFaults();
    }).catch(fail);
  }

  function reset() {
    if (!window.confirm("Reset everything? Every payment, session, order, agreement, webhook and delivery is forgotten.")) return;
    call("POST", "/_emulator/reset").then(function () {
      notice("Everything was reset.");
      return refresh();
    }).catch(fail);
  }

  // ---------------------------------------------------------------- navigation and polling

  function route() {
    var m = /^([a-z]+)(?:\/([^?]*))?(?:\?msn=(.*))?$/.exec(location.hash.replace(/^#/, ""));
    var kind = m && KINDS[m[1]] ? m[1] : "payment";
    var id = m && m[2] ? decodeURIComponent(m[2]) : null;
    if (kind !== view.kind) { view.before = null; view.olderCursors = []; }
    view.kind = kind;
    view.id = id;
    view.msn = m && m[3] ? decodeURIComponent(m[3]) : null;
    $("list-view").hidden = !!id;
    $("detail-view").hidden = !id;
    $("list-title").textContent = KINDS[kind].title;
    document.title = (id ? kind + " " + id : KINDS[kind].title) + " · Emulator dashboard";
    document.querySelectorAll("#kinds a").forEach(function (a) {
      if (a.getAttribute("href") === "#" + kind) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    var states = $("states");
    states.replaceChildren.apply(states, KINDS[kind].states.map(function (s) { return el("option", null, { value: s }); }));
    return refresh();
  }

  function refresh() {
    var shown = view.id ? loadDetail() : loadList();
    return Promise.all([shown, loadClock()]).catch(fail);
  }

  function poll() {
    var next = function () { window.setTimeout(poll, POLL_MS); };
    if (document.hidden) return next();
    call("GET", "/_emulator/changes").then(function (c) {
      if (c.changes !== lastChanges) {
        lastChanges = c.changes;
        return refresh();
      }
    }).catch(fail).then(next);
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("filters").addEventListener("submit", function (ev) {
      ev.preventDefault();
      view.before = null;
      view.olderCursors = [];
      refresh();
    });
    $("clear-filters").addEventListener("click", function () {
      $("filter-reference").value = "";
      $("filter-state").value = "";
      view.before = null;
      view.olderCursors = [];
      refresh();
    });
    $("older").addEventListener("click", function () {
      if (!view.next) return;
      view.olderCursors.push(view.before);
      view.before = view.next;
      refresh();
    });
    $("newest").addEventListener("click", function () {
      view.before = null;
      view.olderCursors = [];
      refresh();
    });
    $("advance").addEventListener("submit", advance);
    $("faults").addEventListener("submit", setFaults);
    $("faults-load").addEventListener("click", showFaults);
    $("faults-clear").addEventListener("click", clearFaults);
    $("reset").addEventListener("click", reset);
    window.addEventListener("hashchange", route);
    route();
    poll();
  });
})();
