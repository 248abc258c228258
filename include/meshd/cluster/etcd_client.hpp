#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meshd/core/error.hpp"

namespace meshd::cluster {

/// How to reach etcd: its v3 JSON gateway (grpc-gateway, `/v3/...`) on
/// one or more members. Requests go to one endpoint at a time and fail
/// over to the next on a connection error or timeout: a request that
/// cannot connect tries each other endpoint in turn (nothing was sent
/// yet); a request that was sent and then timed out or lost its
/// connection is answered with that error (never sent again: the caller
/// decides), and the next request goes to the next endpoint.
struct EtcdOptions {
  /// "http://127.0.0.1:2379" or "https://host:2379"; at least one.
  std::vector<std::string> endpoints;
  /// TLS (https endpoints): the CA that signed the members' certificates,
  /// and an optional client certificate and key (PEM file paths).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  /// A unary request (range, put, txn, lease, ...) that takes longer fails
  /// with ErrorCode::upstream_timeout and the next call tries the next endpoint.
  /// Counted from sending (after connecting).
  std::chrono::milliseconds request_timeout{3000};
  /// Connecting to one endpoint (resolving, TCP and the TLS handshake).
  std::chrono::milliseconds connect_timeout{1000};
};

/// One key as etcd reports it (mvccpb.KeyValue); key and value are the
/// raw bytes (the client does the base64 of the JSON gateway).
struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct WatchEvent {
  enum class Type { put, del };
  Type type = Type::put;
  KeyValue kv;  // for del: key and mod_revision only
};

/// A running long request (a watch, a campaign): destroying it or calling
/// cancel() ends it without calling its callbacks again.
class EtcdStream {
 public:
  virtual ~EtcdStream() = default;
  virtual void cancel() = 0;
};

/// The elected leader of an election (v3electionpb.LeaderKey).
struct LeaderKey {
  std::string name;
  std::string key;
  std::int64_t rev = 0;
  std::int64_t lease = 0;
};

/// An asynchronous etcd v3 client over the JSON gateway, with Boost.Beast
/// (plain or TLS, OpenSSL) and nlohmann/json: no gRPC stack. All methods
/// are called on, and call back on, the io_context's thread; every
/// callback is called exactly once (unless its stream was cancelled or the
/// client destroyed, after which none is called). Errors are
/// core::Error: `unavailable` when no endpoint answers, `upstream_timeout`
/// for a request past its deadline, `upstream_failure` for an error etcd
/// answered (its message included), `invalid_argument` for a malformed
/// answer. A member that answers it has no leader or quorum (gRPC
/// UNAVAILABLE or DEADLINE_EXCEEDED) gives `unavailable` or
/// `upstream_timeout`, so that the next request tries another member.
class EtcdClient {
 public:
  template <typename T>
  using Callback = std::function<void(core::Result<T>)>;
  using Done = std::function<void(core::Status)>;

  struct Range {
    std::vector<KeyValue> kvs;
    std::int64_t revision = 0;  // the store's revision when read (header.revision)
  };
  struct TxnResult {
    bool succeeded = false;
    std::int64_t revision = 0;
    /// When it did not succeed: the key as it is now (absent when deleted).
    std::optional<KeyValue> current;
  };

  /// invalid_argument for an endpoint that is not http(s)://host:port, or
  /// TLS files that cannot be read.
  static core::Result<std::unique_ptr<EtcdClient>> create(boost::asio::io_context& io,
                                                          EtcdOptions options);
  virtual ~EtcdClient() = default;

  /// Every key under `prefix` (range_end = prefix + 1), at the current revision.
  virtual void get_prefix(const std::string& prefix, Callback<Range> done) = 0;
  /// One key (an empty kvs when absent).
  virtual void get(const std::string& key, Callback<Range> done) = 0;
  /// Puts `value` at `key`, under `lease` when non-zero. Answers the revision.
  virtual void put(const std::string& key, const std::string& value, std::int64_t lease,
                   Callback<std::int64_t> done) = 0;
  /// Deletes one key; answers the revision.
  virtual void remove(const std::string& key, Callback<std::int64_t> done) = 0;
  /// Puts only when `key` has mod_revision `expected_mod_revision` (0: only
  /// when it does not exist). On failure `current` holds the key as it is.
  virtual void put_if(const std::string& key, const std::string& value, std::int64_t lease,
                      std::int64_t expected_mod_revision, Callback<TxnResult> done) = 0;
  /// Deletes only when `key` has mod_revision `expected_mod_revision`.
  virtual void remove_if(const std::string& key, std::int64_t expected_mod_revision,
                         Callback<TxnResult> done) = 0;

  /// A lease of `ttl` seconds; answers its id.
  virtual void lease_grant(std::int64_t ttl_seconds, Callback<std::int64_t> done) = 0;
  /// One keep-alive; answers the remaining TTL in seconds, 0 when the
  /// lease is gone (expired or revoked): the caller must grant a new one.
  virtual void lease_keepalive(std::int64_t lease, Callback<std::int64_t> done) = 0;
  virtual void lease_revoke(std::int64_t lease, Done done) = 0;

  /// Watches every key under `prefix` from `start_revision` (inclusive;
  /// 0 = from now). `on_events` gets each batch with the revision of the
  /// response header. `on_end` is called once when the watch ends for any
  /// reason other than cancel(): with an error (connection lost, etcd
  /// gone), or with `compacted` > 0 when start_revision was compacted
  /// (then the caller must read everything again and watch from there).
  /// Progress notifications (empty batches) are requested so that the
  /// caller can tell a live watch from a stalled one (etcd sends them every
  /// --experimental-watch-progress-notify-interval, 10 minutes by default).
  /// With start_revision > 0, a first empty batch at start_revision - 1
  /// says that etcd has accepted the watch.
  /// error.code: `conflict` for a compaction, `unavailable` or
  /// `upstream_timeout` for a lost connection, `upstream_failure` when etcd
  /// cancelled the watch, `invalid_argument` for a malformed answer.
  struct WatchEnd {
    core::Error error;
    std::int64_t compacted = 0;  // etcd's compact_revision, when that was the reason
  };
  virtual std::unique_ptr<EtcdStream> watch_prefix(
      const std::string& prefix, std::int64_t start_revision,
      std::function<void(std::vector<WatchEvent> events, std::int64_t revision)> on_events,
      std::function<void(WatchEnd end)> on_end) = 0;

  /// Election (v3election): waits until this caller leads `name` (which
  /// may be never); the answer is the leader key. Destroy the stream to
  /// stop waiting. `value` is what leader() shows.
  virtual std::unique_ptr<EtcdStream> campaign(const std::string& name, std::int64_t lease,
                                               const std::string& value,
                                               Callback<LeaderKey> done) = 0;
  /// The current leader's key and value (absent when none).
  virtual void leader(const std::string& name, Callback<std::optional<KeyValue>> done) = 0;
  virtual void resign(const LeaderKey& leader, Done done) = 0;

  /// The endpoint the next request goes to ("http://127.0.0.1:2379").
  virtual std::string current_endpoint() const = 0;
};

/// "http://h:p" strings check (for `meshd validate`): empty when fine,
/// else the reason.
std::string check_endpoint(const std::string& url);

/// Whether an error from put/put_if/lease_keepalive... is etcd saying the
/// lease is gone ("requested lease not found"): grant a new one.
bool is_lease_not_found(const core::Error& error);

}  // namespace meshd::cluster
