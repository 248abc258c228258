#include "etcd_watch.hpp"

#include <nlohmann/json.hpp>

#include "etcd_codec.hpp"
#include "etcd_http.hpp"

namespace meshd::cluster {
namespace {

/// One WatchResponse bigger than this (etcd caps a request at 1.5 MiB by
/// default, a response batch at some MiB) is not an answer we can use.
constexpr std::size_t kMaxLineBytes = 64u << 20;

core::Error malformed(const Endpoint& endpoint, const std::string& why) {
  return core::make_error(core::ErrorCode::invalid_argument,
                          "etcd " + endpoint.url + ": malformed watch answer: " + why);
}

std::vector<WatchEvent> read_events(const nlohmann::json& result) {
  std::vector<WatchEvent> events;
  const auto it = result.find("events");
  if (it == result.end() || it->is_null()) return events;
  if (!it->is_array()) throw CodecError("'events' is not an array");
  events.reserve(it->size());
  for (const auto& item : *it) {
    if (!item.is_object()) throw CodecError("an event that is not an object");
    WatchEvent event;
    const auto type = item.find("type");
    if (type != item.end() && !(type->is_string() && *type == "PUT")) {
      if (!(type->is_string() && *type == "DELETE")) throw CodecError("an unknown event type");
      event.type = WatchEvent::Type::del;
    }
    event.kv = read_key_value(read_object(item, "kv"));
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace

std::shared_ptr<EtcdWatch> EtcdWatch::start(const std::shared_ptr<EtcdCore>& core,
                                            std::string create_body, std::int64_t start_revision,
                                            OnEvents on_events, OnEnd on_end) {
  auto watch = std::make_shared<EtcdWatch>(core, std::move(create_body), start_revision,
                                           std::move(on_events), std::move(on_end));
  watch->track();
  watch->open([watch = watch.get()] { watch->send(); },
              [watch = watch.get()](core::Error error) {
                watch->end({std::move(error), 0});
              });
  return watch;
}

EtcdWatch::EtcdWatch(const std::shared_ptr<EtcdCore>& core, std::string create_body,
                     std::int64_t start_revision, OnEvents on_events, OnEnd on_end)
    : EtcdOperation(core),
      create_body_(std::move(create_body)),
      start_revision_(start_revision),
      on_events_(std::move(on_events)),
      on_end_(std::move(on_end)) {}

void EtcdWatch::send() {
  request_ = make_request(connection_->endpoint(), "/v3/watch", create_body_, true);
  parser_.emplace();
  parser_->body_limit(boost::none);  // a watch's body never ends
  // etcd answers a watch at once (the "created" response): the deadline
  // catches a member that accepts connections but does not serve.
  connection_->expires_after(settings_->request_timeout);
  auto self = std::static_pointer_cast<EtcdWatch>(shared_from_this());
  connection_->write(request_, [self](boost::system::error_code ec) {
    if (self->silent()) return;
    if (ec) {
      self->lost(ec);
      return;
    }
    self->connection_->read_header(*self->parser_, [self](boost::system::error_code read_ec) {
      if (!self->silent()) self->on_header(read_ec);
    });
  });
}

void EtcdWatch::on_header(boost::system::error_code ec) {
  if (ec) {
    lost(ec);
    return;
  }
  if (parser_->get().result_int() != 200) {
    // An error answer is short and whole: read it and pass etcd's message on.
    auto self = std::static_pointer_cast<EtcdWatch>(shared_from_this());
    connection_->read(*parser_, [self](boost::system::error_code read_ec) {
      if (self->silent()) return;
      auto answer = decode_answer(self->connection_->endpoint(), self->parser_->get().result_int(),
                                  read_ec ? std::string() : self->parser_->get().body());
      self->end({answer
                     ? core::make_error(core::ErrorCode::upstream_failure, "etcd refused a watch")
                     : answer.error(),
                 0});
    });
    return;
  }
  connection_->expires_never();
  connection_->keep_alive_probes();
  if (take_lines()) read_more();
}

void EtcdWatch::read_more() {
  if (parser_->is_done()) {
    end({core::make_error(core::ErrorCode::unavailable,
                          "etcd " + connection_->endpoint().url + " ended the watch"),
         0});
    return;
  }
  auto self = std::static_pointer_cast<EtcdWatch>(shared_from_this());
  connection_->read_some(*parser_, [self](boost::system::error_code ec) {
    if (!self->silent()) self->on_data(ec);
  });
}

void EtcdWatch::on_data(boost::system::error_code ec) {
  // Whole lines received before the connection went still count.
  if (!take_lines()) return;
  if (ec) {
    lost(ec);
    return;
  }
  read_more();
}

bool EtcdWatch::take_lines() {
  auto& body = parser_->get().body();
  pending_ += body;
  body.clear();
  std::size_t start = 0;
  for (auto newline = pending_.find('\n', start); newline != std::string::npos;
       newline = pending_.find('\n', start)) {
    const std::string line = pending_.substr(start, newline - start);
    start = newline + 1;
    if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
    if (!take_line(line)) return false;
  }
  pending_.erase(0, start);
  if (pending_.size() > kMaxLineBytes) {
    end({malformed(connection_->endpoint(), "a response of more than 64 MiB"), 0});
    return false;
  }
  return true;
}

bool EtcdWatch::take_line(const std::string& line) {
  const auto& endpoint = connection_->endpoint();
  auto answer = decode_answer(endpoint, 200, line);
  if (!answer) {
    end({answer.error(), 0});
    return false;
  }
  std::vector<WatchEvent> events;
  std::int64_t revision = 0;
  try {
    const auto& result = read_object(*answer, "result");
    if (!answer->contains("result")) throw CodecError("no 'result'");
    const auto compacted = read_int64(result, "compact_revision");
    if (compacted > 0) {
      end({core::make_error(core::ErrorCode::conflict,
                            "etcd compacted the watch's start revision (compacted up to " +
                                std::to_string(compacted) + ")"),
           compacted});
      return false;
    }
    if (read_bool(result, "canceled")) {
      const auto reason = result.value("cancel_reason", std::string("no reason given"));
      end({core::make_error(core::ErrorCode::upstream_failure,
                            "etcd " + endpoint.url + " cancelled the watch: " + reason),
           0});
      return false;
    }
    if (read_bool(result, "created")) {
      // Its header has the store's revision, not how far the events went:
      // reporting that would let a caller skip the events to come. What
      // is sure is that everything before start_revision is behind.
      if (start_revision_ <= 0) return true;
      revision = start_revision_ - 1;
    } else {
      events = read_events(result);
      revision = read_header_revision(result);
    }
    if (revision == 0 && !events.empty()) revision = events.back().kv.mod_revision;
  } catch (const std::exception& e) {
    end({malformed(endpoint, e.what()), 0});
    return false;
  }
  on_events_(std::move(events), revision);
  return !silent();
}

void EtcdWatch::lost(boost::system::error_code ec) {
  if (auto core = core_.lock()) core->failed(connection_->endpoint_index());
  auto error = transport_error(connection_->endpoint(), connection_->stage(), ec);
  error.message = "watch lost: " + error.message;
  end({std::move(error), 0});
}

void EtcdWatch::end(EtcdClient::WatchEnd end) {
  if (connection_) connection_->close();
  if (!settle()) return;
  auto on_end = std::move(on_end_);
  on_events_ = nullptr;
  on_end(std::move(end));
}

}  // namespace meshd::cluster
