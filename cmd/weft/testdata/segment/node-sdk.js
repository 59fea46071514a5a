// Sends a customer's journey and a burst of track calls to WEFT_HOST with
// the real @segment/analytics-node, through its own batching and retries,
// then prints one JSON line: the messageId of every call it made and the
// HTTP answers it saw. Run by cmd/weft's TestSegmentNodeSDK.
//
// env: SDK_MODULES (node_modules holding the package), WEFT_HOST, WRITE_KEY,
// BURST (track calls after the journey).
const path = require("path");
const { Analytics } = require(path.join(process.env.SDK_MODULES, "@segment", "analytics-node"));

const analytics = new Analytics({
  writeKey: process.env.WRITE_KEY,
  host: process.env.WEFT_HOST,
  flushAt: 100,
  flushInterval: 100,
  maxRetries: 5,
});

const sent = [];
const answers = {};
const errors = [];
analytics.on("http_response", (r) => { answers[r.status] = (answers[r.status] || 0) + 1; });
analytics.on("error", (e) => { errors.push(String(e && (e.reason || e.code || e))); });

// Each call's callback gets its context, which holds the messageId the
// SDK gave the message.
function call(kind, msg) {
  return new Promise((resolve) => {
    analytics[kind](msg, (err, ctx) => {
      if (err) errors.push(kind + ": " + String(err));
      if (ctx) sent.push({ kind, messageId: ctx.event.messageId });
      resolve();
    });
  });
}

(async () => {
  const journey = [
    // An anonymous visit, then the login that names the person.
    call("page", { anonymousId: "anon-1", name: "Home", properties: { url: "https://shop.example/" } }),
    call("identify", { anonymousId: "anon-1", userId: "user-1", traits: { email: "ada@example.com", plan: "pro" } }),
    call("track", { userId: "user-1", event: "Order Completed", properties: { order_id: "o-1", total: 42.5, currency: "EUR" } }),
    // The same person seen on another device before, joined by alias.
    call("page", { anonymousId: "anon-2", name: "Pricing" }),
    call("alias", { previousId: "anon-2", userId: "user-1" }),
    // Somebody else, by email only through identify.
    call("identify", { anonymousId: "anon-3", traits: { email: "grace@example.com" } }),
  ];
  const burst = Number(process.env.BURST || 0);
  for (let i = 0; i < burst; i++) {
    journey.push(call("track", { anonymousId: "burst-" + (i % 7), event: "Product Viewed", properties: { sku: "SKU-" + i, price: i } }));
  }
  await Promise.all(journey);
  await analytics.closeAndFlush({ timeout: 60000 });
  console.log(JSON.stringify({ sent, answers, errors }));
})().catch((e) => { console.error(e); process.exit(1); });
