package admin_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// goldenCase is one command line and the golden file of its output.
type goldenCase struct {
	name string
	args []string // {m1}, {offset-m1}, {broker-a} ... are expanded
	code int      // expected exit code
}

// TestGolden runs every command against one two-broker cluster (normal
// topic and LMQs, with and without -c) and compares the normalised output
// with testdata/<name>.golden. The cases run in order: the ones that
// change state come last.
func TestGolden(t *testing.T) {
	f := newFixture(t)
	cases := []goldenCase{
		// topicStatus
		{"topicStatus", []string{"topicStatus", "-t", topic}, 0},
		{"topicStatus_cluster", []string{"topicStatus", "-t", topic, "-c", cluster}, 0},
		{"topicStatus_lmq1", []string{"topicStatus", "-t", lmq1}, 0},
		{"topicStatus_lmq2", []string{"topicStatus", "-t", lmq2}, 0},
		{"topicStatus_lmq2_parent", []string{"topicStatus", "-t", lmq2, "-c", topic}, 0},
		{"topicStatus_lmq2_cluster", []string{"topicStatus", "-t", lmq2, "-c", cluster}, 0},
		{"topicStatus_lmq_missing", []string{"topicStatus", "-t", "%LMQ%nobody"}, 3},
		{"topicStatus_missing", []string{"topicStatus", "-t", "NoSuchTopic"}, 3},
		{"topicStatus_no_topic_flag", []string{"topicStatus"}, 2},

		// consumerProgress
		{"consumerProgress_group", []string{"consumerProgress", "-g", groupA}, 0},
		{"consumerProgress_group_topic", []string{"consumerProgress", "-g", groupA, "-t", topic}, 0},
		{"consumerProgress_clientIP", []string{"consumerProgress", "-g", groupA, "-t", topic, "-s", "true"}, 0},
		{"consumerProgress_lmq", []string{"consumerProgress", "-g", groupLMQ, "-t", lmq1}, 0},
		{"consumerProgress_lmq_parent", []string{"consumerProgress", "-g", groupLMQ, "-t", lmq1, "-c", topic}, 0},
		{"consumerProgress_list", []string{"consumerProgress"}, 0},
		{"consumerProgress_missing", []string{"consumerProgress", "-g", "NoSuchGroup"}, 3},

		// queryMsgByKey
		{"queryMsgByKey", []string{"queryMsgByKey", "-t", topic, "-k", "shared"}, 0},
		{"queryMsgByKey_max", []string{"queryMsgByKey", "-t", topic, "-k", "shared", "-m", "2"}, 0},
		{"queryMsgByKey_cluster", []string{"queryMsgByKey", "-t", topic, "-k", "k3", "-c", cluster}, 0},
		{"queryMsgByKey_lmq", []string{"queryMsgByKey", "-t", lmq2, "-k", "shared"}, 0},
		{"queryMsgByKey_lmq_parent", []string{"queryMsgByKey", "-t", lmq2, "-k", "shared", "-c", topic}, 0},
		{"queryMsgByKey_missing", []string{"queryMsgByKey", "-t", topic, "-k", "nokey"}, 3},
		{"queryMsgByKey_lmq_missing", []string{"queryMsgByKey", "-t", lmq1, "-k", "k3"}, 3},

		// queryMsgByUniqueKey
		{"queryMsgByUniqueKey", []string{"queryMsgByUniqueKey", "-t", topic, "-i", "{m1}"}, 0},
		{"queryMsgByUniqueKey_lmq", []string{"queryMsgByUniqueKey", "-t", lmq1, "-i", "{m2}"}, 0},
		{"queryMsgByUniqueKey_lmq_parent", []string{"queryMsgByUniqueKey", "-t", lmq2, "-i", "{m3}", "-c", topic}, 0},
		{"queryMsgByUniqueKey_all", []string{"queryMsgByUniqueKey", "-t", topic, "-i", "{m4}", "-a"}, 0},
		{"queryMsgByUniqueKey_missing", []string{"queryMsgByUniqueKey", "-t", topic, "-i", "0A0000010000000000000000000000FF"}, 3},

		// queryMsgById
		{"queryMsgById_offset", []string{"queryMsgById", "-t", topic, "-i", "{offset-m1}"}, 0},
		{"queryMsgById_uniq", []string{"queryMsgById", "-t", topic, "-i", "{m3}", "-f", "UTF-8"}, 0},
		{"queryMsgById_lmq", []string{"queryMsgById", "-t", lmq1, "-i", "{m2}"}, 0},
		{"queryMsgById_two", []string{"queryMsgById", "-t", topic, "-i", "{offset-m2},{m4}"}, 0},
		{"queryMsgById_missing", []string{"queryMsgById", "-t", topic, "-i", "0A0000010000000000000000000000FF"}, 3},

		// read-only commands operators use alongside
		{"topicRoute", []string{"topicRoute", "-t", topic}, 0},
		{"topicRoute_list", []string{"topicRoute", "-t", topic, "-l"}, 0},
		{"topicRoute_missing", []string{"topicRoute", "-t", "NoSuchTopic"}, 3},
		{"topicList", []string{"topicList"}, 0},
		{"topicList_cluster", []string{"topicList", "-c"}, 0},
		{"clusterList", []string{"clusterList"}, 0},
		{"clusterList_more", []string{"clusterList", "-m"}, 0},
		{"brokerStatus", []string{"brokerStatus", "-b", "{broker-b}"}, 0},
		{"brokerStatus_usage", []string{"brokerStatus"}, 2},
		{"consumerConnection", []string{"consumerConnection", "-g", groupA}, 0},
		{"consumerConnection_offline", []string{"consumerConnection", "-g", groupLMQ}, 3},
		{"lmqList", []string{"lmqList"}, 0},
		{"lmqList_broker", []string{"lmqList", "-b", "broker-a", "-p", "%LMQ%room", "-l", "1"}, 0},

		// resetOffsetByTime (changes offsets: after the reads)
		{"resetOffsetByTime_dryrun", []string{"resetOffsetByTime", "-g", groupA, "-t", topic, "-s", "2000-01-01#00:00:00:000", "--dry-run"}, 0},
		{"resetOffsetByTime_now", []string{"resetOffsetByTime", "-g", groupA, "-t", topic, "-s", "now"}, 0},
		{"resetOffsetByTime_lmq", []string{"resetOffsetByTime", "-g", groupLMQ, "-t", lmq1, "-s", "0"}, 0},
		{"resetOffsetByTime_lmq_parent", []string{"resetOffsetByTime", "-g", groupLMQ, "-t", lmq1, "-c", topic, "-s", "2030-01-01T00:00:00Z"}, 0},
		{"resetOffsetByTime_undo", []string{"resetOffsetByTime", "--undo", "{lastop}"}, 0},
		{"resetOffsetByTime_undo_missing", []string{"resetOffsetByTime", "--undo", "20000101T000000.000Z-00000000"}, 3},
		{"resetOffsetByTime_queue", []string{"resetOffsetByTime", "-g", groupA, "-t", topic, "-s", "now", "-b", "broker-b", "-q", "0", "-o", "0"}, 0},
		{"resetOffsetByTime_missing", []string{"resetOffsetByTime", "-g", groupA, "-t", "%LMQ%nobody", "-s", "now"}, 3},
		{"resetOffsetByTime_bad_time", []string{"resetOffsetByTime", "-g", groupA, "-t", topic, "-s", "yesterday"}, 2},
		{"consumerProgress_after_reset", []string{"consumerProgress", "-g", groupA, "-t", topic}, 0},

		// commands that change topics and groups
		{"updateTopic_cluster", []string{"updateTopic", "-t", "NewTopic", "-c", cluster, "-r", "4", "-w", "4"}, 0},
		{"updateTopic_broker", []string{"updateTopic", "-t", "NewTopic", "-b", "{broker-a}", "-p", "4", "-a", "+k=v"}, 0},
		{"updateTopic_usage", []string{"updateTopic", "-t", "NewTopic"}, 2},
		{"deleteTopic", []string{"deleteTopic", "-t", "NewTopic", "-c", cluster}, 0},
		{"deleteTopic_unknown_cluster", []string{"deleteTopic", "-t", "NewTopic", "-c", "NoCluster"}, 3},
		{"updateSubGroup_cluster", []string{"updateSubGroup", "-g", "NewGroup", "-c", cluster, "-r", "3"}, 0},
		{"updateSubGroup_broker", []string{"updateSubGroup", "-g", "NewGroup", "-b", "{broker-b}", "-s", "false"}, 0},
		{"deleteSubGroup_broker", []string{"deleteSubGroup", "-g", "NewGroup", "-b", "{broker-b}"}, 0},
		{"deleteSubGroup_cluster", []string{"deleteSubGroup", "-g", "NewGroup", "-c", cluster, "-r", "true"}, 0},
		{"sendMessage", []string{"sendMessage", "-t", sendTopic, "-p", "hello", "-k", "sk", "-c", "TagS", "-b", "broker-b", "-i", "1"}, 0},
		{"sendMessage_no_broker", []string{"sendMessage", "-t", sendTopic, "-p", "hello", "-i", "1"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := f.expand(c.args)
			stdout, stderr, code := f.run(args...)
			got := fmt.Sprintf("$ mqadmin %s\nexit %d\n--- stdout\n%s--- stderr\n%s",
				strings.Join(c.args, " "), code, f.normalize(stdout), f.normalize(stderr))
			checkGolden(t, c.name, got)
			if code != c.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, stdout, stderr)
			}
		})
	}
}

// checkGolden compares got with testdata/<name>.golden, or rewrites it
// with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/admin -run TestGolden -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (-want +got):\n%s", path, diffLines(string(want), got))
	}
}

// diffLines is a small line diff, enough to spot a changed column.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %q\n+ %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}
