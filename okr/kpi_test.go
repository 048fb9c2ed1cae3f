package okr_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/okrbot/okrbot/okr"
)

func TestKPI_Health(t *testing.T) {
	// On-time delivery: keep it at or above 95 %, critical below 90 %.
	higher := okr.KPI{Direction: okr.HigherIsBetter, Warning: 95, Critical: 90}
	// First response time: keep it at or below 4 h, critical above 8 h.
	lower := okr.KPI{Direction: okr.LowerIsBetter, Warning: 4, Critical: 8}
	tests := []struct {
		name  string
		kpi   okr.KPI
		value float64
		want  okr.Colour
	}{
		{"higher: well above warning", higher, 99, okr.Green},
		{"higher: just above warning", higher, 95.01, okr.Green},
		{"higher: exactly at warning", higher, 95, okr.Green},
		{"higher: just below warning", higher, 94.99, okr.Yellow},
		{"higher: between thresholds", higher, 92, okr.Yellow},
		{"higher: exactly at critical", higher, 90, okr.Yellow},
		{"higher: just below critical", higher, 89.99, okr.Red},
		{"higher: far beyond critical", higher, -10, okr.Red},
		{"lower: well below warning", lower, 1, okr.Green},
		{"lower: just below warning", lower, 3.99, okr.Green},
		{"lower: exactly at warning", lower, 4, okr.Green},
		{"lower: just above warning", lower, 4.01, okr.Yellow},
		{"lower: between thresholds", lower, 6, okr.Yellow},
		{"lower: exactly at critical", lower, 8, okr.Yellow},
		{"lower: just above critical", lower, 8.01, okr.Red},
		{"lower: far beyond critical", lower, 100, okr.Red},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.kpi.Health(tt.value); got != tt.want {
				t.Errorf("Health(%v) got %q, want %q", tt.value, got, tt.want)
			}
		})
	}
}

func TestKPI_Validate(t *testing.T) {
	valid := func() okr.KPI {
		return okr.KPI{TeamID: 1, Name: "on-time-delivery", OwnerID: "U1", Unit: "%", Direction: okr.HigherIsBetter, Warning: 95, Critical: 90, Cadence: okr.Weekly}
	}
	tests := []struct {
		name      string
		edit      func(k *okr.KPI)
		wantField string
	}{
		{"valid higher is better", func(k *okr.KPI) {}, ""},
		{"valid lower is better", func(k *okr.KPI) { k.Direction, k.Warning, k.Critical = okr.LowerIsBetter, 4, 8 }, ""},
		{"valid daily", func(k *okr.KPI) { k.Cadence = okr.Daily }, ""},
		{"valid monthly", func(k *okr.KPI) { k.Cadence = okr.Monthly }, ""},
		{"name with surrounding spaces is trimmed", func(k *okr.KPI) { k.Name = "  on-time-delivery  " }, ""},
		{"empty name", func(k *okr.KPI) { k.Name = "" }, "name"},
		{"whitespace name", func(k *okr.KPI) { k.Name = "   " }, "name"},
		{"name with a space", func(k *okr.KPI) { k.Name = "on time delivery" }, "name"},
		{"name with a tab", func(k *okr.KPI) { k.Name = "on-time\tdelivery" }, "name"},
		{"name at the limit", func(k *okr.KPI) { k.Name = strings.Repeat("ñ", okr.MaxKPINameLen) }, ""},
		{"name too long", func(k *okr.KPI) { k.Name = strings.Repeat("ñ", okr.MaxKPINameLen+1) }, "name"},
		{"unit too long", func(k *okr.KPI) { k.Unit = strings.Repeat("u", okr.MaxUnitLen+1) }, "unit"},
		{"missing owner", func(k *okr.KPI) { k.OwnerID = "" }, "owner"},
		{"empty cadence", func(k *okr.KPI) { k.Cadence = "" }, "cadence"},
		{"bad cadence", func(k *okr.KPI) { k.Cadence = "hourly" }, "cadence"},
		{"NaN warning", func(k *okr.KPI) { k.Warning = math.NaN() }, "warning"},
		{"NaN critical", func(k *okr.KPI) { k.Critical = math.NaN() }, "warning"},
		{"bad direction", func(k *okr.KPI) { k.Direction = "sideways" }, "direction"},
		{"higher: critical above warning", func(k *okr.KPI) { k.Warning, k.Critical = 90, 95 }, "critical"},
		{"higher: critical equals warning", func(k *okr.KPI) { k.Warning, k.Critical = 90, 90 }, "critical"},
		{"lower: critical below warning", func(k *okr.KPI) { k.Direction, k.Warning, k.Critical = okr.LowerIsBetter, 8, 4 }, "critical"},
		{"lower: critical equals warning", func(k *okr.KPI) { k.Direction, k.Warning, k.Critical = okr.LowerIsBetter, 4, 4 }, "critical"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := valid()
			tt.edit(&k)
			checkFieldError(t, k.Validate(), tt.wantField, "")
		})
	}
}

func TestKPI_ValidateTrims(t *testing.T) {
	k := okr.KPI{Name: " mttr\n", OwnerID: "U1", Unit: " h ", Direction: okr.LowerIsBetter, Warning: 4, Critical: 8, Cadence: okr.Daily}
	if err := k.Validate(); err != nil {
		t.Fatalf("Validate() got error %v, want nil", err)
	}
	if got := fmt.Sprintf("%q %q", k.Name, k.Unit); got != `"mttr" "h"` {
		t.Errorf("name and unit got %s, want %s", got, `"mttr" "h"`)
	}
}
