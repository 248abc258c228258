#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "meshd/core/clock.hpp"

namespace meshd::core {

/// Something that happened and that an operator may want to see: a state
/// change, a health transition, a breaker trip. Every event has a sequence
/// number that only grows, across restarts of meshd too (the daemon seeds the
/// bus with the last number on disk).
struct Event {
  std::int64_t seq = 0;
  WallTime time;
  std::string type;      // dotted, e.g. "service.state", "health.transition"
  std::string service;   // may be empty
  std::string instance;  // may be empty
  std::string message;   // one line for operators
  nlohmann::json data = nlohmann::json::object();

  nlohmann::json to_json() const;
};

/// In-loop publish/subscribe of events. Not thread safe: it lives on the
/// control-plane event loop like the rest of the state.
class EventBus {
 public:
  using Handler = std::function<void(const Event&)>;

  /// `last_seq` is the highest sequence already used (from the database);
  /// `memory` bounds how many recent events are kept for recent().
  EventBus(const TimeSource& clock, std::int64_t last_seq = 0, std::size_t memory = 10000);

  /// Assigns the next seq and the time, keeps the event and calls every
  /// subscriber in subscription order.
  const Event& publish(std::string type, std::string service, std::string instance,
                       std::string message, nlohmann::json data = nlohmann::json::object());

  int subscribe(Handler handler);
  void unsubscribe(int id);

  /// Events kept in memory with seq > `since`, oldest first, at most `limit`.
  std::vector<Event> recent(std::int64_t since, std::size_t limit) const;
  /// The oldest seq still in memory (0 when empty).
  std::int64_t oldest_seq() const { return events_.empty() ? 0 : events_.front().seq; }
  std::int64_t last_seq() const { return last_seq_; }

 private:
  const TimeSource& clock_;
  std::int64_t last_seq_;
  std::size_t memory_;
  std::deque<Event> events_;
  std::map<int, Handler> handlers_;
  int next_handler_id_ = 1;
};

}  // namespace meshd::core
