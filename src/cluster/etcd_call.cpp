#include "etcd_call.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>

#include "etcd_http.hpp"

namespace meshd::cluster {
namespace {

/// A whole prefix of a large mesh (thousands of instances) fits; a member
/// sending more than this is not one we can use.
constexpr std::uint64_t kMaxAnswerBytes = 256ull << 20;

/// The errors of a kept-alive connection that the member closed while idle.
bool closed_while_idle(boost::system::error_code ec) {
  return ec == boost::beast::http::error::end_of_stream || ec == boost::asio::error::eof ||
         ec == boost::asio::error::connection_reset || ec == boost::asio::error::broken_pipe;
}

}  // namespace

std::shared_ptr<EtcdCall> EtcdCall::start(const std::shared_ptr<EtcdCore>& core, EtcdCallSpec spec,
                                          Answer answer) {
  auto call = std::make_shared<EtcdCall>(core, std::move(spec), std::move(answer));
  call->track();
  call->begin(!call->spec_.long_running);
  return call;
}

EtcdCall::EtcdCall(const std::shared_ptr<EtcdCore>& core, EtcdCallSpec spec, Answer answer)
    : EtcdOperation(core), spec_(std::move(spec)), answer_(std::move(answer)) {}

void EtcdCall::begin(bool may_reuse) {
  auto core = core_.lock();
  if (!core || silent()) return;
  if (may_reuse) {
    if (auto idle = core->take_idle()) {
      connection_ = std::move(idle);
      // Through post: a caller never sees its callback before its call returns.
      boost::asio::post(io_, [self = shared_from_this(), this] {
        if (!silent()) send(true);
      });
      return;
    }
  }
  open([this] { send(false); }, [this](core::Error error) { finish(std::move(error)); });
}

void EtcdCall::send(bool reused) {
  request_ = make_request(connection_->endpoint(), spec_.path, spec_.body, !spec_.long_running);
  parser_.emplace();
  parser_->body_limit(kMaxAnswerBytes);
  connection_->expires_after(settings_->request_timeout);
  auto self = std::static_pointer_cast<EtcdCall>(shared_from_this());
  connection_->write(request_, [self, reused](boost::system::error_code ec) {
    if (self->silent()) return;
    if (ec) {
      self->on_answer(ec, reused);
      return;
    }
    if (self->spec_.long_running) self->connection_->expires_never();
    self->connection_->read(*self->parser_, [self, reused](boost::system::error_code read_ec) {
      if (!self->silent()) self->on_answer(read_ec, reused);
    });
  });
}

void EtcdCall::on_answer(boost::system::error_code ec, bool reused) {
  auto core = core_.lock();
  if (!core) return;
  const auto index = connection_->endpoint_index();
  if (ec) {
    const auto error = transport_error(connection_->endpoint(), connection_->stage(), ec);
    connection_->close();
    if (reused && spec_.idempotent && !parser_->got_some() && closed_while_idle(ec)) {
      begin(false);
      return;
    }
    core->failed(index);
    finish(error);
    return;
  }
  auto message = parser_->release();
  if (message.keep_alive() && !spec_.long_running) {
    core->give_back(connection_);
  } else {
    connection_->close();
  }
  auto result = decode_answer(connection_->endpoint(), message.result_int(), message.body());
  connection_.reset();
  if (!result && is_member_failure(result.error())) core->failed(index);
  finish(std::move(result));
}

void EtcdCall::finish(core::Result<nlohmann::json> result) {
  if (!settle()) return;
  auto answer = std::move(answer_);
  answer(std::move(result));
}

}  // namespace meshd::cluster
