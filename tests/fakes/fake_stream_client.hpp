#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "meshd/api/stream_hub.hpp"

namespace meshd::testing {

/// A WebSocket client of api::StreamHub without a socket: drain() hands
/// the test every message queued for it, parsed.
class FakeStreamClient final : public api::StreamClient {
 public:
  explicit FakeStreamClient(api::QueueLimits limits = {}) : api::StreamClient(limits) {}
  std::string remote() const override { return "127.0.0.1:1"; }
  void wake() override { ++wakes; }
  void drop(const std::string& reason) override { drop_reason = reason; }

  std::vector<nlohmann::json> drain() {
    std::vector<nlohmann::json> out;
    while (auto text = queue().begin_write()) {
      out.push_back(nlohmann::json::parse(*text));
      queue().end_write();
    }
    return out;
  }

  int wakes = 0;
  std::string drop_reason;
};

}  // namespace meshd::testing
