package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate fails when codes_gen.go was not regenerated after
// codes.tsv (or this generator) changed.
func TestGeneratedUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..")
	tsv, err := os.ReadFile(filepath.Join(dir, "codes.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(tsv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "codes_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("codes_gen.go is stale: run `go generate ./internal/protocol`")
	}
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"SEND_MESSAGE":                        "SendMessage",
		"SEND_MESSAGE_V2":                     "SendMessageV2",
		"GET_ROUTEINFO_BY_TOPIC":              "GetRouteInfoByTopic",
		"GET_KVLIST_BY_NAMESPACE":             "GetKVListByNamespace",
		"NOTIFY_CONSUMER_IDS_CHANGED":         "NotifyConsumerIDsChanged",
		"UPDATE_AND_CREATE_SUBSCRIPTIONGROUP": "UpdateAndCreateSubscriptionGroup",
		"VIEW_MESSAGE_BY_ID":                  "ViewMessageByID",
		"LOCK_BATCH_MQ":                       "LockBatchMQ",
		"CHECK_ROCKSDB_CQ_WRITE_PROGRESS":     "CheckRocksDBCQWriteProgress",
	} {
		if got := goName(in); got != want {
			t.Errorf("goName(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestTableErrors(t *testing.T) {
	for name, tsv := range map[string]string{
		"columns":        "request\t10\tSEND_MESSAGE\n",
		"kind":           "reply\t10\tSEND_MESSAGE\tdoc\n",
		"code":           "request\tten\tSEND_MESSAGE\tdoc\n",
		"negative":       "request\t-1\tSEND_MESSAGE\tdoc\n",
		"name":           "request\t10\tSendMessage\tdoc\n",
		"duplicate code": "request\t10\tA\tdoc\nrequest\t10\tB\tdoc\n",
		"duplicate name": "request\t10\tA\tdoc\nresponse\t0\tA\tdoc\n",
		"doc":            "request\t10\tA\t \n",
	} {
		if _, err := generate([]byte(tsv)); !errors.Is(err, errTable) {
			t.Errorf("%s: err = %v, want errTable", name, err)
		}
	}
}
