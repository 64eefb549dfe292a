// Package client is Bolide's small internal RocketMQ client, used by the
// CLI and by the load generators of `bolide bench`. It is not a general
// purpose producer or consumer: there are no consumer groups, rebalancing,
// retries or heartbeats. It speaks the remoting protocol over one shared
// remoting.Client and offers:
//
//   - topic routes from the name servers (GET_ROUTEINFO_BY_TOPIC), cached for
//     Config.RouteTTL, and the cluster layout (GET_BROKER_CLUSTER_INFO);
//   - Send and SendOneway (SEND_MESSAGE_V2) with a generated UNIQ_KEY;
//   - Pull (PULL_MESSAGE with the subscription "*" carried in the request,
//     optionally long-polling), MaxOffset and CreateTopic on a broker.
//
// Every call that does network I/O takes a context first. A broker or name
// server that answers with a failure code yields a *ResponseError; pull
// codes that are part of normal operation (PULL_NOT_FOUND,
// PULL_RETRY_IMMEDIATELY, PULL_OFFSET_MOVED) are reported in
// PullResult.Code instead.
package client
