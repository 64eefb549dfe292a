// Package config reads broker configuration in RocketMQ's broker.conf
// format (Java properties, upstream property names), so an existing file
// works unchanged. Every key is accounted for: known keys are parsed and
// validated, keys Bolide accepts but does not act on are reported as
// ignored, and unknown keys are reported — never silently dropped, since a
// misspelt flushDiskType is how data loss starts.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is matched by every validation error.
var ErrInvalid = errors.New("config: invalid")

// Broker is a broker's configuration.
type Broker struct {
	BrokerClusterName string
	BrokerName        string
	BrokerID          int64
	ListenPort        int
	// NamesrvAddr lists name servers ("host:port;host:port").
	NamesrvAddr []string
	// BrokerIP1 is the address clients are told to use; empty = the
	// listen host.
	BrokerIP1        string
	StorePathRootDir string
	// StorePathCommitLog overrides <root>/commitlog.
	StorePathCommitLog string
	FlushDiskType      string // ASYNC_FLUSH or SYNC_FLUSH
	FlushIntervalMs    int64
	SyncFlushTimeoutMs int64
	// MappedFileSizeCommitLog is the commit-log segment size.
	MappedFileSizeCommitLog int64
	MaxMessageSize          int
	FileReservedTimeHours   int
	// DiskMaxUsedSpaceRatio (percent): upstream deletes expired segments
	// outside the deleteWhen hour above it; Bolide deletes expired segments
	// at any hour, so it only has to be valid.
	DiskMaxUsedSpaceRatio int
	// DiskSpaceCleanForciblyRatio (percent): above it the oldest segments
	// are deleted even before they expire (upstream default 85).
	DiskSpaceCleanForciblyRatio int
	EnableLmq                   bool
	EnableMultiDispatch         bool
	MaxLmqConsumeQueueNum       int
	AutoCreateTopicEnable       bool
	AutoCreateSubscriptionGroup bool
	DefaultTopicQueueNums       int
	BrokerPermission            int
	MessageIndexEnable          bool
	// ClusterTopicEnable / BrokerTopicEnable register the cluster and
	// broker names as topics, as upstream does, so admin tools can route
	// by them.
	ClusterTopicEnable bool
	BrokerTopicEnable  bool
	// LagSampleIntervalSeconds (Bolide's lagSampleIntervalSeconds) is how
	// often the lag evaluator samples consumer offsets; 0 means 30 s.
	LagSampleIntervalSeconds int
	// MetricsExporterType is MetricsExporterPROM (Bolide's default) or
	// MetricsExporterDisable. Upstream's OTLP_GRPC and LOG exporters are
	// not built: naming them is an error rather than a silent no-op.
	MetricsExporterType string
	// MetricsPromExporterHost and MetricsPromExporterPort are where the
	// Prometheus /metrics endpoint listens (default 127.0.0.1:5557; an
	// empty host means 127.0.0.1, not upstream's brokerIP1, so that
	// metrics stay private unless asked; port 0 picks a free one).
	MetricsPromExporterHost string
	MetricsPromExporterPort int
	// AclEnable (aclEnable) turns on access control: every request must be
	// signed by a user of AclFile and allowed by its policies (see
	// internal/acl and docs/acl.md). Not changeable at runtime.
	AclEnable bool
	// AclFile (aclFile) is the JSON file of users and policies; required
	// when AclEnable is set.
	AclFile string
	// TLS is the tls.* settings (see tls.go).
	TLS TLS
	// Query limits (Bolide's keys, see QueryLimits): rates are requests
	// per second (0 = unlimited) and apply to the query and admin codes.
	QueryLimits QueryLimits
	// Semantics holds delayed delivery, retry and transaction settings
	// (see semantics.go).
	Semantics Semantics
	// KVMemTableSizeMB (Bolide's kvMemTableSizeMB) is the size of one
	// memtable of the store's index database, in MiB (default 128). Larger
	// memtables mean fewer flushes and compactions per message (the index
	// rows are most of the broker's CPU per message, docs/benchmarks.md),
	// at the cost of memory: usually two are resident (one filling, one
	// flushing), up to four while flushes fall behind before writes stall.
	// Applied when the store opens.
	KVMemTableSizeMB int
}

// QueryLimits bounds what the query and admin commands may cost the broker
// (see internal/broker/limits.go and querycache.go). Every field can also
// be changed at runtime through UPDATE_BROKER_CONFIG.
type QueryLimits struct {
	// RateLimitPerClient (queryRateLimitPerClient) is the requests per
	// second one client (remote host) may make; 0 = unlimited.
	RateLimitPerClient int
	// RateLimitPerCode (queryRateLimitPerCode) is the requests per second
	// of one request code over all clients; 0 = unlimited.
	RateLimitPerCode int
	// PoolSize (queryPoolSize) is how many QUERY_MESSAGE and
	// VIEW_MESSAGE_BY_ID requests run at once.
	PoolSize int
	// QueueSize (queryQueueSize) is how many more may wait for the pool;
	// beyond it they are refused with SYSTEM_BUSY.
	QueueSize int
	// CacheSize (queryCacheSize) is the number of answers cached; 0
	// disables the cache.
	CacheSize int
	// CacheTTLMillis (queryCacheTTLMillis) is how long a cached answer is
	// served.
	CacheTTLMillis int
}

// Metrics exporter types (upstream MetricsExporterType names).
const (
	MetricsExporterDisable = "DISABLE"
	MetricsExporterPROM    = "PROM"
)

// MetricsAddr is the host:port of the Prometheus endpoint, or "" when the
// exporter is off.
func (b *Broker) MetricsAddr() string {
	if b.MetricsExporterType != MetricsExporterPROM {
		return ""
	}
	host := b.MetricsPromExporterHost
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(b.MetricsPromExporterPort))
}

// DefaultBroker returns upstream's defaults (with the data directory under
// the user's home, as RocketMQ's $HOME/store).
func DefaultBroker() Broker {
	home, _ := os.UserHomeDir()
	return Broker{
		BrokerClusterName:           "DefaultCluster",
		BrokerName:                  "broker-a",
		ListenPort:                  10911,
		StorePathRootDir:            filepath.Join(home, "store"),
		FlushDiskType:               "ASYNC_FLUSH",
		FlushIntervalMs:             500,
		SyncFlushTimeoutMs:          5000,
		MappedFileSizeCommitLog:     1 << 30,
		MaxMessageSize:              4 << 20,
		FileReservedTimeHours:       72,
		DiskMaxUsedSpaceRatio:       75,
		DiskSpaceCleanForciblyRatio: 85,
		MaxLmqConsumeQueueNum:       20000,
		AutoCreateTopicEnable:       true,
		AutoCreateSubscriptionGroup: true,
		DefaultTopicQueueNums:       8,
		BrokerPermission:            6,
		MessageIndexEnable:          true,
		ClusterTopicEnable:          true,
		BrokerTopicEnable:           true,
		MetricsExporterType:         MetricsExporterPROM,
		MetricsPromExporterHost:     "127.0.0.1",
		MetricsPromExporterPort:     5557,
		QueryLimits: QueryLimits{RateLimitPerClient: 500, RateLimitPerCode: 2000, PoolSize: 8, QueueSize: 256,
			CacheSize: 1024, CacheTTLMillis: 3000},
		Semantics:        defaultSemantics(),
		KVMemTableSizeMB: 128,
	}
}

// FlushInterval is FlushIntervalMs as a duration.
func (b *Broker) FlushInterval() time.Duration {
	return time.Duration(b.FlushIntervalMs) * time.Millisecond
}

// SyncFlushTimeout is SyncFlushTimeoutMs as a duration.
func (b *Broker) SyncFlushTimeout() time.Duration {
	return time.Duration(b.SyncFlushTimeoutMs) * time.Millisecond
}

// FileReservedTime is FileReservedTimeHours as a duration.
func (b *Broker) FileReservedTime() time.Duration {
	return time.Duration(b.FileReservedTimeHours) * time.Hour
}

// Report lists keys that were not applied.
type Report struct {
	// Unknown keys are not RocketMQ broker settings Bolide knows.
	Unknown []string
	// Ignored keys are RocketMQ settings Bolide accepts but does not use
	// (features it does not have, or tuning that does not apply).
	Ignored []string
}

// setter applies one property value.
type setter func(b *Broker, v string) error

func str(f func(*Broker) *string) setter {
	return func(b *Broker, v string) error { *f(b) = v; return nil }
}

func integer[T int | int64](f func(*Broker) *T, min, max int64) setter {
	return func(b *Broker, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min || n > max {
			return fmt.Errorf("want an integer in [%d, %d], got %q", min, max, v)
		}
		*f(b) = T(n)
		return nil
	}
}

// boolean parses as Java's Boolean.parseBoolean would accept, but strictly:
// "yes" or "1" are errors here rather than a silent false.
func boolean(f func(*Broker) *bool) setter {
	return func(b *Broker, v string) error {
		switch strings.ToLower(v) {
		case "true":
			*f(b) = true
		case "false":
			*f(b) = false
		default:
			return fmt.Errorf("want true or false, got %q", v)
		}
		return nil
	}
}

var setters = map[string]setter{
	"brokerClusterName": str(func(b *Broker) *string { return &b.BrokerClusterName }),
	"brokerName":        str(func(b *Broker) *string { return &b.BrokerName }),
	"brokerId":          integer(func(b *Broker) *int64 { return &b.BrokerID }, 0, 1<<31),
	"listenPort":        integer(func(b *Broker) *int { return &b.ListenPort }, 0, 65535),
	"namesrvAddr": func(b *Broker, v string) error {
		b.NamesrvAddr = SplitNamesrv(v)
		return nil
	},
	"brokerIP1":          str(func(b *Broker) *string { return &b.BrokerIP1 }),
	"storePathRootDir":   str(func(b *Broker) *string { return &b.StorePathRootDir }),
	"storePathCommitLog": str(func(b *Broker) *string { return &b.StorePathCommitLog }),
	"flushDiskType": func(b *Broker, v string) error {
		if v != "ASYNC_FLUSH" && v != "SYNC_FLUSH" {
			return fmt.Errorf("want ASYNC_FLUSH or SYNC_FLUSH, got %q", v)
		}
		b.FlushDiskType = v
		return nil
	},
	"flushIntervalCommitLog":      integer(func(b *Broker) *int64 { return &b.FlushIntervalMs }, 1, 60_000),
	"syncFlushTimeout":            integer(func(b *Broker) *int64 { return &b.SyncFlushTimeoutMs }, 1, 600_000),
	"mappedFileSizeCommitLog":     integer(func(b *Broker) *int64 { return &b.MappedFileSizeCommitLog }, 1<<16, 1<<40),
	"maxMessageSize":              integer(func(b *Broker) *int { return &b.MaxMessageSize }, 1, 1<<30),
	"fileReservedTime":            integer(func(b *Broker) *int { return &b.FileReservedTimeHours }, 1, 1<<20),
	"diskMaxUsedSpaceRatio":       integer(func(b *Broker) *int { return &b.DiskMaxUsedSpaceRatio }, 10, 95),
	"diskSpaceCleanForciblyRatio": integer(func(b *Broker) *int { return &b.DiskSpaceCleanForciblyRatio }, 30, 95),
	"enableLmq":                   boolean(func(b *Broker) *bool { return &b.EnableLmq }),
	"enableMultiDispatch":         boolean(func(b *Broker) *bool { return &b.EnableMultiDispatch }),
	"maxLmqConsumeQueueNum":       integer(func(b *Broker) *int { return &b.MaxLmqConsumeQueueNum }, 0, 1<<40),
	"autoCreateTopicEnable":       boolean(func(b *Broker) *bool { return &b.AutoCreateTopicEnable }),
	"autoCreateSubscriptionGroup": boolean(func(b *Broker) *bool { return &b.AutoCreateSubscriptionGroup }),
	"defaultTopicQueueNums":       integer(func(b *Broker) *int { return &b.DefaultTopicQueueNums }, 1, 1024),
	"brokerPermission":            integer(func(b *Broker) *int { return &b.BrokerPermission }, 0, 7),
	"messageIndexEnable":          boolean(func(b *Broker) *bool { return &b.MessageIndexEnable }),
	"clusterTopicEnable":          boolean(func(b *Broker) *bool { return &b.ClusterTopicEnable }),
	"brokerTopicEnable":           boolean(func(b *Broker) *bool { return &b.BrokerTopicEnable }),
	"lagSampleIntervalSeconds":    integer(func(b *Broker) *int { return &b.LagSampleIntervalSeconds }, 1, 3600),
	"metricsExporterType":         metricsExporterType,
	"metricsPromExporterHost":     str(func(b *Broker) *string { return &b.MetricsPromExporterHost }),
	"metricsPromExporterPort":     integer(func(b *Broker) *int { return &b.MetricsPromExporterPort }, 0, 65535),
	"aclEnable":                   boolean(func(b *Broker) *bool { return &b.AclEnable }),
	"aclFile":                     str(func(b *Broker) *string { return &b.AclFile }),
	"queryRateLimitPerClient":     integer(func(b *Broker) *int { return &b.QueryLimits.RateLimitPerClient }, 0, 1_000_000),
	"queryRateLimitPerCode":       integer(func(b *Broker) *int { return &b.QueryLimits.RateLimitPerCode }, 0, 1_000_000),
	"queryPoolSize":               integer(func(b *Broker) *int { return &b.QueryLimits.PoolSize }, 1, 256),
	"queryQueueSize":              integer(func(b *Broker) *int { return &b.QueryLimits.QueueSize }, 0, 100_000),
	"queryCacheSize":              integer(func(b *Broker) *int { return &b.QueryLimits.CacheSize }, 0, 1_000_000),
	"queryCacheTTLMillis":         integer(func(b *Broker) *int { return &b.QueryLimits.CacheTTLMillis }, 1, 3_600_000),
	"kvMemTableSizeMB":            integer(func(b *Broker) *int { return &b.KVMemTableSizeMB }, 4, 1024),
}

// SetBrokerKey applies one broker.conf key to b, validated as when read
// from a file; a key that is not a setting Bolide applies is an error.
func SetBrokerKey(b *Broker, key, value string) error {
	set, ok := setters[key]
	if !ok {
		return fmt.Errorf("%w: %s: not a Bolide broker setting", ErrInvalid, key)
	}
	if err := set(b, value); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, key, err)
	}
	return nil
}

// metricsExporterType accepts upstream's names and numbers
// (MetricsExporterType.valueOf of either) for the exporters Bolide has.
func metricsExporterType(b *Broker, v string) error {
	switch v {
	case MetricsExporterDisable, "0":
		b.MetricsExporterType = MetricsExporterDisable
	case MetricsExporterPROM, "2":
		b.MetricsExporterType = MetricsExporterPROM
	case "OTLP_GRPC", "1", "LOG", "3":
		return fmt.Errorf("%s is not supported: Bolide exports metrics with PROM only (or DISABLE)", v)
	default:
		return fmt.Errorf("want PROM or DISABLE, got %q", v)
	}
	return nil
}

// ignored are upstream broker settings Bolide accepts without acting on
// them: replication and HA (not built yet), thread pools and buffers of the
// Java implementation, and scheduling knobs with no equivalent.
var ignored = []string{
	"brokerRole", "deleteWhen", "haListenPort", "haMasterAddress", "brokerIP2",
	"sendMessageThreadPoolNums", "pullMessageThreadPoolNums", "queryMessageThreadPoolNums",
	"adminBrokerThreadPoolNums", "clientManageThreadPoolNums", "consumerManageThreadPoolNums",
	"useReentrantLockWhenPutMessage", "transientStorePoolEnable", "transientStorePoolSize",
	"warmMapedFileEnable", "flushCommitLogLeastPages", "flushConsumeQueueLeastPages",
	"flushIntervalConsumeQueue", "mappedFileSizeConsumeQueue", "waitTimeMillsInSendQueue",
	"osPageCacheBusyTimeOutMills", "traceTopicEnable", "slaveReadEnable", "enableDLegerCommitLog",
	"rocksdbCQDoubleWriteEnable", "storeType", "enablePropertyFilter", "filterSupportRetry",
	"storePathConsumeQueue", "storePathIndex", "storeCheckpoint", "abortFile",
	// OpenTelemetry tuning of upstream's exporters; Bolide's Prometheus
	// endpoint is pull-only and cumulative.
	"metricsGrpcExporterTarget", "metricsGrpcExporterHeader", "metricGrpcExporterTimeOutInMills",
	"metricGrpcExporterIntervalInMills", "metricLoggingExporterIntervalInMills", "metricsInDelta",
	"metricsOtelCardinalityLimit", "metricsLabel", "enableRequestMetrics", "enableConnectionMetrics",
	"enableLagAndDlqMetrics", "enableRemotingMetrics", "enableMessageStoreMetrics", "enablePopMetrics",
	"enableTransactionMetrics",
}

// SplitNamesrv splits a namesrvAddr value ("a:9876;b:9876").
func SplitNamesrv(v string) []string {
	var out []string
	for _, a := range strings.Split(v, ";") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// ParseBroker reads a broker.conf from r over the defaults in b.
func ParseBroker(r io.Reader, b *Broker) (Report, error) {
	props, err := ParseProperties(r)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	var errs []error
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := props[k]
		if set, ok := setters[k]; ok {
			if err := set(b, v); err != nil {
				errs = append(errs, fmt.Errorf("%w: %s: %v", ErrInvalid, k, err))
			}
			continue
		}
		if slices.Contains(ignored, k) {
			rep.Ignored = append(rep.Ignored, k)
			continue
		}
		rep.Unknown = append(rep.Unknown, k)
	}
	return rep, errors.Join(errs...)
}

// LoadBroker reads the broker.conf at path over the defaults.
func LoadBroker(path string) (Broker, Report, error) {
	b := DefaultBroker()
	f, err := os.Open(path)
	if err != nil {
		return b, Report{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	rep, err := ParseBroker(f, &b)
	if err != nil {
		return b, rep, fmt.Errorf("config: %s: %w", path, err)
	}
	return b, rep, nil
}

// ParseProperties reads Java properties text: key=value, key:value or
// "key value" lines; # and ! comments; a trailing backslash continues a
// line; \t \n \r \f \\ \uXXXX escapes in keys and values. Later keys win.
func ParseProperties(r io.Reader) (map[string]string, error) {
	out := make(map[string]string)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var logical strings.Builder
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if logical.Len() == 0 && (line == "" || line[0] == '#' || line[0] == '!') {
			continue
		}
		if n := trailingBackslashes(line); n%2 == 1 {
			logical.WriteString(line[:len(line)-1])
			continue
		}
		logical.WriteString(line)
		k, v, err := splitProperty(logical.String())
		logical.Reset()
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInvalid, lineNo, err)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config: read properties: %w", err)
	}
	if logical.Len() > 0 {
		k, v, err := splitProperty(logical.String())
		if err != nil {
			return nil, fmt.Errorf("%w: last line: %v", ErrInvalid, err)
		}
		out[k] = v
	}
	return out, nil
}

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

func splitProperty(line string) (string, string, error) {
	// The key ends at the first unescaped '=', ':' or whitespace.
	end := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			end = i
			break
		}
	}
	key, rest := line[:end], strings.TrimLeft(line[end:], " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	k, err := unescape(key)
	if err != nil {
		return "", "", err
	}
	if k == "" {
		return "", "", fmt.Errorf("empty key in %q", line)
	}
	v, err := unescape(strings.TrimRight(rest, " \t\r"))
	return k, v, err
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("short \\u escape in %q", s)
			}
			r, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("bad \\u escape in %q", s)
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}
