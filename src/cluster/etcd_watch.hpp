#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "etcd_operation.hpp"

namespace meshd::cluster {

/// A watch through the gateway's streaming POST /v3/watch on a connection
/// of its own: the body is one create_request; the answer is chunked, one
/// JSON object {"result": WatchResponse} per line, for as long as the
/// watch lives.
class EtcdWatch final : public EtcdOperation {
 public:
  using OnEvents = std::function<void(std::vector<WatchEvent>, std::int64_t)>;
  using OnEnd = std::function<void(EtcdClient::WatchEnd)>;

  /// `start_revision` as in the create_request (0: from now).
  static std::shared_ptr<EtcdWatch> start(const std::shared_ptr<EtcdCore>& core,
                                          std::string create_body, std::int64_t start_revision,
                                          OnEvents on_events, OnEnd on_end);

  EtcdWatch(const std::shared_ptr<EtcdCore>& core, std::string create_body,
            std::int64_t start_revision, OnEvents on_events, OnEnd on_end);

 private:
  void send();
  void on_header(boost::system::error_code ec);
  void read_more();
  void on_data(boost::system::error_code ec);
  /// Hands on every whole line received; false once the watch ended.
  bool take_lines();
  /// One WatchResponse line; false once the watch ended.
  bool take_line(const std::string& line);
  void lost(boost::system::error_code ec);
  void end(EtcdClient::WatchEnd end);

  std::string create_body_;
  std::int64_t start_revision_;
  OnEvents on_events_;
  OnEnd on_end_;
  EtcdRequest request_;
  std::optional<EtcdResponseParser> parser_;
  std::string pending_;  // received, not yet a whole line
};

}  // namespace meshd::cluster
