package config

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
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
		b.MaxLmqConsumeQueueNum != 1000000 || b.FileReservedTimeHours != 48 || b.AutoCreateTopicEnable != true {
		t.Fatalf("parsed %+v", b)
	}
	if !slices.Equal(rep.Unknown, []string{"flushDiskTyp"}) || !slices.Equal(rep.Ignored, []string{"brokerRole", "deleteWhen"}) {
		t.Fatalf("report %+v", rep)
	}
}

func TestParseBrokerInvalid(t *testing.T) {
	for _, conf := range []string{
		"flushDiskType=SOMETIMES", "listenPort=70000", "enableLmq=yes", "brokerId=-1", "maxMessageSize=big",
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
