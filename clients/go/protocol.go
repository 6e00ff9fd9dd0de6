package ksps

// The wire vocabulary of spec/protocol.md (actions, close codes, fixed texts) and the defaults of
// ClientOptions are generated from spec/vocabulary.toml into vocabulary.go; run
// `python scripts/generate_vocabulary.py` from the repository root after changing it. This file
// only gives some of them the names the rest of the package uses.

// noSubscriberError is the ack error of a client that has no callback for a delivery
// (spec/protocol.md §6.1).
const noSubscriberError = noSubscriber
