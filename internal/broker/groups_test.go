package broker

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

func adminAllGroups(t *testing.T, b *Broker, cli *remoting.Client) body.SubscriptionGroupWrapper {
	t.Helper()
	resp := call(t, b, cli, protocol.GetAllSubscriptionGroupConfig, nil, nil)
	wantResp(t, resp, protocol.Success, "")
	var w body.SubscriptionGroupWrapper
	if err := w.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.ExtFields["totalGroupNum"]; ok {
		t.Error("totalGroupNum present: 5.x clients would page")
	}
	return w
}

func TestGroupAdminRoundTrip(t *testing.T) {
	b, cli := startBroker(t, nil)
	w := adminAllGroups(t, b, cli)
	if _, ok := w.SubscriptionGroupTable["TOOLS_CONSUMER"]; !ok {
		t.Error("system group TOOLS_CONSUMER missing")
	}
	before := w.DataVersion

	sc := body.NewSubscriptionGroupConfig("CG1")
	sc.RetryMaxTimes = 3
	sc.ConsumeBroadcastEnable = false
	wantResp(t, call(t, b, cli, protocol.UpdateAndCreateSubscriptionGroup, nil, sc.Encode()), protocol.Success, "")
	w = adminAllGroups(t, b, cli)
	if got := w.SubscriptionGroupTable["CG1"]; !reflect.DeepEqual(got, sc) {
		t.Fatalf("CG1 = %+v", got)
	}
	if w.DataVersion.Counter <= before.Counter {
		t.Errorf("data version did not advance")
	}

	resp := call(t, b, cli, protocol.GetSubscriptionGroupConfig, &protocol.GetSubscriptionGroupConfigRequestHeader{Group: "CG1"}, nil)
	wantResp(t, resp, protocol.Success, "")
	var got body.SubscriptionGroupConfig
	if err := got.Decode(resp.Body); err != nil || !reflect.DeepEqual(got, sc) {
		t.Fatalf("GET_SUBSCRIPTIONGROUP_CONFIG = %+v, %v", got, err)
	}

	wantResp(t, call(t, b, cli, protocol.DeleteSubscriptionGroup, &protocol.DeleteSubscriptionGroupRequestHeader{GroupName: "CG1"}, nil),
		protocol.Success, "")
	if _, ok := adminAllGroups(t, b, cli).SubscriptionGroupTable["CG1"]; ok {
		t.Fatal("CG1 listed after delete")
	}
	resp = call(t, b, cli, protocol.GetSubscriptionGroupConfig, &protocol.GetSubscriptionGroupConfigRequestHeader{Group: "CG1"}, nil)
	wantResp(t, resp, protocol.SubscriptionGroupNotExist, "CG1")

	// Refusals.
	wantResp(t, call(t, b, cli, protocol.UpdateAndCreateSubscriptionGroup, nil, nil), protocol.InvalidParameter, "body")
	wantResp(t, call(t, b, cli, protocol.UpdateAndCreateSubscriptionGroup, nil, []byte(`{"groupName":"a b"}`)),
		protocol.InvalidParameter, "illegal character")
	wantResp(t, call(t, b, cli, protocol.UpdateAndCreateSubscriptionGroup, nil, []byte(`{"groupName":`)),
		protocol.InvalidParameter, "")
	wantResp(t, call(t, b, cli, protocol.DeleteSubscriptionGroup, nil, nil), protocol.InvalidParameter, "groupName")
}

func TestGroupPersistence(t *testing.T) {
	b, cli := startBroker(t, nil)
	sc := body.NewSubscriptionGroupConfig("P1")
	sc.ConsumeMessageOrderly = true
	sc.Attributes = map[string]string{"k": "v"}
	wantResp(t, call(t, b, cli, protocol.UpdateAndCreateSubscriptionGroup, nil, sc.Encode()), protocol.Success, "")
	if _, ok := b.groups.GetOrCreate("Auto1"); !ok {
		t.Fatal("GetOrCreate refused with autoCreateSubscriptionGroup on")
	}
	before := adminAllGroups(t, b, cli)
	if _, err := os.Stat(filepath.Join(b.bc.StorePathRootDir, "config", groupsFile)); err != nil {
		t.Fatal(err)
	}

	b, cli = restartSameDir(t, b)
	after := adminAllGroups(t, b, cli)
	if !reflect.DeepEqual(after, before) {
		t.Errorf("after restart:\n%+v\nwant\n%+v", after, before)
	}
}

func TestGroupAutoCreateAndLMQ(t *testing.T) {
	b, cli := startBroker(t, nil)
	if sc, ok := b.groups.Get("%LMQ%g"); !ok || !reflect.DeepEqual(sc, body.NewSubscriptionGroupConfig("%LMQ%g")) {
		t.Errorf("LMQ group = %+v, %v", sc, ok)
	}
	if _, ok := b.groups.GetOrCreate("%LMQ%g"); !ok {
		t.Error("GetOrCreate(LMQ) refused")
	}
	lmq := body.NewSubscriptionGroupConfig("%LMQ%g")
	wantResp(t, call(t, b, cli, protocol.UpdateAndCreateSubscriptionGroup, nil, lmq.Encode()), protocol.Success, "")
	if _, ok := adminAllGroups(t, b, cli).SubscriptionGroupTable["%LMQ%g"]; ok {
		t.Error("LMQ group stored")
	}
	if _, ok := b.groups.GetOrCreate("bad name"); ok {
		t.Error("invalid group auto-created")
	}

	b2, _ := startBroker(t, func(bc *config.Broker) {
		bc.AutoCreateSubscriptionGroup = false
		bc.EnableLmq = false
	})
	if _, ok := b2.groups.GetOrCreate("G"); ok {
		t.Error("group auto-created with autoCreateSubscriptionGroup=false")
	}
	if _, ok := b2.groups.Get("%LMQ%g"); ok {
		t.Error("LMQ group exists with enableLmq=false")
	}
}
