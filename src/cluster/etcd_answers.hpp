#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

// The JSON bodies the client sends and what it reads from etcd's answers,
// one pair per RPC (field names from etcd's api/etcdserverpb/rpc.proto and
// api/v3electionpb/v3election.proto, as the gateway spells them).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "meshd/cluster/etcd_client.hpp"

namespace meshd::cluster::etcd_json {

nlohmann::json range(const std::string& key, const std::string& range_end);
nlohmann::json put(const std::string& key, const std::string& value, std::int64_t lease);
nlohmann::json delete_range(const std::string& key);
/// A txn that runs `then` when `key`'s mod_revision is `expected` (0 for
/// a key that does not exist) and otherwise reads the key.
nlohmann::json txn_if_mod_revision(const std::string& key, std::int64_t expected,
                                   nlohmann::json then);
nlohmann::json lease_grant(std::int64_t ttl_seconds);
nlohmann::json lease_id(std::int64_t lease);
nlohmann::json watch_create(const std::string& prefix, std::int64_t start_revision);
nlohmann::json campaign(const std::string& name, std::int64_t lease, const std::string& value);
nlohmann::json leader(const std::string& name);
nlohmann::json resign(const LeaderKey& leader);

// Readers: throw CodecError (etcd_codec.hpp) on an answer of the wrong shape.
EtcdClient::Range read_range(const nlohmann::json& answer);
std::int64_t read_revision(const nlohmann::json& answer);
EtcdClient::TxnResult read_txn(const nlohmann::json& answer);
std::int64_t read_lease_id(const nlohmann::json& answer);
/// The remaining TTL from one {"result": LeaseKeepAliveResponse}: 0 when
/// the lease is gone.
std::int64_t read_keepalive_ttl(const nlohmann::json& answer);
std::optional<KeyValue> read_leader(const nlohmann::json& answer);
LeaderKey read_campaign(const nlohmann::json& answer);

/// Whether an error etcd answered to leader() says that nobody leads.
bool is_no_leader(const core::Error& error);

}  // namespace meshd::cluster::etcd_json
