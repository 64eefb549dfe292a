package config

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// getters render each setting back as its broker.conf value, so that a
// running broker can answer GET_BROKER_CONFIG with its effective config.
// Every key of setters has one (TestEveryKeyHasAGetter).
var getters = map[string]func(b *Broker) string{
	"brokerClusterName":           func(b *Broker) string { return b.BrokerClusterName },
	"brokerName":                  func(b *Broker) string { return b.BrokerName },
	"brokerId":                    func(b *Broker) string { return strconv.FormatInt(b.BrokerID, 10) },
	"listenPort":                  func(b *Broker) string { return strconv.Itoa(b.ListenPort) },
	"namesrvAddr":                 func(b *Broker) string { return strings.Join(b.NamesrvAddr, ";") },
	"brokerIP1":                   func(b *Broker) string { return b.BrokerIP1 },
	"storePathRootDir":            func(b *Broker) string { return b.StorePathRootDir },
	"storePathCommitLog":          func(b *Broker) string { return b.StorePathCommitLog },
	"flushDiskType":               func(b *Broker) string { return b.FlushDiskType },
	"flushIntervalCommitLog":      func(b *Broker) string { return strconv.FormatInt(b.FlushIntervalMs, 10) },
	"syncFlushTimeout":            func(b *Broker) string { return strconv.FormatInt(b.SyncFlushTimeoutMs, 10) },
	"mappedFileSizeCommitLog":     func(b *Broker) string { return strconv.FormatInt(b.MappedFileSizeCommitLog, 10) },
	"maxMessageSize":              func(b *Broker) string { return strconv.Itoa(b.MaxMessageSize) },
	"fileReservedTime":            func(b *Broker) string { return strconv.Itoa(b.FileReservedTimeHours) },
	"diskMaxUsedSpaceRatio":       func(b *Broker) string { return strconv.Itoa(b.DiskMaxUsedSpaceRatio) },
	"diskSpaceCleanForciblyRatio": func(b *Broker) string { return strconv.Itoa(b.DiskSpaceCleanForciblyRatio) },
	"enableLmq":                   func(b *Broker) string { return strconv.FormatBool(b.EnableLmq) },
	"enableMultiDispatch":         func(b *Broker) string { return strconv.FormatBool(b.EnableMultiDispatch) },
	"maxLmqConsumeQueueNum":       func(b *Broker) string { return strconv.Itoa(b.MaxLmqConsumeQueueNum) },
	"autoCreateTopicEnable":       func(b *Broker) string { return strconv.FormatBool(b.AutoCreateTopicEnable) },
	"autoCreateSubscriptionGroup": func(b *Broker) string { return strconv.FormatBool(b.AutoCreateSubscriptionGroup) },
	"defaultTopicQueueNums":       func(b *Broker) string { return strconv.Itoa(b.DefaultTopicQueueNums) },
	"brokerPermission":            func(b *Broker) string { return strconv.Itoa(b.BrokerPermission) },
	"messageIndexEnable":          func(b *Broker) string { return strconv.FormatBool(b.MessageIndexEnable) },
	"clusterTopicEnable":          func(b *Broker) string { return strconv.FormatBool(b.ClusterTopicEnable) },
	"brokerTopicEnable":           func(b *Broker) string { return strconv.FormatBool(b.BrokerTopicEnable) },
	"lagSampleIntervalSeconds": func(b *Broker) string {
		if b.LagSampleIntervalSeconds == 0 {
			return "30" // the effective default (see Broker.LagSampleIntervalSeconds)
		}
		return strconv.Itoa(b.LagSampleIntervalSeconds)
	},
	"metricsExporterType":     func(b *Broker) string { return b.MetricsExporterType },
	"metricsPromExporterHost": func(b *Broker) string { return b.MetricsPromExporterHost },
	"metricsPromExporterPort": func(b *Broker) string { return strconv.Itoa(b.MetricsPromExporterPort) },
	"queryRateLimitPerClient": func(b *Broker) string { return strconv.Itoa(b.QueryLimits.RateLimitPerClient) },
	"queryRateLimitPerCode":   func(b *Broker) string { return strconv.Itoa(b.QueryLimits.RateLimitPerCode) },
	"queryPoolSize":           func(b *Broker) string { return strconv.Itoa(b.QueryLimits.PoolSize) },
	"queryQueueSize":          func(b *Broker) string { return strconv.Itoa(b.QueryLimits.QueueSize) },
	"queryCacheSize":          func(b *Broker) string { return strconv.Itoa(b.QueryLimits.CacheSize) },
	"queryCacheTTLMillis":     func(b *Broker) string { return strconv.Itoa(b.QueryLimits.CacheTTLMillis) },
	"kvMemTableSizeMB":        func(b *Broker) string { return strconv.Itoa(b.KVMemTableSizeMB) },
	"aclEnable":               func(b *Broker) string { return strconv.FormatBool(b.AclEnable) },
	"aclFile":                 func(b *Broker) string { return b.AclFile },
	"tls.server.mode": func(b *Broker) string {
		if b.TLS.ServerMode == "" {
			return "disabled"
		}
		return b.TLS.ServerMode
	},
	"tls.server.certPath":      func(b *Broker) string { return b.TLS.ServerCertPath },
	"tls.server.keyPath":       func(b *Broker) string { return b.TLS.ServerKeyPath },
	"tls.server.trustCertPath": func(b *Broker) string { return b.TLS.ServerTrustPath },
	"tls.server.authClient":    func(b *Broker) string { return strconv.FormatBool(b.TLS.ServerAuthClient) },
	"tls.enable":               func(b *Broker) string { return strconv.FormatBool(b.TLS.Enable) },
	"tls.client.certPath":      func(b *Broker) string { return b.TLS.ClientCertPath },
	"tls.client.keyPath":       func(b *Broker) string { return b.TLS.ClientKeyPath },
	"tls.client.trustCertPath": func(b *Broker) string { return b.TLS.ClientTrustPath },
}

// PropertiesText renders b's settings as properties text (key=value
// lines sorted by key; values escaped as Java's Properties.store does for
// the characters that would change their meaning), the body of
// GET_BROKER_CONFIG. Keys without a getter are left out.
func (b *Broker) PropertiesText() string {
	var sb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(getters)) {
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(escapeValue(getters[k](b)))
		sb.WriteByte('\n')
	}
	return sb.String()
}

func escapeValue(v string) string {
	if !strings.ContainsAny(v, "\\\n\r\t\f") && !strings.HasPrefix(v, " ") {
		return v
	}
	var sb strings.Builder
	for i, r := range v {
		switch r {
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\f':
			sb.WriteString(`\f`)
		case ' ':
			if i == 0 {
				sb.WriteString(`\ `)
			} else {
				sb.WriteRune(r)
			}
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
