#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "meshd/api/http_server.hpp"
#include "meshd/api/outbound_queue.hpp"
#include "meshd/core/clock.hpp"
#include "meshd/core/error.hpp"

namespace meshd::api {

struct ApiContext;

/// One subscriber of the stream (a WebSocket connection), as the hub sees
/// it: a bounded outbound queue, the topics it follows, and two things the
/// connection does for the hub. Free of Beast so that the hub's protocol
/// logic is unit-testable with a fake client.
class StreamClient {
 public:
  explicit StreamClient(QueueLimits limits) : queue_(limits) {}
  virtual ~StreamClient() = default;
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  OutboundQueue& queue() { return queue_; }
  const std::set<std::string>& topics() const { return topics_; }
  bool dropped() const { return dropped_; }

  /// Who it is, for logs ("127.0.0.1:53122").
  virtual std::string remote() const = 0;
  /// Messages were queued: start writing the front unless a write is in flight.
  virtual void wake() = 0;
  /// The hub gave up on the client (it stayed behind): close the connection
  /// with 1008 (policy violation) and `reason`.
  virtual void drop(const std::string& reason) = 0;

 private:
  friend class StreamHub;
  OutboundQueue queue_;
  std::set<std::string> topics_;
  bool dropped_ = false;
};

struct StreamHubOptions {
  QueueLimits queue;
  /// A resubscription with "since" replays at most this many events (the
  /// newest); an older gap is announced with a "gap" marker, to be filled
  /// from GET /api/v1/events.
  std::size_t replay_limit = 500;
};

/// The fan-out behind `GET /ws` (SPEC section 8). Lives on the control
/// loop like the state it reports, so it takes no locks. Clients subscribe
/// to topics (services, health, breakers, events, metrics, nodes,
/// logs:<service>);
/// each newly subscribed topic gets a snapshot from its provider, then
/// deltas as the daemon publishes them. Every delta is serialised once and
/// shared by the queues of all its subscribers; a client whose queue
/// overflows or who stays behind too long is dropped with 1008, so a slow
/// client costs the others nothing.
class StreamHub {
 public:
  using Snapshot = std::function<nlohmann::json(const std::string& topic)>;
  /// Events with seq > since, oldest first, at most limit, each as
  /// core::Event::to_json() (with "seq").
  using History = std::function<std::vector<nlohmann::json>(std::int64_t since, std::size_t limit)>;

  explicit StreamHub(const core::TimeSource& clock, StreamHubOptions options = {});

  /// The snapshot of a topic: an exact name ("services") or "logs:" for
  /// every logs:<service>. Topics without a provider get {} ({"breakers": []}
  /// for breakers).
  void set_snapshot(const std::string& topic, Snapshot snapshot);
  /// Whether logs:<service> names a service.
  void set_service_exists(std::function<bool(const std::string& service)> exists);
  /// The current stream sequence (the EventBus's last seq).
  void set_sequence(std::function<std::int64_t()> sequence);
  void set_history(History history);
  /// Called once per dropped client, after the drop (not from inside publish).
  std::function<void(const std::string& remote, const std::string& reason)> on_drop;

  void join(StreamClient& client);
  /// Idempotent; called by a client going away.
  void leave(StreamClient& client);
  /// One text message from a client: subscribe, unsubscribe or ping.
  /// Anything wrong gets an error frame and changes nothing.
  void receive(StreamClient& client, std::string_view text);
  /// Queues {"type":"error","error":{"code":...,"message":...}} for the client.
  void send_error(StreamClient& client, const core::Error& error);

  /// A delta of `topic` for its subscribers: {"type":topic,"seq":seq,"key":key,"data":data}.
  void publish(const std::string& topic, const std::string& key, const nlohmann::json& data,
               std::int64_t seq);
  /// The current stream sequence.
  std::int64_t sequence() const { return sequence_ ? sequence_() : 0; }
  const StreamHubOptions& options() const { return options_; }

  std::size_t subscribers(const std::string& topic) const;
  std::size_t clients() const { return clients_.size(); }
  std::uint64_t dropped_clients() const { return dropped_clients_; }

  /// Nothing when clients may subscribe to `topic`; the reason otherwise
  /// (invalid_argument, or not_found for logs:<unknown service>).
  std::optional<core::Error> check_topic(const std::string& topic) const;

 private:
  void subscribe(StreamClient& client, const nlohmann::json& request);
  void unsubscribe(StreamClient& client, const nlohmann::json& request);
  void replay(StreamClient& client, std::int64_t since);
  nlohmann::json snapshot(const std::string& topic) const;
  void deliver(StreamClient& client, const OutboundMessage& message);
  void send(StreamClient& client, const nlohmann::json& message);
  void flush_drops();

  const core::TimeSource& clock_;
  StreamHubOptions options_;
  std::map<std::string, Snapshot> snapshots_;
  std::function<bool(const std::string&)> service_exists_;
  std::function<std::int64_t()> sequence_;
  History history_;
  std::set<StreamClient*> clients_;
  std::map<std::string, std::set<StreamClient*>> by_topic_;
  std::vector<std::pair<StreamClient*, std::string>> pending_drops_;
  std::uint64_t dropped_clients_ = 0;
};

/// Limits of a WebSocket connection.
struct WebSocketOptions {
  /// A larger client message closes the connection with 1009.
  std::size_t max_message = 64 * 1024;
  /// With no frame from the client for half this time the server pings;
  /// with none for the whole of it the connection is closed.
  core::Duration idle_timeout{60000};
  /// How long a dropped client gets to take its close frame before the
  /// socket is simply closed.
  core::Duration close_timeout{10000};
  /// SO_SNDBUF of the socket (Linux doubles it). Fixed rather than
  /// autotuned: autotuning lets a client that never reads park up to 4 MB in
  /// the kernel per connection, and hides for many seconds that it is
  /// behind. 64 KiB still carries about 100 MB/s at 1 ms of round trip.
  int send_buffer = 64 * 1024;
};

/// The upgrade handler for `GET /ws`: checks the token (with `api_token`
/// and `auth_reads`, as a Bearer header or a `token` query parameter) and
/// the Origin, then runs the connection as a client of `hub`.
HttpServer::Upgrade websocket_upgrade(std::shared_ptr<StreamHub> hub, const ApiContext& context,
                                      WebSocketOptions options = {});

}  // namespace meshd::api
