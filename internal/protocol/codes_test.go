package protocol

import "testing"

func TestCodes(t *testing.T) {
	for _, tc := range []struct {
		code RequestCode
		num  int32
		name string
	}{
		{SendMessage, 10, "SEND_MESSAGE"},
		{GetRouteInfoByTopic, 105, "GET_ROUTEINFO_BY_TOPIC"},
		{RegisterBroker, 103, "REGISTER_BROKER"},
		{SendMessageV2, 310, "SEND_MESSAGE_V2"},
		{BrokerHeartbeat, 904, "BROKER_HEARTBEAT"},
		{PopMessage, 200050, "POP_MESSAGE"},
		{BatchAckMessage, 200151, "BATCH_ACK_MESSAGE"},
		{RequestCode(12345), 12345, "RequestCode(12345)"},
	} {
		if int32(tc.code) != tc.num || tc.code.String() != tc.name {
			t.Errorf("%d: got %d %s, want %d %s", tc.num, int32(tc.code), tc.code, tc.num, tc.name)
		}
	}
	for _, tc := range []struct {
		code ResponseCode
		num  int32
		name string
	}{
		{Success, 0, "SUCCESS"},
		{SystemError, 1, "SYSTEM_ERROR"},
		{SystemBusy, 2, "SYSTEM_BUSY"},
		{RequestCodeNotSupported, 3, "REQUEST_CODE_NOT_SUPPORTED"},
		{TopicNotExist, 17, "TOPIC_NOT_EXIST"},
		{QueryNotFound, 22, "QUERY_NOT_FOUND"},
		{InvalidParameter, 29, "INVALID_PARAMETER"},
		{GoAway, 1500, "GO_AWAY"},
		{RPCTimeOut, -1006, "RPC_TIME_OUT"},
		{ResponseCode(-7), -7, "ResponseCode(-7)"},
	} {
		if int32(tc.code) != tc.num || tc.code.String() != tc.name {
			t.Errorf("%d: got %d %s, want %d %s", tc.num, int32(tc.code), tc.code, tc.num, tc.name)
		}
	}
}
