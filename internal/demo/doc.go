// Package demo generates a realistic, deterministic customer event dataset
// for the quickstart, tests and benchmarks, together with its ground truth.
//
// Each simulated customer browses the web shop from one to three devices
// (web/page_view with a cookie_id), may leave an email in a form
// (web/form_submit, with the messy casing and white space real forms
// produce), may be a CRM contact (crm/customer_update with crm_id, email,
// phone) and may buy (shop/purchase with an order, the email and an array of
// products). About a fifth never identify themselves. A little noise is
// mixed in the way it is in real data: placeholder emails such as
// "test@test.com" and "none" that many people type.
//
// Two traps test that stitching does not glue people together: households
// (4% of customers, in pairs) share one email while each member has their
// own crm_id, and 3% of customers sign up for the newsletter on one of five
// shop tablets whose cookie everybody shares. The demo rules (weft.yaml in
// this package, Config) keep both apart with max_per_entity: 1 on email and
// crm_id.
//
// Households generates a second population, for issue 18's stitching
// tests: households of logged-in customers sharing one email, which
// stitching in arrival order glues together, with its own stitching config
// (HouseholdConfig) that sets identifier priorities.
//
// The same seed always gives the same events in the same order, and every
// event says which customer really produced it, so later stages (stitching,
// attributes) can be scored against the truth. Customer i's events depend
// only on the seed and i.
package demo
