// The etcd client's election calls against a real etcd.

#include <gtest/gtest.h>

#include <memory>

#include "etcd_client_test_support.hpp"
#include "etcd_process.hpp"

namespace meshd::cluster {
namespace {

using testing::answer_of;
using testing::EtcdProcess;

class EtcdClientElection : public ::testing::Test {
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

  std::int64_t grant() {
    auto lease = answer_of<std::int64_t>(io_, [&](auto done) { client_->lease_grant(30, done); });
    EXPECT_TRUE(lease.ok()) << lease.error().message;
    return lease ? *lease : 0;
  }
  core::Result<std::optional<KeyValue>> leader(const std::string& name) {
    return answer_of<std::optional<KeyValue>>(io_, [&](auto done) { client_->leader(name, done); });
  }

  static std::unique_ptr<EtcdProcess> etcd_;
  static std::string start_error_;
  boost::asio::io_context io_;
  std::unique_ptr<EtcdClient> client_;
};

std::unique_ptr<EtcdProcess> EtcdClientElection::etcd_;
std::string EtcdClientElection::start_error_;

TEST_F(EtcdClientElection, NobodyLeadsAnElectionNoOneCampaignedIn) {
  auto current = leader("/e/empty");
  ASSERT_TRUE(current.ok()) << current.error().message;
  EXPECT_FALSE(current->has_value());
}

TEST_F(EtcdClientElection, TheFirstCampaignWinsAndLeaderShowsItsValue) {
  const auto lease = grant();
  std::optional<core::Result<LeaderKey>> won;
  auto campaign = client_->campaign("/e/first", lease, "node-a",
                                    [&](core::Result<LeaderKey> key) { won.emplace(key); });
  ASSERT_TRUE(testing::run_until(io_, [&] { return won.has_value(); }));
  ASSERT_TRUE(won->ok()) << won->error().message;
  EXPECT_EQ((*won)->name, "/e/first");
  EXPECT_EQ((*won)->lease, lease);
  EXPECT_GT((*won)->rev, 0);
  EXPECT_EQ((*won)->key.rfind("/e/first/", 0), 0u) << (*won)->key;

  auto current = leader("/e/first");
  ASSERT_TRUE(current.ok()) << current.error().message;
  ASSERT_TRUE(current->has_value());
  EXPECT_EQ((*current)->value, "node-a");
  EXPECT_EQ((*current)->key, (*won)->key);
  EXPECT_EQ((*current)->lease, lease);

  auto resigned = answer_of<std::monostate>(io_, [&](auto done) { client_->resign(**won, done); });
  ASSERT_TRUE(resigned.ok()) << resigned.error().message;
  auto after = leader("/e/first");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
}

TEST_F(EtcdClientElection, ASecondCampaignWaitsUntilTheFirstResigns) {
  const auto first_lease = grant();
  const auto second_lease = grant();
  std::optional<core::Result<LeaderKey>> first;
  std::optional<core::Result<LeaderKey>> second;
  auto a = client_->campaign("/e/resign", first_lease, "a",
                             [&](core::Result<LeaderKey> key) { first.emplace(key); });
  ASSERT_TRUE(testing::run_until(io_, [&] { return first.has_value(); }));
  ASSERT_TRUE(first->ok()) << first->error().message;
  auto b = client_->campaign("/e/resign", second_lease, "b",
                             [&](core::Result<LeaderKey> key) { second.emplace(key); });
  testing::run_for(io_, std::chrono::milliseconds(500));
  EXPECT_FALSE(second.has_value()) << "two leaders at once";

  ASSERT_TRUE(
      answer_of<std::monostate>(io_, [&](auto done) { client_->resign(**first, done); }).ok());
  ASSERT_TRUE(testing::run_until(io_, [&] { return second.has_value(); }));
  ASSERT_TRUE(second->ok()) << second->error().message;
  EXPECT_EQ((*second)->lease, second_lease);
  auto current = leader("/e/resign");
  ASSERT_TRUE(current.ok());
  ASSERT_TRUE(current->has_value());
  EXPECT_EQ((*current)->value, "b");
}

TEST_F(EtcdClientElection, ASecondCampaignWinsWhenTheLeadersLeaseIsRevoked) {
  const auto first_lease = grant();
  const auto second_lease = grant();
  std::optional<core::Result<LeaderKey>> first;
  std::optional<core::Result<LeaderKey>> second;
  auto a = client_->campaign("/e/revoke", first_lease, "a",
                             [&](core::Result<LeaderKey> key) { first.emplace(key); });
  ASSERT_TRUE(testing::run_until(io_, [&] { return first.has_value(); }));
  auto b = client_->campaign("/e/revoke", second_lease, "b",
                             [&](core::Result<LeaderKey> key) { second.emplace(key); });
  testing::run_for(io_, std::chrono::milliseconds(300));
  EXPECT_FALSE(second.has_value());
  ASSERT_TRUE(answer_of<std::monostate>(io_, [&](auto done) {
                client_->lease_revoke(first_lease, done);
              }).ok());
  ASSERT_TRUE(testing::run_until(io_, [&] { return second.has_value(); }));
  ASSERT_TRUE(second->ok()) << second->error().message;
  EXPECT_EQ((*second)->lease, second_lease);
}

TEST_F(EtcdClientElection, DroppingAWaitingCampaignWithdrawsItSilently) {
  const auto first_lease = grant();
  const auto second_lease = grant();
  std::optional<core::Result<LeaderKey>> first;
  bool second_called = false;
  auto a = client_->campaign("/e/drop", first_lease, "a",
                             [&](core::Result<LeaderKey> key) { first.emplace(key); });
  ASSERT_TRUE(testing::run_until(io_, [&] { return first.has_value(); }));
  auto b = client_->campaign("/e/drop", second_lease, "b",
                             [&](core::Result<LeaderKey>) { second_called = true; });
  testing::run_for(io_, std::chrono::milliseconds(300));
  b.reset();
  ASSERT_TRUE(
      answer_of<std::monostate>(io_, [&](auto done) { client_->resign(**first, done); }).ok());
  testing::run_for(io_, std::chrono::milliseconds(500));
  EXPECT_FALSE(second_called);
  // etcd withdrew the dropped campaign's key: nobody leads.
  bool withdrawn = false;
  for (int i = 0; i < 20 && !withdrawn; ++i) {
    auto current = leader("/e/drop");
    ASSERT_TRUE(current.ok());
    withdrawn = !current->has_value();
    if (!withdrawn) testing::run_for(io_, std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(withdrawn);
}

}  // namespace
}  // namespace meshd::cluster
