package ksps

// Wire vocabulary of spec/protocol.md, spelled exactly as on the wire. The Python module
// src/ksps/protocol/actions.py is the source of truth; the conformance suite checks the clients
// against it.

// Actions a client sends (spec/protocol.md §3-§8).
const (
	actionPing               = "ping"
	actionSubscribe          = "subscribe"
	actionUnsubscribe        = "unsubscribe"
	actionPublish            = "publish"
	actionDirectMessage      = "direct_message"
	actionPublishWithAck     = "publish_with_ack"
	actionPublishToIDWithAck = "publish_to_id_with_ack"
	actionAck                = "ack"
	actionGetAckStatus       = "get_ack_status"
	actionCancelAck          = "cancel_ack"
	actionPublishToServer    = "publish_to_server"
)

// Actions the server sends (spec/protocol.md §3-§8). `publish` and `direct_message` are also
// deliveries.
const (
	actionPong         = "pong"
	actionSubscribed   = "subscribed"
	actionUnsubscribed = "unsubscribed"
	actionPublishAck   = "publish_ack"
	actionAckResponse  = "ack_response"
	actionAckProgress  = "ack_progress"
	actionAckStatus    = "ack_status"
	actionAckCancelled = "ack_cancelled"
	actionError        = "error"
)

// directTopicPrefix starts the temporary topics that carry direct messages with acknowledgement
// (spec/protocol.md §4.4, §6.4).
const directTopicPrefix = "__direct_"

// noSubscriberError is the ack error of a client that has no callback for a delivery
// (spec/protocol.md §6.1).
const noSubscriberError = "no subscriber for topic"

// WebSocket close codes the server sends (spec/protocol.md §7.2).
const (
	// CloseNormal is sent on a graceful server shutdown; the client reconnects.
	CloseNormal = 1000
	// CloseAbnormal is reported when a connection ended without a close frame.
	CloseAbnormal = 1006
	// CloseRateLimited is sent when a client sent more frames per second than allowed.
	CloseRateLimited = 1008
	// CloseTooBig is sent when a frame was over the server's size limit.
	CloseTooBig = 1009
	// CloseReplaced is sent when another connection took this client's ID (spec §3.3). A client
	// never reconnects after it.
	CloseReplaced = 4001
	// CloseSlowConsumer is sent when the client did not read its messages fast enough.
	CloseSlowConsumer = 4002
	// CloseUnauthorized is sent when the credentials are refused (bad or missing token, an ID
	// the identity may not register; spec §10). The client reconnects only with GetToken.
	CloseUnauthorized = 4003
	// CloseTokenExpired is sent when the connection's token expired (spec §10). The client
	// reconnects at once with a token from GetToken; without GetToken it closes for good.
	CloseTokenExpired = 4004
	// CloseRegistrationTimeout is sent when no ping came within the server's deadline.
	CloseRegistrationTimeout = 4005
)
