#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "meshd/core/event_bus.hpp"
#include "meshd/store/database.hpp"

namespace meshd::api {

/// A stored event read back as the core::Event it was, so that an event
/// has one JSON shape (core::Event::to_json) whether it comes from memory
/// or from the database. Data that is not valid JSON reads as {}.
core::Event event_from_record(const store::EventRecord& record);

/// The events with seq > `since`, oldest first, at most `limit`, each as
/// core::Event::to_json(): the older ones from the database (which keeps
/// them across restarts), the ones still in the EventBus's memory from
/// there (the database writer may not have stored the newest yet). Used by
/// GET /api/v1/events and by the stream's resubscription with "since".
/// `database` may be null: memory only.
std::vector<nlohmann::json> event_history(const core::EventBus& events, store::Database* database,
                                          std::int64_t since, std::size_t limit);

}  // namespace meshd::api
