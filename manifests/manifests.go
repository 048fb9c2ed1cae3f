// Package manifests holds the Slack app manifest and the deployment
// manifests, embedded so that tests and the binary can read them.
//
// manifests imports nothing of okrbot's.
package manifests

import _ "embed"

// SlackApp is the Slack app manifest (slack-app.json) as pasted into Slack's
// "create an app from a manifest" page.
//
//go:embed slack-app.json
var SlackApp []byte
