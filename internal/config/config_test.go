package config

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseProperties(t *testing.T) {
	text := "# comment\n! also\n\na=1\nb : two words \nc three\nd\\=x=4\nlong=a\\\n    b\ne=\\u0041\\t\n  f = spaced\n"
	got, err := ParseProperties(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "1", "b": "two words", "c": "three", "d=x": "4", "long": "ab", "e": "A\t", "f": "spaced"}
	if !maps.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if _, err := ParseProperties(strings.NewReader("k=\\u00G1\n")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad escape: %v", err)
	}
}

func TestParseBroker(t *testing.T) {
	conf := `
brokerClusterName = C1
brokerName = broker-b
brokerId = 0
listenPort = 10921
namesrvAddr = 127.0.0.1:9876; 127.0.0.2:9876
flushDiskType = SYNC_FLUSH
enableLmq = true
enableMultiDispatch = TRUE
maxLmqConsumeQueueNum = 1000000
fileReservedTime = 48
kvMemTableSizeMB = 64
deleteWhen = 04
brokerRole = ASYNC_MASTER
flushDiskTyp = SYNC_FLUSH
`
	b := DefaultBroker()
	rep, err := ParseBroker(strings.NewReader(conf), &b)
	if err != nil {
		t.Fatal(err)
	}
	if b.BrokerClusterName != "C1" || b.BrokerName != "broker-b" || b.ListenPort != 10921 ||
		!slices.Equal(b.NamesrvAddr, []string{"127.0.0.1:9876", "127.0.0.2:9876"}) ||
		b.FlushDiskType != "SYNC_FLUSH" || !b.EnableLmq || !b.EnableMultiDispatch ||
		b.MaxLmqConsumeQueueNum != 1000000 || b.FileReservedTimeHours != 48 || b.AutoCreateTopicEnable != true ||
		b.KVMemTableSizeMB != 64 || DefaultBroker().KVMemTableSizeMB != 128 {
		t.Fatalf("parsed %+v", b)
	}
	if !slices.Equal(rep.Unknown, []string{"flushDiskTyp"}) || !slices.Equal(rep.Ignored, []string{"brokerRole", "deleteWhen"}) {
		t.Fatalf("report %+v", rep)
	}
}

func TestParseBrokerInvalid(t *testing.T) {
	for _, conf := range []string{
		"flushDiskType=SOMETIMES", "listenPort=70000", "enableLmq=yes", "brokerId=-1", "maxMessageSize=big",
		"kvMemTableSizeMB=2", "kvMemTableSizeMB=2048",
	} {
		b := DefaultBroker()
		if _, err := ParseBroker(strings.NewReader(conf), &b); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", conf, err)
		}
	}
}

func TestParseBrokerMetrics(t *testing.T) {
	b := DefaultBroker()
	if got := b.MetricsAddr(); got != "127.0.0.1:5557" {
		t.Fatalf("default metrics address %q", got)
	}
	conf := "metricsExporterType=2\nmetricsPromExporterHost=\nmetricsPromExporterPort=0\nmetricsInDelta=true\nmetricsPromExporterPrt=1\n"
	rep, err := ParseBroker(strings.NewReader(conf), &b)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.MetricsAddr(); got != "127.0.0.1:0" {
		t.Errorf("metrics address %q, want 127.0.0.1:0 (empty host is loopback)", got)
	}
	if !slices.Equal(rep.Unknown, []string{"metricsPromExporterPrt"}) || !slices.Equal(rep.Ignored, []string{"metricsInDelta"}) {
		t.Errorf("report %+v", rep)
	}
	b = DefaultBroker()
	if _, err := ParseBroker(strings.NewReader("metricsExporterType=DISABLE\n"), &b); err != nil || b.MetricsAddr() != "" {
		t.Errorf("DISABLE: addr %q, err %v", b.MetricsAddr(), err)
	}
	for _, conf := range []string{"metricsExporterType=OTLP_GRPC", "metricsExporterType=LOG", "metricsExporterType=prom",
		"metricsPromExporterPort=65536"} {
		b := DefaultBroker()
		if _, err := ParseBroker(strings.NewReader(conf), &b); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", conf, err)
		}
	}
}

func TestSemanticsKeys(t *testing.T) {
	b := DefaultBroker()
	if got := len(b.Semantics.DelayLevels); got != 18 {
		t.Fatalf("default delay levels: %d, want 18", got)
	}
	if b.Semantics.DelayLevels[2] != 10*time.Second || b.Semantics.DelayLevels[17] != 2*time.Hour {
		t.Fatalf("default levels wrong: %v", b.Semantics.DelayLevels)
	}
	conf := "messageDelayLevel=1s 2s 1m 1h 1d\ntransactionTimeOut=500\ntransactionCheckInterval=700\ntransactionCheckMax=2\ntimerMaxDelaySec=60\n"
	rep, err := ParseBroker(strings.NewReader(conf), &b)
	if err != nil || len(rep.Unknown) > 0 {
		t.Fatalf("parse: %v %+v", err, rep)
	}
	want := []time.Duration{time.Second, 2 * time.Second, time.Minute, time.Hour, 24 * time.Hour}
	if !slices.Equal(b.Semantics.DelayLevels, want) {
		t.Fatalf("levels %v, want %v", b.Semantics.DelayLevels, want)
	}
	if b.Semantics.TransactionTimeOutMs != 500 || b.Semantics.TransactionCheckIntervalMs != 700 ||
		b.Semantics.TransactionCheckMax != 2 || b.Semantics.TimerMaxDelaySec != 60 {
		t.Fatalf("transaction settings %+v", b.Semantics)
	}
	if got := FormatDelayLevels(b.Semantics.DelayLevels); got != "1s 2s 1m 1h 1d" {
		t.Fatalf("format %q", got)
	}
	for _, bad := range []string{"", "1x", "s", "-1s 2s", "1.5s"} {
		if err := SetBrokerKey(&b, "messageDelayLevel", bad); err == nil {
			t.Errorf("messageDelayLevel=%q accepted", bad)
		}
	}
}
