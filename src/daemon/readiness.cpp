#include "readiness.hpp"

#include <spdlog/spdlog.h>

#include "meshd/health/notify_socket.hpp"

namespace meshd::daemon {
namespace {

class NotifyChannel final : public supervisor::ReadinessChannel {
 public:
  NotifyChannel(boost::asio::io_context& io, const std::string& name,
                std::function<void()> on_ready)
      : socket_(io, name,
                [on_ready = std::move(on_ready)](const std::string& key, const std::string& value) {
                  if (key == "READY" && value == "1") on_ready();
                }) {}
  std::string address() const override { return socket_.address(); }

 private:
  health::NotifySocket socket_;
};

}  // namespace

std::unique_ptr<supervisor::ReadinessChannel> make_notify_channel(boost::asio::io_context& io,
                                                                  const std::string& name,
                                                                  std::function<void()> on_ready) {
  try {
    return std::make_unique<NotifyChannel>(io, name, std::move(on_ready));
  } catch (const std::exception& e) {
    spdlog::warn("cannot create NOTIFY_SOCKET {}: {}", name, e.what());
    return nullptr;
  }
}

}  // namespace meshd::daemon
