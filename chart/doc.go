// Package chart draws the pictures that go with okrbot's reports: for now
// the quarterly summary's chart of key-result progress, week by week,
// against the expected pace, as a PNG the bot can upload to Slack.
//
// Its functions are pure: they take domain values and return image bytes,
// with no clock, no I/O and the same bytes for the same input. It imports
// okr and the plotting library (gonum.org/v1/plot) and nothing else of
// okrbot's: no storage, no Slack.
package chart
