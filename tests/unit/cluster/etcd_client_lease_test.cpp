// The etcd client's leases against a real etcd.

#include <gtest/gtest.h>

#include <memory>

#include "etcd_client_test_support.hpp"
#include "etcd_process.hpp"

namespace meshd::cluster {
namespace {

using testing::answer_of;
using testing::EtcdProcess;
using Range = EtcdClient::Range;

class EtcdClientLease : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!EtcdProcess::installed()) return;
    etcd_ = std::make_unique<EtcdProcess>();
    start_error_ = etcd_->start();
  }
  static void TearDownTestSuite() { etcd_.reset(); }

  void SetUp() override {
    if (!EtcdProcess::installed()) GTEST_SKIP() << "etcd is not installed (etcd-server)";
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    client_ = testing::make_client(io_, {etcd_->client_url()});
    ASSERT_NE(client_, nullptr);
  }

  std::int64_t grant(std::int64_t ttl) {
    auto lease = answer_of<std::int64_t>(io_, [&](auto done) { client_->lease_grant(ttl, done); });
    EXPECT_TRUE(lease.ok()) << lease.error().message;
    return lease ? *lease : 0;
  }
  core::Result<std::int64_t> keepalive(std::int64_t lease) {
    return answer_of<std::int64_t>(io_, [&](auto done) { client_->lease_keepalive(lease, done); });
  }
  core::Result<Range> get(const std::string& key) {
    return answer_of<Range>(io_, [&](auto done) { client_->get(key, done); });
  }

  static std::unique_ptr<EtcdProcess> etcd_;
  static std::string start_error_;
  boost::asio::io_context io_;
  std::unique_ptr<EtcdClient> client_;
};

std::unique_ptr<EtcdProcess> EtcdClientLease::etcd_;
std::string EtcdClientLease::start_error_;

TEST_F(EtcdClientLease, AKeyUnderALeaseCarriesItsId) {
  const auto lease = grant(30);
  ASSERT_NE(lease, 0);
  auto written = answer_of<std::int64_t>(
      io_, [&](auto done) { client_->put("/lease/carried", "x", lease, done); });
  ASSERT_TRUE(written.ok()) << written.error().message;
  auto range = get("/lease/carried");
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->kvs[0].lease, lease);
}

TEST_F(EtcdClientLease, KeepaliveAnswersTheTtlThenZeroOnceRevoked) {
  const auto lease = grant(30);
  ASSERT_NE(lease, 0);
  ASSERT_TRUE(answer_of<std::int64_t>(io_, [&](auto done) {
                client_->put("/lease/revoked", "x", lease, done);
              }).ok());

  auto alive = keepalive(lease);
  ASSERT_TRUE(alive.ok()) << alive.error().message;
  EXPECT_EQ(*alive, 30);

  auto revoked =
      answer_of<std::monostate>(io_, [&](auto done) { client_->lease_revoke(lease, done); });
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;

  auto gone = keepalive(lease);
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_EQ(*gone, 0);
  auto range = get("/lease/revoked");
  ASSERT_TRUE(range.ok());
  EXPECT_TRUE(range->kvs.empty()) << "a key under a revoked lease is deleted with it";
}

TEST_F(EtcdClientLease, AKeyVanishesWhenItsLeaseExpires) {
  const auto lease = grant(2);
  ASSERT_NE(lease, 0);
  ASSERT_TRUE(answer_of<std::int64_t>(io_, [&](auto done) {
                client_->put("/lease/expiring", "x", lease, done);
              }).ok());
  ASSERT_TRUE(get("/lease/expiring")->kvs.size() == 1);

  // Bounded: 2 s of TTL plus etcd's expiry check; polled every 200 ms.
  bool vanished = false;
  for (int i = 0; i < 40 && !vanished; ++i) {
    testing::run_for(io_, std::chrono::milliseconds(200));
    auto range = get("/lease/expiring");
    ASSERT_TRUE(range.ok()) << range.error().message;
    vanished = range->kvs.empty();
  }
  EXPECT_TRUE(vanished);
  auto gone = keepalive(lease);
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_EQ(*gone, 0);
}

TEST_F(EtcdClientLease, KeepalivesKeepAKeyPastItsTtl) {
  const auto lease = grant(2);
  ASSERT_NE(lease, 0);
  ASSERT_TRUE(answer_of<std::int64_t>(io_, [&](auto done) {
                client_->put("/lease/kept", "x", lease, done);
              }).ok());
  for (int i = 0; i < 6; ++i) {  // 3 s, past the 2 s TTL
    testing::run_for(io_, std::chrono::milliseconds(500));
    auto ttl = keepalive(lease);
    ASSERT_TRUE(ttl.ok()) << ttl.error().message;
    EXPECT_EQ(*ttl, 2);
  }
  auto range = get("/lease/kept");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->kvs.size(), 1u);
}

TEST_F(EtcdClientLease, RevokingAnUnknownLeaseIsAnError) {
  auto revoked =
      answer_of<std::monostate>(io_, [&](auto done) { client_->lease_revoke(0x5151, done); });
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code, core::ErrorCode::upstream_failure);
}

}  // namespace
}  // namespace meshd::cluster
