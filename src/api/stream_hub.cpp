#include "meshd/api/stream_hub.hpp"

#include <array>

#include "meshd/core/local_reply.hpp"

namespace meshd::api {
namespace {

using core::ErrorCode;

constexpr std::array<const char*, 6> kPlainTopics = {"services", "health",  "breakers",
                                                     "events",   "metrics", "nodes"};
const std::string kLogsPrefix = "logs:";

// Log lines and service output may hold invalid UTF-8; replace it rather
// than throw.
std::shared_ptr<const std::string> serialise(const nlohmann::json& j) {
  return std::make_shared<const std::string>(
      j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool plain_topic(const std::string& topic) {
  for (const char* t : kPlainTopics)
    if (topic == t) return true;
  return false;
}

core::Error invalid(std::string message) {
  return core::make_error(ErrorCode::invalid_argument, std::move(message));
}

// The "topics" of a subscribe or unsubscribe: a non-empty list of strings.
std::optional<core::Error> read_topics(const nlohmann::json& request,
                                       std::vector<std::string>& out) {
  auto it = request.find("topics");
  if (it == request.end() || !it->is_array() || it->empty())
    return invalid("\"topics\" must be a non-empty list, e.g. [\"services\", \"events\"]");
  for (const auto& t : *it) {
    if (!t.is_string()) return invalid("every topic must be a string");
    out.push_back(t.get<std::string>());
  }
  return std::nullopt;
}

}  // namespace

StreamHub::StreamHub(const core::TimeSource& clock, StreamHubOptions options)
    : clock_(clock), options_(options) {}

void StreamHub::set_snapshot(const std::string& topic, Snapshot snapshot) {
  snapshots_[topic] = std::move(snapshot);
}

void StreamHub::set_service_exists(std::function<bool(const std::string&)> exists) {
  service_exists_ = std::move(exists);
}

void StreamHub::set_sequence(std::function<std::int64_t()> sequence) {
  sequence_ = std::move(sequence);
}

void StreamHub::set_history(History history) {
  history_ = std::move(history);
}

void StreamHub::join(StreamClient& client) {
  clients_.insert(&client);
}

void StreamHub::leave(StreamClient& client) {
  for (const auto& topic : client.topics_) {
    auto it = by_topic_.find(topic);
    if (it == by_topic_.end()) continue;
    it->second.erase(&client);
    if (it->second.empty()) by_topic_.erase(it);
  }
  client.topics_.clear();
  clients_.erase(&client);
  std::erase_if(pending_drops_, [&client](const auto& d) { return d.first == &client; });
}

std::size_t StreamHub::subscribers(const std::string& topic) const {
  auto it = by_topic_.find(topic);
  return it == by_topic_.end() ? 0 : it->second.size();
}

std::optional<core::Error> StreamHub::check_topic(const std::string& topic) const {
  if (plain_topic(topic)) return std::nullopt;
  if (topic.starts_with(kLogsPrefix)) {
    std::string service = topic.substr(kLogsPrefix.size());
    if (service.empty()) return invalid("topic 'logs:' needs a service name, e.g. logs:web");
    if (!service_exists_ || !service_exists_(service))
      return core::make_error(ErrorCode::not_found, "no service named '" + service + "'");
    return std::nullopt;
  }
  return invalid(
      "unknown topic '" + topic +
      "'; expected services, health, breakers, events, metrics, nodes or logs:<service>");
}

void StreamHub::receive(StreamClient& client, std::string_view text) {
  if (client.dropped_) return;
  auto request = nlohmann::json::parse(text, nullptr, false);
  if (request.is_discarded()) {
    send_error(client, invalid("malformed JSON"));
  } else if (!request.is_object() || !request.contains("op") || !request["op"].is_string()) {
    send_error(
        client,
        invalid("a message must be a JSON object with an \"op\": subscribe, unsubscribe or ping"));
  } else {
    auto op = request["op"].get<std::string>();
    if (op == "subscribe")
      subscribe(client, request);
    else if (op == "unsubscribe")
      unsubscribe(client, request);
    else if (op == "ping")
      send(client, {{"type", "pong"}});
    else
      send_error(client,
                 invalid("unknown op '" + op + "'; expected subscribe, unsubscribe or ping"));
  }
  flush_drops();
}

void StreamHub::subscribe(StreamClient& client, const nlohmann::json& request) {
  // Check everything first: a bad request changes nothing.
  std::vector<std::string> topics;
  if (auto error = read_topics(request, topics)) return send_error(client, *error);
  for (const auto& t : topics)
    if (auto error = check_topic(t)) return send_error(client, *error);
  std::optional<std::int64_t> since;
  if (auto it = request.find("since"); it != request.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0)
      return send_error(client,
                        invalid("\"since\" must be a whole number >= 0 (the last seq seen)"));
    since = it->get<std::int64_t>();
  }
  for (const auto& t : topics) {
    if (!client.topics_.insert(t).second) continue;  // already subscribed (or listed twice)
    by_topic_[t].insert(&client);
    nlohmann::json message = {
        {"type", "snapshot"}, {"topic", t}, {"seq", sequence()}, {"data", snapshot(t)}};
    OutboundMessage m;
    m.text = serialise(message);
    m.topic = t;
    m.snapshot = true;
    deliver(client, m);
  }
  if (since && client.topics_.count("events")) replay(client, *since);
}

void StreamHub::unsubscribe(StreamClient& client, const nlohmann::json& request) {
  std::vector<std::string> topics;
  if (auto error = read_topics(request, topics)) return send_error(client, *error);
  // A logs topic of a service that is gone (after a reload) can still be left.
  for (const auto& t : topics)
    if (!plain_topic(t) && !(t.starts_with(kLogsPrefix) && t.size() > kLogsPrefix.size()))
      if (auto error = check_topic(t)) return send_error(client, *error);
  for (const auto& t : topics) {
    if (!client.topics_.erase(t)) continue;
    auto it = by_topic_.find(t);
    if (it == by_topic_.end()) continue;
    it->second.erase(&client);
    if (it->second.empty()) by_topic_.erase(it);
  }
}

void StreamHub::replay(StreamClient& client, std::int64_t since) {
  std::int64_t last = sequence();
  if (!history_ || since >= last) return;
  std::int64_t from = since;
  auto limit = static_cast<std::int64_t>(options_.replay_limit);
  if (last - since > limit) {
    // Sequence numbers are dense, so this many were missed; only the newest
    // fit in a queue. The client reads the rest over REST.
    from = last - limit;
    send(client, {{"type", "events"},
                  {"seq", last},
                  {"key", "gap"},
                  {"data",
                   {{"since", since},
                    {"until", from},
                    {"fetch", "/api/v1/events?since=" + std::to_string(since)}}}});
  }
  for (auto& event : history_(from, options_.replay_limit)) {
    std::int64_t seq = event.value("seq", std::int64_t{0});
    OutboundMessage m;
    m.text = serialise({{"type", "events"},
                        {"seq", seq},
                        {"key", std::to_string(seq)},
                        {"data", std::move(event)}});
    m.topic = "events";
    m.seq = seq;
    deliver(client, m);
  }
}

nlohmann::json StreamHub::snapshot(const std::string& topic) const {
  auto it = snapshots_.find(topic);
  if (it == snapshots_.end() && topic.starts_with(kLogsPrefix)) it = snapshots_.find(kLogsPrefix);
  if (it != snapshots_.end() && it->second) return it->second(topic);
  if (topic == "breakers") return {{"breakers", nlohmann::json::array()}};
  return nlohmann::json::object();
}

void StreamHub::send(StreamClient& client, const nlohmann::json& message) {
  OutboundMessage m;
  m.text = serialise(message);
  m.topic = message.value("type", std::string());
  deliver(client, m);
}

void StreamHub::send_error(StreamClient& client, const core::Error& error) {
  auto message = core::error_json(error);  // the REST error's shape, with "type"
  message["type"] = "error";
  send(client, message);
  flush_drops();
}

void StreamHub::publish(const std::string& topic, const std::string& key,
                        const nlohmann::json& data, std::int64_t seq) {
  auto it = by_topic_.find(topic);
  if (it == by_topic_.end() || it->second.empty()) return;
  OutboundMessage m;
  m.text = serialise({{"type", topic}, {"seq", seq}, {"key", key}, {"data", data}});
  m.topic = topic;
  m.seq = seq;
  bool logs = topic.starts_with(kLogsPrefix);
  if (logs && key != "dropped")
    m.droppable = true;  // lines go first when a client is behind
  else if (topic != "events")
    m.key = key;  // state: only the latest per key matters
  for (auto* client : it->second) deliver(*client, m);
  flush_drops();
}

void StreamHub::deliver(StreamClient& client, const OutboundMessage& message) {
  if (client.dropped_) return;
  auto now = clock_.now();
  auto& queue = client.queue_;
  std::string reason;
  if (queue.push(message, now) == PushResult::overflow)
    reason = "too slow: " + std::to_string(queue.size()) + " messages (" +
             std::to_string(queue.bytes()) + " bytes) waiting";
  else if (queue.stalled(now))
    reason = "too slow: behind for more than " + std::to_string(queue.limits().max_behind.count()) +
             " ms";
  if (reason.empty()) return client.wake();
  // Dropping unsubscribes, which must not happen while publish() walks the
  // subscriber set: note it and do it after.
  client.dropped_ = true;
  pending_drops_.emplace_back(&client, std::move(reason));
}

void StreamHub::flush_drops() {
  while (!pending_drops_.empty()) {
    auto [client, reason] = std::move(pending_drops_.back());
    pending_drops_.pop_back();
    std::string remote = client->remote();
    client->queue_.clear();  // free the backlog now, not when the socket finally goes
    for (const auto& topic : client->topics_) {
      auto it = by_topic_.find(topic);
      if (it == by_topic_.end()) continue;
      it->second.erase(client);
      if (it->second.empty()) by_topic_.erase(it);
    }
    client->topics_.clear();
    ++dropped_clients_;
    client->drop(reason);
    if (on_drop) on_drop(remote, reason);
  }
}

}  // namespace meshd::api
