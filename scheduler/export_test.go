package scheduler

// SendBatch is how many check-ins one claim takes, for tests.
const SendBatch = sendBatch
