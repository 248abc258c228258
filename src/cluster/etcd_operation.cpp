#include "etcd_operation.hpp"

#include "etcd_http.hpp"

namespace meshd::cluster {

EtcdOperation::EtcdOperation(const std::shared_ptr<EtcdCore>& core)
    : core_(core), settings_(core->settings()), io_(core->io()) {}

void EtcdOperation::abandon() {
  if (abandoned_) return;
  abandoned_ = true;
  if (connection_) connection_->close();
  if (auto core = core_.lock(); core && live_id_ != 0) core->untrack(live_id_);
}

void EtcdOperation::track() {
  if (auto core = core_.lock()) live_id_ = core->track(weak_from_this());
}

bool EtcdOperation::settle() {
  if (silent()) return false;
  settled_ = true;
  if (auto core = core_.lock(); core && live_id_ != 0) core->untrack(live_id_);
  return true;
}

void EtcdOperation::open(std::function<void()> on_open, std::function<void(core::Error)> on_fail) {
  auto core = core_.lock();
  if (!core) return;  // the client is gone: nobody to answer
  failures_.clear();
  try_member(core->current(), settings_->endpoints.size(), std::move(on_open), std::move(on_fail));
}

void EtcdOperation::try_member(std::size_t index, std::size_t left, std::function<void()> on_open,
                               std::function<void(core::Error)> on_fail) {
  connection_ = std::make_shared<EtcdConnection>(io_, settings_, index);
  connection_->connect([self = shared_from_this(), this, index, left, on_open = std::move(on_open),
                        on_fail = std::move(on_fail)](boost::system::error_code ec) mutable {
    if (silent()) return;
    auto core = core_.lock();
    if (!core) return;
    if (!ec) {
      core->succeeded(index);
      on_open();
      return;
    }
    const auto error = transport_error(connection_->endpoint(), connection_->stage(), ec);
    connection_->close();
    core->failed(index);
    if (!failures_.empty()) failures_ += "; ";
    failures_ += error.message;
    if (left > 1) {
      try_member((index + 1) % settings_->endpoints.size(), left - 1, std::move(on_open),
                 std::move(on_fail));
      return;
    }
    on_fail(core::make_error(core::ErrorCode::unavailable,
                             "no etcd endpoint answers (" + failures_ + ")"));
  });
}

}  // namespace meshd::cluster
