// Package admin implements Bolide's admin CLI: Apache RocketMQ's mqadmin
// commands with their names, flags and output, made LMQ-aware, plus a few
// Bolide extras. Run is the entry point of both `mqadmin` and
// `bolide admin`; the commands are also methods of Admin, typed functions
// that return the result structs printed below.
//
// # Command line
//
// Flags follow Java's: single-dash short options take a value (-t T,
// -s true), long options have Java's names (--topic, --namesrvAddr).
// Every command takes -n/--namesrvAddr ("host:port;host:port", default
// $NAMESRV_ADDR), -h/--help and --json. Errors go to stderr, one line
// each, naming the broker that failed and why; a broker answering
// SYSTEM_BUSY or FLOW_CONTROL is reported as rate limited. Exit codes:
// 0 success, 1 failure (including a partial one: some brokers failed, the
// rest is printed), 2 bad usage, 3 not found (the topic, group, message or
// LMQ exists nowhere asked).
//
// Timestamps (-s of resetOffsetByTime, -b/-e of queryMsgByKey) are "now",
// epoch milliseconds, yyyy-MM-dd#HH:mm:ss:SSS in local time, or RFC 3339.
//
// # LMQs
//
// An LMQ ("%LMQ%..." name) has no name-server route. Without -c the
// LMQ-aware commands (topicStatus, consumerProgress, resetOffsetByTime,
// queryMsgByKey, queryMsgByUniqueKey, queryMsgById) ask every broker the
// name server knows and leave out those that answer TOPIC_NOT_EXIST; with
// -c they use the route of the -c value, a cluster name or the LMQ's
// parent topic. Message queries send the LMQ name itself (Bolide's broker
// indexes each LMQ) and do not fall back to the parent topic, except on an
// Apache RocketMQ broker (one that answers Bolide's own request codes with
// REQUEST_CODE_NOT_SUPPORTED), which indexes LMQ messages under the parent
// (-c) only; hits are then kept when dispatched to the LMQ.
//
// resetOffsetByTime sends BOLIDE_RESET_OFFSET (a logged, undoable
// operation with an id); an Apache RocketMQ broker gets upstream's
// INVOKE_BROKER_TO_RESET_OFFSET instead, without --dry-run or --undo.
//
// # Text output
//
// The default output is Java mqadmin's, column for column, with these
// Bolide additions: consumerProgress has a #LagTime column after #Diff
// (age of the oldest unconsumed message; "0s" when caught up, "-" when
// the broker does not report it) and a #Status column after #LagTime (the
// queue's lag status from the broker's lag evaluator: OK, WARN, STOP,
// STALL, REWIND; "-" when the broker does not evaluate it, as Apache
// RocketMQ brokers do not), and --advice prints the evaluators' findings
// under the table (see docs/lag-advice.md); resetOffsetByTime rows add #old,
// #status and #reason and end with the operation id; queryMsgByKey
// truncates the merged result to -m (upstream issue #7526). Collections
// Java prints in hash order (properties, maps) are sorted.
//
// # JSON output
//
// --json prints one JSON document per run. Times are epoch milliseconds;
// optional fields are omitted when empty unless noted. Partial failures
// add "errors": [{"brokerName", "addr", "error"}]. Documents by command:
//
//	topicStatus          {topic, cluster, queues: [{topic, brokerName, queueId, minOffset,
//	                      maxOffset, lastUpdated}], putTps}
//	consumerProgress -g  {group, topic, cluster, queues: [{topic, brokerName, queueId,
//	                      brokerOffset, consumerOffset, pullOffset, clientIp, diff, inflight,
//	                      lastTimestamp, lagMillis (null: unknown), status}], consumeTps,
//	                      diffTotal, inflightTotal, status, advice (--advice): [{brokerName,
//	                      rule, severity, status, topic, queueIds, reason, suggestion,
//	                      evidence}]}
//	consumerProgress     {groups: [{group, count, version, type, model, tps, diffTotal}]}
//	resetOffsetByTime    {opId, group, topic, timestamp, timestampText, force, dryRun, undo,
//	                      queues: [{topic, brokerName, queueId, old (-1: none), new,
//	                      status (applied|unchanged|skipped|planned), reason}]}
//	queryMsgByKey        {topic, key, cluster, messages: [{msgId, offsetId, brokerName, topic,
//	                      queueId, queueOffset, storeTimestamp, lmqOffset}]}
//	queryMsgByUniqueKey,
//	queryMsgById         {messages: [{msgId, offsetId, brokerName, topic, tags, keys, queueId,
//	                      queueOffset, commitLogOffset, reconsumeTimes, bornTimestamp,
//	                      storeTimestamp, bornHost, storeHost, sysFlag, properties,
//	                      lmqOffsets: [{queue, offset}], bodyPath, body,
//	                      tracks: [{consumerGroup, trackType, exceptionDesc}], trackError}],
//	                      notFound: [id]}
//	updateTopic          {brokers: [addr], topicConfig: {topicName, readQueueNums,
//	                      writeQueueNums, perm, topicFilterType, topicSysFlag, order, attributes}}
//	deleteTopic          {topic, cluster, brokers: [addr], namesrvs: [addr]}
//	topicList            {topics: [name], rows (-c): [{cluster, topic, groups}]}
//	topicRoute           {brokerDatas: [{brokerAddrs: {id: addr}, brokerName, cluster,
//	                      enableActingMaster}], filterServerTable, queueDatas: [{brokerName,
//	                      perm, readQueueNums, topicSysFlag, writeQueueNums}]}
//	clusterList          {brokers: [{cluster, brokerName, brokerId, addr, runtime: {k: v}}]}
//	brokerStatus         {brokers: [{brokerName, addr, runtime: {k: v}}]}
//	consumerConnection   {group, broker: {brokerName, cluster, addr}, connections: [{clientId,
//	                      clientAddr, language, version}], subscriptions: [{topic,
//	                      subExpression}], consumeType, messageModel, consumeFromWhere}
//	updateSubGroup       {brokers: [addr], groupConfig: {groupName, consumeEnable, ...}}
//	deleteSubGroup       {group, cluster, brokers: [addr]}
//	sendMessage          {brokerName, queueId, queueOffset, sendStatus, msgId, offsetId}
//	lmqList              {prefix, brokers: [{brokerName, addr, count, lmqs: [{name,
//	                      firstSeen}], more}]}
//	lagAdvice            {group, topic, cluster, groups: [{group, status, severity, totalLag,
//	                      maxLagSeconds, complete, rule, brokerName, reason, suggestion,
//	                      reports: [{brokerName, <lag report: docs/lag-advice.md>}]}],
//	                      healthy, brokers: [{brokerName, addr, supported, tracked,
//	                      skippedLmq, window, intervalMillis}]}
package admin
