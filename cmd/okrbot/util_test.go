package main

import (
	"strconv"
	"time"
)

func timeNowUTC() time.Time { return time.Now().UTC() }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
