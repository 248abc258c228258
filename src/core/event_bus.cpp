#include "meshd/core/event_bus.hpp"

#include <algorithm>

namespace meshd::core {

nlohmann::json Event::to_json() const {
  return {{"seq", seq},         {"time_ms", to_unix_ms(time)}, {"type", type},
          {"service", service}, {"instance", instance},        {"message", message},
          {"data", data}};
}

EventBus::EventBus(const TimeSource& clock, std::int64_t last_seq, std::size_t memory)
    : clock_(clock), last_seq_(last_seq), memory_(std::max<std::size_t>(memory, 1)) {}

const Event& EventBus::publish(std::string type, std::string service, std::string instance,
                               std::string message, nlohmann::json data) {
  Event event;
  event.seq = ++last_seq_;
  event.time = clock_.wall_now();
  event.type = std::move(type);
  event.service = std::move(service);
  event.instance = std::move(instance);
  event.message = std::move(message);
  event.data = std::move(data);
  if (events_.size() == memory_) events_.pop_front();
  events_.push_back(std::move(event));
  // Copy the handlers: a handler may subscribe or unsubscribe while called.
  auto handlers = handlers_;
  for (auto& [id, handler] : handlers) handler(events_.back());
  return events_.back();
}

int EventBus::subscribe(Handler handler) {
  int id = next_handler_id_++;
  handlers_.emplace(id, std::move(handler));
  return id;
}

void EventBus::unsubscribe(int id) {
  handlers_.erase(id);
}

std::vector<Event> EventBus::recent(std::int64_t since, std::size_t limit) const {
  std::vector<Event> out;
  auto it = std::upper_bound(events_.begin(), events_.end(), since,
                             [](std::int64_t s, const Event& e) { return s < e.seq; });
  for (; it != events_.end() && out.size() < limit; ++it) out.push_back(*it);
  return out;
}

}  // namespace meshd::core
