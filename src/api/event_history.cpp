#include "meshd/api/event_history.hpp"

#include <chrono>

namespace meshd::api {

core::Event event_from_record(const store::EventRecord& record) {
  core::Event event;
  event.seq = record.seq;
  event.time = core::WallTime(std::chrono::milliseconds(record.time_ms));
  event.type = record.type;
  event.service = record.service;
  event.instance = record.instance;
  event.message = record.message;
  auto data = nlohmann::json::parse(record.data_json, nullptr, false);
  if (!data.is_discarded()) event.data = std::move(data);
  return event;
}

std::vector<nlohmann::json> event_history(const core::EventBus& events, store::Database* database,
                                          std::int64_t since, std::size_t limit) {
  std::vector<nlohmann::json> out;
  std::int64_t last = since;
  auto oldest_in_memory = events.oldest_seq();
  if (database && (oldest_in_memory == 0 || since + 1 < oldest_in_memory)) {
    for (const auto& record : database->events_since(since, static_cast<int>(limit))) {
      if (oldest_in_memory != 0 && record.seq >= oldest_in_memory)
        break;  // memory has it, and the newer ones
      out.push_back(event_from_record(record).to_json());
      last = record.seq;
    }
  }
  if (out.size() < limit)
    for (const auto& event : events.recent(last, limit - out.size()))
      out.push_back(event.to_json());
  return out;
}

}  // namespace meshd::api
