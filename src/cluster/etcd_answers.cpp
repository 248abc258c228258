#include "etcd_answers.hpp"

#include "etcd_codec.hpp"

namespace meshd::cluster::etcd_json {
namespace {

using nlohmann::json;

json key_only(const std::string& key) {
  return json{{"key", base64_encode(key)}};
}

}  // namespace

json range(const std::string& key, const std::string& range_end) {
  auto body = key_only(key);
  if (!range_end.empty()) body["range_end"] = base64_encode(range_end);
  return body;
}

json put(const std::string& key, const std::string& value, std::int64_t lease) {
  json body{{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) body["lease"] = std::to_string(lease);
  return body;
}

json delete_range(const std::string& key) {
  return key_only(key);
}

json txn_if_mod_revision(const std::string& key, std::int64_t expected, json then) {
  // A key that does not exist compares as mod_revision 0 (etcd's
  // applyCompare reads a missing key as an empty KeyValue).
  json compare{{"key", base64_encode(key)},
               {"target", "MOD"},
               {"result", "EQUAL"},
               {"mod_revision", std::to_string(expected)}};
  return json{{"compare", json::array({std::move(compare)})},
              {"success", json::array({std::move(then)})},
              {"failure", json::array({json{{"request_range", key_only(key)}}})}};
}

json lease_grant(std::int64_t ttl_seconds) {
  return json{{"TTL", std::to_string(ttl_seconds)}};
}

json lease_id(std::int64_t lease) {
  return json{{"ID", std::to_string(lease)}};
}

json watch_create(const std::string& prefix, std::int64_t start_revision) {
  json create{{"key", base64_encode(prefix)},
              {"range_end", base64_encode(prefix_range_end(prefix))},
              {"progress_notify", true}};
  if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
  return json{{"create_request", std::move(create)}};
}

json campaign(const std::string& name, std::int64_t lease, const std::string& value) {
  return json{{"name", base64_encode(name)},
              {"lease", std::to_string(lease)},
              {"value", base64_encode(value)}};
}

json leader(const std::string& name) {
  return json{{"name", base64_encode(name)}};
}

json resign(const LeaderKey& leader) {
  return json{{"leader",
               {{"name", base64_encode(leader.name)},
                {"key", base64_encode(leader.key)},
                {"rev", std::to_string(leader.rev)},
                {"lease", std::to_string(leader.lease)}}}};
}

EtcdClient::Range read_range(const json& answer) {
  EtcdClient::Range range;
  range.revision = read_header_revision(answer);
  const auto kvs = answer.find("kvs");
  if (kvs != answer.end() && !kvs->is_null()) {
    if (!kvs->is_array()) throw CodecError("'kvs' is not an array");
    range.kvs.reserve(kvs->size());
    for (const auto& kv : *kvs) range.kvs.push_back(read_key_value(kv));
  }
  return range;
}

std::int64_t read_revision(const json& answer) {
  if (!answer.contains("header")) throw CodecError("no 'header'");
  return read_header_revision(answer);
}

EtcdClient::TxnResult read_txn(const json& answer) {
  EtcdClient::TxnResult result;
  result.revision = read_revision(answer);
  result.succeeded = read_bool(answer, "succeeded");
  if (result.succeeded) return result;
  const auto responses = answer.find("responses");
  if (responses == answer.end() || !responses->is_array() || responses->size() != 1) {
    throw CodecError("a failed txn without its one read");
  }
  auto range = read_range(read_object(responses->front(), "response_range"));
  if (!range.kvs.empty()) result.current = std::move(range.kvs.front());
  return result;
}

std::int64_t read_lease_id(const json& answer) {
  const auto id = read_int64(answer, "ID");
  if (id == 0) throw CodecError("a lease grant without an ID");
  return id;
}

std::int64_t read_keepalive_ttl(const json& answer) {
  if (!answer.contains("result")) throw CodecError("a keep-alive answer without 'result'");
  return read_int64(read_object(answer, "result"), "TTL");
}

std::optional<KeyValue> read_leader(const json& answer) {
  const auto kv = answer.find("kv");
  if (kv == answer.end() || kv->is_null()) return std::nullopt;
  return read_key_value(*kv);
}

LeaderKey read_campaign(const json& answer) {
  if (!answer.contains("leader")) throw CodecError("a campaign answer without 'leader'");
  const auto& leader = read_object(answer, "leader");
  LeaderKey key;
  key.name = read_bytes(leader, "name");
  key.key = read_bytes(leader, "key");
  key.rev = read_int64(leader, "rev");
  key.lease = read_int64(leader, "lease");
  return key;
}

bool is_no_leader(const core::Error& error) {
  return error.code == core::ErrorCode::upstream_failure &&
         error.message.find("election: no leader") != std::string::npos;
}

}  // namespace meshd::cluster::etcd_json
