#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "etcd_operation.hpp"

namespace meshd::cluster {

/// One request and its one answer.
struct EtcdCallSpec {
  std::string path;  // "/v3/kv/range"
  std::string body;  // JSON
  /// Waits as long as etcd takes (an election campaign): a connection of
  /// its own and no deadline once sent. Otherwise the request shares the
  /// client's keep-alive connections and has request_timeout to answer.
  bool long_running = false;
  /// Safe to send again (a read): when a kept-alive connection turns out
  /// closed before any answer, it is sent once more on a fresh one.
  bool idempotent = false;
};

/// A unary request through the JSON gateway: answers the decoded JSON
/// object, or an error (see decode_answer and transport_error). On a
/// timeout or a lost connection the next request goes to the next member;
/// this one is not sent again (the caller decides).
class EtcdCall final : public EtcdOperation {
 public:
  using Answer = std::function<void(core::Result<nlohmann::json>)>;

  static std::shared_ptr<EtcdCall> start(const std::shared_ptr<EtcdCore>& core, EtcdCallSpec spec,
                                         Answer answer);

  EtcdCall(const std::shared_ptr<EtcdCore>& core, EtcdCallSpec spec, Answer answer);

 private:
  void begin(bool may_reuse);
  void send(bool reused);
  void on_answer(boost::system::error_code ec, bool reused);
  void finish(core::Result<nlohmann::json> result);

  EtcdCallSpec spec_;
  Answer answer_;
  EtcdRequest request_;
  std::optional<EtcdResponseParser> parser_;
};

}  // namespace meshd::cluster
