#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "meshd/supervisor/instance.hpp"

namespace meshd::testing {

/// Readiness channels (NOTIFY_SOCKET) that a test fires by hand: `ready`
/// gets each instance's READY=1 callback under its id.
class FakeReadiness {
 public:
  /// For InstanceDeps::make_readiness_channel.
  auto factory() {
    return [this](const std::string& name, std::function<void()> on_ready) {
      // name is meshd/<pid>/<instance>/<n>
      auto a = name.find('/', 6);
      auto b = name.find('/', a + 1);
      ready[name.substr(a + 1, b - a - 1)] = std::move(on_ready);
      return std::unique_ptr<supervisor::ReadinessChannel>(std::make_unique<Channel>());
    };
  }

  std::map<std::string, std::function<void()>> ready;  // by instance id

 private:
  struct Channel final : supervisor::ReadinessChannel {
    std::string address() const override { return "@fake"; }
  };
};

}  // namespace meshd::testing
