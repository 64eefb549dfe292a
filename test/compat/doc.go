// Package compat proves wire compatibility with the official RocketMQ Go
// client (github.com/apache/rocketmq-client-go/v2): each test runs Bolide's
// servers in process on random loopback ports and drives them with the
// client exactly as an application would.
package compat
