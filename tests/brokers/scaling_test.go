package brokers

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"ctjournal/tests/harness"
	"ctjournal/tests/harness/brokertest"
	"ctjournal/tests/harness/loadgen"

	natsgo "github.com/nats-io/nats.go"
)

// TestScaling_PostgresEachShardDeliversItsOwnWidgetsLeadsOnce runs docs/scaling.md
// in small: two deployments, each serve on a database of its own, consume
// one stream on <prefix>.events.>, each its own subject filter; the
// telephony core publishes each event to its widget's shard. Both know
// every widget's policy, so a shard that took another's event would send
// its lead too.
func TestScaling_PostgresEachShardDeliversItsOwnWidgetsLeadsOnce(t *testing.T) {
	t.Parallel()
	js := brokertest.NATSJetStream(t)
	id := harness.RandomHex(5)
	prefix, stream := "ctje2e."+id, "CTJE2E_SHARDS_"+id
	subjects := []string{prefix + ".events.>", prefix + ".rejected.>"}
	if _, err := js.AddStream(&natsgo.StreamConfig{Name: stream, Subjects: subjects}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { brokertest.DeleteStream(t, js, stream) })
	shard := func(name string) harness.Option {
		return func(env map[string]string) {
			env["CTJ_NATS_URL"] = brokertest.NATSURL
			env["CTJ_NATS_STREAM"] = stream
			env["CTJ_NATS_SUBJECT"] = prefix + ".events." + name
			env["CTJ_NATS_REJECT_SUBJECT"] = prefix + ".rejected." + name
			env["CTJ_NATS_DURABLE"] = "ctje2e_" + id + "_" + name
		}
	}
	shards := map[string]*harness.Engine{"a": harness.Start(t, shard("a")), "b": harness.Start(t, shard("b"))}
	widgets := map[string]string{"sh-w1": "a", "sh-w2": "a", "sh-w3": "b"} // widget → shard
	for _, e := range shards {
		for w := range widgets {
			e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
		}
	}

	want := map[string][]string{} // shard → lead keys
	for w, s := range widgets {
		for i := range 20 {
			o := fmt.Sprintf("%s-o%02d", w, i)
			body := brokertest.BodyOf(t, harness.Ordered(o, w, nil), harness.Answered(o, w, 1))
			if _, err := js.Publish(prefix+".events."+s, body); err != nil {
				t.Fatal(err)
			}
			want[s] = append(want[s], o+"~1")
		}
	}
	for s, e := range shards {
		e.LeadsDelivered(len(want[s]), 2*harness.WaitLimit)
	}
	for s, e := range shards {
		harness.Settled(t, e.Fake, len(want[s]))
		var got []string
		for key, k := range loadgen.RequestsPerKey(e.Fake.Requests()) {
			if len(k.Accepted) != 1 {
				t.Errorf("shard %s: lead %s accepted %d times", s, key, len(k.Accepted))
			}
			got = append(got, key)
		}
		if slices.Sort(got); !slices.Equal(got, slices.Sorted(slices.Values(want[s]))) {
			t.Errorf("shard %s sent %v, want its own widgets' leads %v", s, got, want[s])
		}
	}
	if status, _ := shards["b"].Order("sh-w1-o00"); status != http.StatusNotFound {
		t.Errorf("shard b knows an order of shard a's widget: %d", status)
	}
	info, err := js.StreamInfo(stream)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Config.Subjects, subjects) {
		t.Errorf("the shared stream's subjects became %v", info.Config.Subjects)
	}
}
