package protocol

// Name server request and response headers (RocketMQ P/header/namesrv).
// Field tags are the Java field names, which are the ext keys on the wire;
// pointers stand for Java's boxed optional fields.

// RegisterBrokerRequestHeader is the REGISTER_BROKER request header.
type RegisterBrokerRequestHeader struct {
	BrokerName   string `ext:"brokerName,required"`
	BrokerAddr   string `ext:"brokerAddr,required"` // ip:port clients should use
	ClusterName  string `ext:"clusterName,required"`
	HAServerAddr string `ext:"haServerAddr,required"` // ip:haPort
	BrokerID     int64  `ext:"brokerId,required"`     // 0 = master
	// HeartbeatTimeoutMillis is how long the name server keeps the broker
	// without a refresh (Java default 120 000 when absent).
	HeartbeatTimeoutMillis *int64 `ext:"heartbeatTimeoutMillis"`
	EnableActingMaster     *bool  `ext:"enableActingMaster"`
	// Compressed selects the zlib body form. 5.x brokers always send false.
	Compressed bool `ext:"compressed"`
	// BodyCrc32 is crc32(body) & 0x7FFFFFFF; 0 means "not checked".
	BodyCrc32 int32 `ext:"bodyCrc32"`
	// ZoneName is not a Java header field but an extra ext key the broker
	// adds when it knows its zone.
	ZoneName string `ext:"__ZONE_NAME"`
}

// RegisterBrokerResponseHeader is the REGISTER_BROKER response header;
// slaves learn their master's address from it.
type RegisterBrokerResponseHeader struct {
	HAServerAddr string `ext:"haServerAddr"`
	MasterAddr   string `ext:"masterAddr"`
}

// UnregisterBrokerRequestHeader is the UNREGISTER_BROKER request header.
type UnregisterBrokerRequestHeader struct {
	BrokerName  string `ext:"brokerName,required"`
	BrokerAddr  string `ext:"brokerAddr,required"`
	ClusterName string `ext:"clusterName,required"`
	BrokerID    int64  `ext:"brokerId,required"`
}

// BrokerHeartbeatRequestHeader is the BROKER_HEARTBEAT request header. Note
// the upstream spelling heartbeatTimeoutMills (not ...Millis).
type BrokerHeartbeatRequestHeader struct {
	ClusterName           string `ext:"clusterName,required"`
	BrokerAddr            string `ext:"brokerAddr,required"`
	BrokerName            string `ext:"brokerName,required"`
	BrokerID              *int64 `ext:"brokerId"`
	Epoch                 *int32 `ext:"epoch"`
	MaxOffset             *int64 `ext:"maxOffset"`
	ConfirmOffset         *int64 `ext:"confirmOffset"`
	HeartbeatTimeoutMills *int64 `ext:"heartbeatTimeoutMills"`
	ElectionPriority      *int32 `ext:"electionPriority"`
}

// QueryDataVersionRequestHeader is the QUERY_DATA_VERSION request header;
// the body is the broker's DataVersion.
type QueryDataVersionRequestHeader struct {
	BrokerName  string `ext:"brokerName,required"`
	BrokerAddr  string `ext:"brokerAddr,required"`
	ClusterName string `ext:"clusterName,required"`
	BrokerID    int64  `ext:"brokerId,required"`
}

// QueryDataVersionResponseHeader is the QUERY_DATA_VERSION response header.
type QueryDataVersionResponseHeader struct {
	Changed bool `ext:"changed,required"` // the broker's version differs from the name server's
}

// GetRouteInfoRequestHeader is the GET_ROUTEINFO_BY_TOPIC request header.
type GetRouteInfoRequestHeader struct {
	Topic string `ext:"topic,required"`
	// AcceptStandardJSONOnly asks for the standard-JSON route form even
	// from a client older than 4.9.4.
	AcceptStandardJSONOnly *bool `ext:"acceptStandardJsonOnly"`
}

// GetTopicsByClusterRequestHeader is the GET_TOPICS_BY_CLUSTER request header.
type GetTopicsByClusterRequestHeader struct {
	Cluster string `ext:"cluster,required"`
}

// DeleteTopicFromNamesrvRequestHeader is the DELETE_TOPIC_IN_NAMESRV request
// header; a ClusterName limits the deletion to that cluster's brokers.
type DeleteTopicFromNamesrvRequestHeader struct {
	Topic       string `ext:"topic,required"`
	ClusterName string `ext:"clusterName"`
}

// PutKVConfigRequestHeader is the PUT_KV_CONFIG request header.
type PutKVConfigRequestHeader struct {
	Namespace string `ext:"namespace,required"`
	Key       string `ext:"key,required"`
	Value     string `ext:"value,required"`
}

// GetKVConfigRequestHeader is the GET_KV_CONFIG request header.
type GetKVConfigRequestHeader struct {
	Namespace string `ext:"namespace,required"`
	Key       string `ext:"key,required"`
}

// GetKVConfigResponseHeader is the GET_KV_CONFIG response header.
type GetKVConfigResponseHeader struct {
	Value string `ext:"value"`
}

// DeleteKVConfigRequestHeader is the DELETE_KV_CONFIG request header.
type DeleteKVConfigRequestHeader struct {
	Namespace string `ext:"namespace,required"`
	Key       string `ext:"key,required"`
}

// GetKVListByNamespaceRequestHeader is the GET_KVLIST_BY_NAMESPACE request
// header.
type GetKVListByNamespaceRequestHeader struct {
	Namespace string `ext:"namespace,required"`
}

// WipeWritePermOfBrokerRequestHeader is the WIPE_WRITE_PERM_OF_BROKER
// request header.
type WipeWritePermOfBrokerRequestHeader struct {
	BrokerName string `ext:"brokerName,required"`
}

// WipeWritePermOfBrokerResponseHeader is the WIPE_WRITE_PERM_OF_BROKER
// response header.
type WipeWritePermOfBrokerResponseHeader struct {
	WipeTopicCount int32 `ext:"wipeTopicCount,required"`
}

// AddWritePermOfBrokerRequestHeader is the ADD_WRITE_PERM_OF_BROKER request
// header.
type AddWritePermOfBrokerRequestHeader struct {
	BrokerName string `ext:"brokerName,required"`
}

// AddWritePermOfBrokerResponseHeader is the ADD_WRITE_PERM_OF_BROKER
// response header.
type AddWritePermOfBrokerResponseHeader struct {
	AddTopicCount int32 `ext:"addTopicCount,required"`
}
