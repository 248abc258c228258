#include "meshd/cluster/etcd_client.hpp"

#include <exception>

#include "etcd_answers.hpp"
#include "etcd_call.hpp"
#include "etcd_codec.hpp"
#include "etcd_core.hpp"
#include "etcd_watch.hpp"

namespace meshd::cluster {
namespace {

using nlohmann::json;

/// Turns a JSON answer into the caller's type; an answer of the wrong
/// shape is invalid_argument, never an exception through the event loop.
template <typename T, typename Read>
EtcdCall::Answer reading(std::function<void(core::Result<T>)> done, Read read) {
  return [done = std::move(done), read = std::move(read)](core::Result<json> answer) {
    if (!answer) {
      done(answer.error());
      return;
    }
    std::optional<core::Result<T>> result;
    try {
      result.emplace(read(*answer));
    } catch (const std::exception& e) {
      result.emplace(core::make_error(core::ErrorCode::invalid_argument,
                                      std::string("malformed etcd answer: ") + e.what()));
    }
    done(std::move(*result));
  };
}

class EtcdClientImpl final : public EtcdClient {
 public:
  EtcdClientImpl(boost::asio::io_context& io, std::shared_ptr<const EtcdSettings> settings)
      : core_(std::make_shared<EtcdCore>(io, std::move(settings))) {}

  void get_prefix(const std::string& prefix, Callback<Range> done) override {
    read(etcd_json::range(prefix, prefix_range_end(prefix)), std::move(done));
  }

  void get(const std::string& key, Callback<Range> done) override {
    read(etcd_json::range(key, {}), std::move(done));
  }

  void put(const std::string& key, const std::string& value, std::int64_t lease,
           Callback<std::int64_t> done) override {
    call("/v3/kv/put", etcd_json::put(key, value, lease), false,
         reading(std::move(done), etcd_json::read_revision));
  }

  void remove(const std::string& key, Callback<std::int64_t> done) override {
    call("/v3/kv/deleterange", etcd_json::delete_range(key), false,
         reading(std::move(done), etcd_json::read_revision));
  }

  void put_if(const std::string& key, const std::string& value, std::int64_t lease,
              std::int64_t expected_mod_revision, Callback<TxnResult> done) override {
    auto then = json{{"request_put", etcd_json::put(key, value, lease)}};
    call("/v3/kv/txn", etcd_json::txn_if_mod_revision(key, expected_mod_revision, std::move(then)),
         false, reading(std::move(done), etcd_json::read_txn));
  }

  void remove_if(const std::string& key, std::int64_t expected_mod_revision,
                 Callback<TxnResult> done) override {
    auto then = json{{"request_delete_range", etcd_json::delete_range(key)}};
    call("/v3/kv/txn", etcd_json::txn_if_mod_revision(key, expected_mod_revision, std::move(then)),
         false, reading(std::move(done), etcd_json::read_txn));
  }

  void lease_grant(std::int64_t ttl_seconds, Callback<std::int64_t> done) override {
    call("/v3/lease/grant", etcd_json::lease_grant(ttl_seconds), false,
         reading(std::move(done), etcd_json::read_lease_id));
  }

  void lease_keepalive(std::int64_t lease, Callback<std::int64_t> done) override {
    // Renewing twice is harmless: it may be sent again on a fresh connection.
    call("/v3/lease/keepalive", etcd_json::lease_id(lease), true,
         reading(std::move(done), etcd_json::read_keepalive_ttl));
  }

  void lease_revoke(std::int64_t lease, Done done) override {
    call("/v3/lease/revoke", etcd_json::lease_id(lease), false,
         reading(std::move(done), [](const json&) { return std::monostate{}; }));
  }

  std::unique_ptr<EtcdStream> watch_prefix(
      const std::string& prefix, std::int64_t start_revision,
      std::function<void(std::vector<WatchEvent> events, std::int64_t revision)> on_events,
      std::function<void(WatchEnd end)> on_end) override {
    auto watch = EtcdWatch::start(core_, etcd_json::watch_create(prefix, start_revision).dump(),
                                  start_revision, std::move(on_events), std::move(on_end));
    return std::make_unique<EtcdOperationStream>(std::move(watch));
  }

  std::unique_ptr<EtcdStream> campaign(const std::string& name, std::int64_t lease,
                                       const std::string& value,
                                       Callback<LeaderKey> done) override {
    EtcdCallSpec spec{"/v3/election/campaign", etcd_json::campaign(name, lease, value).dump(), true,
                      false};
    auto call =
        EtcdCall::start(core_, std::move(spec), reading(std::move(done), etcd_json::read_campaign));
    return std::make_unique<EtcdOperationStream>(std::move(call));
  }

  void leader(const std::string& name, Callback<std::optional<KeyValue>> done) override {
    auto decode = reading(std::move(done), etcd_json::read_leader);
    call("/v3/election/leader", etcd_json::leader(name), true,
         [decode = std::move(decode)](core::Result<json> answer) {
           if (!answer && etcd_json::is_no_leader(answer.error())) {
             decode(json::object());  // no "kv": nobody leads
             return;
           }
           decode(std::move(answer));
         });
  }

  void resign(const LeaderKey& leader, Done done) override {
    call("/v3/election/resign", etcd_json::resign(leader), false,
         reading(std::move(done), [](const json&) { return std::monostate{}; }));
  }

  std::string current_endpoint() const override {
    return core_->settings()->endpoints[core_->current()].url;
  }

 private:
  void read(json body, Callback<Range> done) {
    call("/v3/kv/range", std::move(body), true, reading(std::move(done), etcd_json::read_range));
  }

  void call(const char* path, const json& body, bool idempotent, EtcdCall::Answer answer) {
    EtcdCall::start(core_, EtcdCallSpec{path, body.dump(), false, idempotent}, std::move(answer));
  }

  std::shared_ptr<EtcdCore> core_;
};

}  // namespace

core::Result<std::unique_ptr<EtcdClient>> EtcdClient::create(boost::asio::io_context& io,
                                                             EtcdOptions options) {
  auto settings = make_settings(options);
  if (!settings) return settings.error();
  return std::unique_ptr<EtcdClient>(std::make_unique<EtcdClientImpl>(io, std::move(*settings)));
}

}  // namespace meshd::cluster
