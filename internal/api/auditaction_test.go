package api

import "testing"

func TestAuditAction(t *testing.T) {
	for _, c := range []struct {
		rt      route
		audited bool
		action  string
	}{
		{route{"PUT", "/v1/config", scopeAdmin}, true, "config.apply"},
		{route{"GET", "/v1/config", scopeAdmin}, false, ""},
		{route{"PUT", "/v1/secrets/{key}", scopeAdmin}, true, "secrets.put"},
		{route{"DELETE", "/v1/settings/{key}", scopeAdmin}, true, "settings.delete"},
		{route{"POST", "/v1/jobs/{job}/runs", scopeJobs}, true, "jobs.trigger"},
		{route{"POST", "/v1/events", scopeIngest}, false, ""},
		{route{"POST", "/deliver", scopeDelivery}, false, ""},
		{route{"POST", "/v1/graphql", scopeRead}, false, ""},
		{route{"HEAD", "/v1/things", scopeAdmin}, false, ""},
		// Routes added later are audited without doing anything.
		{route{"POST", "/v1/privacy/requests", scopeAdmin}, true, "privacy.requests.create"},
		{route{"DELETE", "/v1/privacy/requests/{id}", scopeAdmin}, true, "privacy.requests.delete"},
		{route{"POST", "/v1/identity-merges/{id}/undo", scopeAdmin}, true, "identity_merges.undo.create"},
	} {
		if got := audited(c.rt); got != c.audited {
			t.Errorf("audited(%s) = %v", c.rt, got)
		}
		if c.audited && auditAction(c.rt) != c.action {
			t.Errorf("auditAction(%s) = %q, want %q", c.rt, auditAction(c.rt), c.action)
		}
	}
	// Every audited route of the table has an action of its own.
	seen := map[string]route{}
	for _, rt := range everyRoute() {
		if !audited(rt) {
			continue
		}
		a := auditAction(rt)
		if prev, dup := seen[a]; dup {
			t.Errorf("%s and %s share the audit action %q", prev, rt, a)
		}
		seen[a] = rt
	}
}
