// Package quartz reads cron expressions in the Quartz form that OCP's
// app.yml uses (seconds first, `?` for the unused day field, an optional
// year) and tells when they fire, in UTC.
//
// Parsing is robfig/cron's; this package translates what differs: Quartz
// numbers the days of the week 1 (Sunday) to 7, requires `?` in one of the
// two day fields, and allows a seventh field for the year, which Weft
// accepts only as `*` (every year). The Quartz specials L, W and # are
// refused with a message rather than misread.
package quartz
