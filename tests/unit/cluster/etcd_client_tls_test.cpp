// The etcd client over TLS, against a real etcd that requires client
// certificates, with a CA and certificates the test makes with openssl.

#include <gtest/gtest.h>

#include <memory>

#include "etcd_client_test_support.hpp"
#include "etcd_process.hpp"

namespace meshd::cluster {
namespace {

using testing::answer_of;
using testing::EtcdProcess;

class EtcdClientTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!EtcdProcess::installed()) return;
    EtcdProcess::Options options;
    options.tls = true;
    etcd_ = std::make_unique<EtcdProcess>(options);
    start_error_ = etcd_->start();
  }
  static void TearDownTestSuite() { etcd_.reset(); }

  void SetUp() override {
    if (!EtcdProcess::installed()) GTEST_SKIP() << "etcd is not installed (etcd-server)";
    ASSERT_TRUE(start_error_.empty()) << start_error_;
  }

  EtcdOptions options() const {
    EtcdOptions options;
    options.endpoints = {etcd_->client_url()};
    options.ca_file = etcd_->ca_file();
    options.cert_file = etcd_->client_cert_file();
    options.key_file = etcd_->client_key_file();
    return options;
  }

  static std::unique_ptr<EtcdProcess> etcd_;
  static std::string start_error_;
  boost::asio::io_context io_;
};

std::unique_ptr<EtcdProcess> EtcdClientTls::etcd_;
std::string EtcdClientTls::start_error_;

TEST_F(EtcdClientTls, WorksWithTheCaAndAClientCertificate) {
  ASSERT_EQ(etcd_->client_url().rfind("https://", 0), 0u);
  auto client = testing::make_client(io_, options());
  ASSERT_NE(client, nullptr);
  auto written =
      answer_of<std::int64_t>(io_, [&](auto done) { client->put("/tls/k", "secret", 0, done); });
  ASSERT_TRUE(written.ok()) << written.error().message;
  // Several requests: kept-alive TLS connections are reused.
  for (int i = 0; i < 3; ++i) {
    auto range = answer_of<EtcdClient::Range>(io_, [&](auto done) { client->get("/tls/k", done); });
    ASSERT_TRUE(range.ok()) << range.error().message;
    ASSERT_EQ(range->kvs.size(), 1u);
    EXPECT_EQ(range->kvs[0].value, "secret");
  }

  std::vector<WatchEvent> seen;
  std::optional<EtcdClient::WatchEnd> end;
  auto stream = client->watch_prefix(
      "/tls/", *written,
      [&](std::vector<WatchEvent> events, std::int64_t) {
        seen.insert(seen.end(), events.begin(), events.end());
      },
      [&](EtcdClient::WatchEnd e) { end = std::move(e); });
  ASSERT_TRUE(testing::run_until(io_, [&] { return !seen.empty() || end; }));
  ASSERT_FALSE(end.has_value()) << end->error.message;
  EXPECT_EQ(seen[0].kv.value, "secret");
}

TEST_F(EtcdClientTls, AWrongCaFailsClearly) {
  auto wrong = options();
  wrong.ca_file = etcd_->other_ca_file();
  auto client = testing::make_client(io_, wrong);
  ASSERT_NE(client, nullptr);
  auto written =
      answer_of<std::int64_t>(io_, [&](auto done) { client->put("/tls/x", "y", 0, done); });
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, core::ErrorCode::unavailable);
  EXPECT_NE(written.error().message.find("TLS handshake"), std::string::npos)
      << written.error().message;
  EXPECT_NE(written.error().message.find("certificate verify failed"), std::string::npos)
      << written.error().message;
}

TEST_F(EtcdClientTls, NoClientCertificateIsRefused) {
  auto anonymous = options();
  anonymous.cert_file.clear();
  anonymous.key_file.clear();
  auto client = testing::make_client(io_, anonymous);
  ASSERT_NE(client, nullptr);
  auto written =
      answer_of<std::int64_t>(io_, [&](auto done) { client->put("/tls/x", "y", 0, done); });
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, core::ErrorCode::unavailable) << written.error().message;
}

TEST_F(EtcdClientTls, PlainHttpToATlsMemberFails) {
  auto client =
      testing::make_client(io_, {"http://127.0.0.1:" + std::to_string(etcd_->client_port())});
  auto written =
      answer_of<std::int64_t>(io_, [&](auto done) { client->put("/tls/x", "y", 0, done); });
  EXPECT_FALSE(written.ok());
}

TEST(EtcdClientTlsFiles, AKeyWithoutACertificateIsRefused) {
  boost::asio::io_context io;
  EtcdOptions options;
  options.endpoints = {"https://127.0.0.1:2379"};
  options.key_file = "/tmp/some.key";
  auto client = EtcdClient::create(io, options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, core::ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace meshd::cluster
