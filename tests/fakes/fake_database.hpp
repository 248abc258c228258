#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "meshd/store/database.hpp"

namespace meshd::testing {

/// store::Database in memory: writes apply at once (flush() has nothing to
/// wait for), reads see them, so a test can check what would be on disk.
class FakeDatabase final : public store::Database {
 public:
  void append_event(store::EventRecord event) override { events.push_back(std::move(event)); }
  void put(const std::string& kind, const std::string& key, std::string value_json) override {
    values[kind][key] = std::move(value_json);
  }
  void erase(const std::string& kind, const std::string& key) override { values[kind].erase(key); }
  void append_config(store::ConfigVersion version) override {
    configs.push_back(std::move(version));
  }
  void flush() override { ++flushes; }

  std::vector<store::EventRecord> events_since(std::int64_t since, int limit) override {
    std::vector<store::EventRecord> out;
    for (const auto& e : events)
      if (e.seq > since && static_cast<int>(out.size()) < limit) out.push_back(e);
    return out;
  }
  std::int64_t last_event_seq() override { return events.empty() ? 0 : events.back().seq; }
  std::vector<std::pair<std::string, std::string>> load(const std::string& kind) override {
    auto& of_kind = values[kind];
    return {of_kind.begin(), of_kind.end()};
  }
  std::vector<store::ConfigVersion> config_history(int limit) override {
    std::vector<store::ConfigVersion> out(configs.rbegin(), configs.rend());
    if (static_cast<int>(out.size()) > limit) out.resize(static_cast<std::size_t>(limit));
    return out;
  }
  std::uint64_t dropped_writes() const override { return 0; }

  std::vector<store::EventRecord> events;
  std::map<std::string, std::map<std::string, std::string>> values;
  std::vector<store::ConfigVersion> configs;  // oldest first
  int flushes = 0;
};

}  // namespace meshd::testing
