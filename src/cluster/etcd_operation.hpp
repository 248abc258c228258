#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

#include <functional>
#include <memory>
#include <string>

#include "etcd_connection.hpp"
#include "etcd_core.hpp"
#include "meshd/cluster/etcd_client.hpp"

namespace meshd::cluster {

/// What every request shares: finding a member that answers, and the
/// rule that nothing is called back once the request is abandoned (by
/// cancel() or the client going away) or has answered.
class EtcdOperation : public EtcdAbandonable, public std::enable_shared_from_this<EtcdOperation> {
 public:
  void abandon() override;

 protected:
  explicit EtcdOperation(const std::shared_ptr<EtcdCore>& core);

  /// Registers with the client so that its destruction abandons this.
  void track();
  /// Connects to the current member and, when that fails, to each other
  /// one in turn (nothing was sent yet, so moving on is safe); on_fail
  /// gets unavailable naming every member's failure.
  void open(std::function<void()> on_open, std::function<void(core::Error)> on_fail);
  /// Marks the request answered; false when it must stay silent.
  bool settle();
  bool silent() const { return abandoned_ || settled_; }

  std::weak_ptr<EtcdCore> core_;
  std::shared_ptr<const EtcdSettings> settings_;
  boost::asio::io_context& io_;
  std::shared_ptr<EtcdConnection> connection_;

 private:
  void try_member(std::size_t index, std::size_t left, std::function<void()> on_open,
                  std::function<void(core::Error)> on_fail);

  std::string failures_;
  std::uint64_t live_id_ = 0;
  bool abandoned_ = false;
  bool settled_ = false;
};

/// The caller's handle on a long request: cancel() or destruction
/// abandons it.
class EtcdOperationStream final : public EtcdStream {
 public:
  explicit EtcdOperationStream(std::shared_ptr<EtcdOperation> operation)
      : operation_(std::move(operation)) {}
  ~EtcdOperationStream() override { cancel(); }
  void cancel() override {
    if (operation_) operation_->abandon();
    operation_.reset();
  }

 private:
  std::shared_ptr<EtcdOperation> operation_;
};

}  // namespace meshd::cluster
