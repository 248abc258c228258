#include "etcd_core.hpp"

namespace meshd::cluster {
namespace {

/// Unary requests seldom overlap much; a few idle connections cover the
/// bursts (a catalog publishing many instances at start) without holding
/// many sockets on each member.
constexpr std::size_t kMaxIdle = 4;

}  // namespace

EtcdCore::EtcdCore(boost::asio::io_context& io, std::shared_ptr<const EtcdSettings> settings)
    : io_(io), settings_(std::move(settings)) {}

EtcdCore::~EtcdCore() {
  drop_idle();
  auto live = std::move(live_);
  for (auto& [id, weak] : live) {
    if (auto operation = weak.lock()) operation->abandon();
  }
}

void EtcdCore::succeeded(std::size_t index) {
  if (index == current_) return;
  current_ = index;
  drop_idle();
}

void EtcdCore::failed(std::size_t index) {
  if (index != current_) return;
  current_ = (current_ + 1) % settings_->endpoints.size();
  drop_idle();
}

std::shared_ptr<EtcdConnection> EtcdCore::take_idle() {
  while (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    if (connection->endpoint_index() == current_ && connection->usable_when_idle()) {
      return connection;
    }
    connection->close();
  }
  return nullptr;
}

void EtcdCore::give_back(std::shared_ptr<EtcdConnection> connection) {
  if (connection->endpoint_index() != current_ || idle_.size() >= kMaxIdle ||
      connection->closed()) {
    connection->close();
    return;
  }
  connection->expires_never();
  idle_.push_back(std::move(connection));
}

std::uint64_t EtcdCore::track(std::weak_ptr<EtcdAbandonable> operation) {
  const auto id = next_id_++;
  live_.emplace(id, std::move(operation));
  return id;
}

void EtcdCore::untrack(std::uint64_t id) {
  live_.erase(id);
}

void EtcdCore::drop_idle() {
  for (auto& connection : idle_) connection->close();
  idle_.clear();
}

}  // namespace meshd::cluster
