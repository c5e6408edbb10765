package apis

// ShardKeyLabel is the label Flux shards objects by: a controller run
// with --watch-label-selector=sharding.fluxcd.io/key=shard1 reconciles the
// objects labelled shard1, the main instance (selector
// !sharding.fluxcd.io/key) those without the label.
const ShardKeyLabel = "sharding.fluxcd.io/key"
