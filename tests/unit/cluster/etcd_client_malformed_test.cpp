// The etcd client against members that answer wrongly or not at all: a
// tiny Asio server that replies canned bytes. Never a crash, always an
// error the caller can act on.

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <sstream>

#include "etcd_client_test_support.hpp"

namespace meshd::cluster {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using testing::answer_of;

/// Answers every connection with `reply` (raw bytes) once the request's
/// first bytes came, then closes it; with an empty reply it holds the
/// connection and stays silent. Its handlers share its state, so that it
/// may go before the io_context runs them.
class CannedMember {
 public:
  CannedMember(asio::io_context& io, std::string reply)
      : state_(std::make_shared<State>(io, std::move(reply))) {
    accept(state_);
  }
  ~CannedMember() {
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& socket : state_->held) socket->close(ignored);
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(state_->acceptor.local_endpoint().port());
  }
  int connections() const { return state_->connections; }

 private:
  struct State {
    State(asio::io_context& io, std::string canned)
        : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          reply(std::move(canned)) {}
    tcp::acceptor acceptor;
    std::string reply;
    std::vector<std::shared_ptr<tcp::socket>> held;
    int connections = 0;
  };

  static void accept(std::shared_ptr<State> state) {
    state->acceptor.async_accept([state](boost::system::error_code ec, tcp::socket socket) {
      if (ec || !state->acceptor.is_open()) return;
      ++state->connections;
      auto held = std::make_shared<tcp::socket>(std::move(socket));
      state->held.push_back(held);
      if (!state->reply.empty()) answer(state, held);
      accept(state);
    });
  }

  static void answer(const std::shared_ptr<State>& state, std::shared_ptr<tcp::socket> held) {
    auto buffer = std::make_shared<std::array<char, 4096>>();
    held->async_read_some(asio::buffer(*buffer), [state, held, buffer](auto read_ec, auto) {
      if (read_ec) return;
      asio::async_write(*held, asio::buffer(state->reply), [state, held](auto, auto) {
        boost::system::error_code ignored;
        held->shutdown(tcp::socket::shutdown_both, ignored);
        held->close(ignored);
      });
    });
  }

  std::shared_ptr<State> state_;
};

std::string http_200(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string chunked_200(const std::string& body) {
  std::stringstream hex;
  hex << std::hex << body.size();
  return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + hex.str() + "\r\n" + body +
         "\r\n";
}

class EtcdClientMalformed : public ::testing::Test {
 protected:
  core::Error put_error(const std::string& reply) {
    CannedMember member(io_, reply);
    auto client = testing::make_client(io_, {member.url()});
    auto written =
        answer_of<std::int64_t>(io_, [&](auto done) { client->put("/k", "v", 0, done); });
    EXPECT_FALSE(written.ok());
    return written ? core::make_error(core::ErrorCode::internal, "answered") : written.error();
  }
  core::Error get_error(const std::string& reply) {
    CannedMember member(io_, reply);
    auto client = testing::make_client(io_, {member.url()});
    auto range =
        answer_of<EtcdClient::Range>(io_, [&](auto done) { client->get_prefix("/k", done); });
    EXPECT_FALSE(range.ok());
    return range ? core::make_error(core::ErrorCode::internal, "answered") : range.error();
  }
  EtcdClient::WatchEnd watch_end(const std::string& reply) {
    CannedMember member(io_, reply);
    auto client = testing::make_client(io_, {member.url()});
    std::optional<EtcdClient::WatchEnd> end;
    auto stream = client->watch_prefix(
        "/k", 0, [](std::vector<WatchEvent>, std::int64_t) {},
        [&](EtcdClient::WatchEnd e) { end = std::move(e); });
    EXPECT_TRUE(testing::run_until(io_, [&] { return end.has_value(); }));
    return end.value_or(
        EtcdClient::WatchEnd{core::make_error(core::ErrorCode::internal, "no end"), 0});
  }

  asio::io_context io_;
};

TEST_F(EtcdClientMalformed, ANonJsonAnswerIsInvalidArgument) {
  const auto error = put_error(http_200("<html>not etcd</html>"));
  EXPECT_EQ(error.code, core::ErrorCode::invalid_argument) << error.message;
  EXPECT_NE(error.message.find("not JSON"), std::string::npos) << error.message;
}

TEST_F(EtcdClientMalformed, JsonOfTheWrongShapeIsInvalidArgument) {
  EXPECT_EQ(get_error(http_200(R"({"kvs": "nope"})")).code, core::ErrorCode::invalid_argument);
  EXPECT_EQ(get_error(http_200(R"({"kvs": [{"key": "%%%not base64"}]})")).code,
            core::ErrorCode::invalid_argument);
  EXPECT_EQ(get_error(http_200(R"({"header": {"revision": "12abc"}})")).code,
            core::ErrorCode::invalid_argument);
  EXPECT_EQ(get_error(http_200(R"([1, 2, 3])")).code, core::ErrorCode::invalid_argument);
  EXPECT_EQ(put_error(http_200(R"({"no": "header"})")).code, core::ErrorCode::invalid_argument);
}

TEST_F(EtcdClientMalformed, AnAnswerThatIsNotHttpIsInvalidArgument) {
  const auto error = put_error("SSH-2.0-OpenSSH_9.2\r\ngarbage\r\n\r\n");
  EXPECT_EQ(error.code, core::ErrorCode::invalid_argument) << error.message;
}

TEST_F(EtcdClientMalformed, AnHttpErrorWithoutEtcdsBodyIsUpstreamFailure) {
  const auto error =
      put_error("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!");
  EXPECT_EQ(error.code, core::ErrorCode::upstream_failure) << error.message;
  EXPECT_NE(error.message.find("502"), std::string::npos) << error.message;
}

TEST_F(EtcdClientMalformed, AConnectionClosedWithoutAnswerIsUnavailable) {
  const auto error = put_error("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"header\"");
  EXPECT_EQ(error.code, core::ErrorCode::unavailable) << error.message;
}

TEST_F(EtcdClientMalformed, AWatchAnswerThatIsNotJsonEndsTheWatch) {
  const auto end = watch_end(chunked_200("{\"result\":{\"created\":true}}\nthis is not json\n"));
  EXPECT_EQ(end.error.code, core::ErrorCode::invalid_argument) << end.error.message;
  EXPECT_EQ(end.compacted, 0);
}

TEST_F(EtcdClientMalformed, AWatchEventOfAnUnknownTypeEndsTheWatch) {
  const auto end = watch_end(chunked_200(R"({"result":{"events":[{"type":"EXPLODE","kv":{}}]}})"
                                         "\n"));
  EXPECT_EQ(end.error.code, core::ErrorCode::invalid_argument) << end.error.message;
}

TEST_F(EtcdClientMalformed, AWatchThatEtcdCancelsEndsWithItsReason) {
  const auto end =
      watch_end(chunked_200(R"({"result":{"canceled":true,"cancel_reason":"too many watchers"}})"
                            "\n"));
  EXPECT_EQ(end.error.code, core::ErrorCode::upstream_failure);
  EXPECT_NE(end.error.message.find("too many watchers"), std::string::npos) << end.error.message;
}

TEST_F(EtcdClientMalformed, ASilentMemberTimesOutAndTheNextRequestGoesToTheNextOne) {
  CannedMember silent(io_, "");
  CannedMember good(io_, http_200(R"({"header":{"revision":"42"}})"));
  EtcdOptions options;
  options.endpoints = {silent.url(), good.url()};
  options.request_timeout = std::chrono::milliseconds(300);
  options.connect_timeout = std::chrono::milliseconds(300);
  auto created = EtcdClient::create(io_, options);
  ASSERT_TRUE(created.ok());
  auto& client = **created;

  auto first = answer_of<std::int64_t>(io_, [&](auto done) { client.put("/k", "v", 0, done); });
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, core::ErrorCode::upstream_timeout) << first.error().message;
  EXPECT_EQ(good.connections(), 0) << "a write is never sent twice by the client";
  EXPECT_EQ(client.current_endpoint(), good.url());

  auto second = answer_of<std::int64_t>(io_, [&](auto done) { client.put("/k", "v", 0, done); });
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(*second, 42);
}

TEST_F(EtcdClientMalformed, AKeptConnectionTheMemberClosedIsNotUsedAgain) {
  // The canned member closes each connection after answering although
  // HTTP/1.1 lets the client keep it: the next request must notice.
  CannedMember member(io_, http_200(R"({"header":{"revision":"7"}})"));
  auto client = testing::make_client(io_, {member.url()});
  for (int i = 0; i < 3; ++i) {
    testing::run_for(io_, std::chrono::milliseconds(20));  // the close arrives
    auto written =
        answer_of<std::int64_t>(io_, [&](auto done) { client->put("/k", "v", 0, done); });
    ASSERT_TRUE(written.ok()) << written.error().message;
  }
  EXPECT_EQ(member.connections(), 3);
}

TEST(EtcdClientCreate, RefusesEndpointsThatAreNotHttpUrls) {
  asio::io_context io;
  for (const char* url : {"ftp://127.0.0.1:2379", "127.0.0.1:2379", "http://:2379",
                          "http://127.0.0.1", "http://127.0.0.1:0", "http://127.0.0.1:70000",
                          "http://127.0.0.1:2379/v3", "http://[::1:2379"}) {
    EtcdOptions options;
    options.endpoints = {url};
    auto client = EtcdClient::create(io, options);
    ASSERT_FALSE(client.ok()) << url;
    EXPECT_EQ(client.error().code, core::ErrorCode::invalid_argument);
    EXPECT_NE(client.error().message.find(url), std::string::npos) << client.error().message;
    EXPECT_FALSE(check_endpoint(url).empty()) << url;
  }
  for (const char* url :
       {"http://127.0.0.1:2379", "https://etcd.example:2379/", "http://[::1]:2379"}) {
    EXPECT_EQ(check_endpoint(url), "") << url;
  }
  EXPECT_FALSE(EtcdClient::create(io, EtcdOptions{}).ok()) << "no endpoint at all";
}

TEST(EtcdClientCreate, RefusesTlsFilesThatCannotBeRead) {
  asio::io_context io;
  EtcdOptions options;
  options.endpoints = {"https://127.0.0.1:2379"};
  options.ca_file = "/nonexistent/ca.pem";
  auto client = EtcdClient::create(io, options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, core::ErrorCode::invalid_argument);
  EXPECT_NE(client.error().message.find("/nonexistent/ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace meshd::cluster
