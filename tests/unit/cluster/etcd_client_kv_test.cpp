// The etcd client's key-value calls against a real etcd.

#include <gtest/gtest.h>

#include <memory>

#include "etcd_client_test_support.hpp"
#include "etcd_process.hpp"

namespace meshd::cluster {
namespace {

using testing::answer_of;
using testing::EtcdProcess;
using Range = EtcdClient::Range;
using TxnResult = EtcdClient::TxnResult;

class EtcdClientKv : public ::testing::Test {
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

  core::Result<std::int64_t> put(const std::string& key, const std::string& value) {
    return answer_of<std::int64_t>(io_, [&](auto done) { client_->put(key, value, 0, done); });
  }
  core::Result<Range> get(const std::string& key) {
    return answer_of<Range>(io_, [&](auto done) { client_->get(key, done); });
  }

  static std::unique_ptr<EtcdProcess> etcd_;
  static std::string start_error_;
  boost::asio::io_context io_;
  std::unique_ptr<EtcdClient> client_;
};

std::unique_ptr<EtcdProcess> EtcdClientKv::etcd_;
std::string EtcdClientKv::start_error_;

TEST_F(EtcdClientKv, PutThenGetGivesTheValueAndItsRevisions) {
  // Bytes that JSON cannot carry as text go through the gateway's base64.
  const std::string value("binary\0\xff\n{\"x\":1}", 17);
  auto revision = put("/kv/one", value);
  ASSERT_TRUE(revision.ok()) << revision.error().message;
  EXPECT_GT(*revision, 0);

  auto range = get("/kv/one");
  ASSERT_TRUE(range.ok()) << range.error().message;
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->kvs[0].key, "/kv/one");
  EXPECT_EQ(range->kvs[0].value, value);
  EXPECT_EQ(range->kvs[0].mod_revision, *revision);
  EXPECT_EQ(range->kvs[0].create_revision, *revision);
  EXPECT_EQ(range->kvs[0].version, 1);
  EXPECT_EQ(range->kvs[0].lease, 0);
  EXPECT_GE(range->revision, *revision);
}

TEST_F(EtcdClientKv, GetOfAMissingKeyIsEmptyNotAnError) {
  auto range = get("/kv/never-written");
  ASSERT_TRUE(range.ok()) << range.error().message;
  EXPECT_TRUE(range->kvs.empty());
  EXPECT_GT(range->revision, 0);
}

TEST_F(EtcdClientKv, GetPrefixGivesEveryKeyUnderItAndNoOther) {
  ASSERT_TRUE(put("/pfx/a", "1").ok());
  ASSERT_TRUE(put("/pfx/b/c", "2").ok());
  ASSERT_TRUE(put("/pfx0", "outside").ok());
  ASSERT_TRUE(put("/pf", "outside").ok());

  auto range = answer_of<Range>(io_, [&](auto done) { client_->get_prefix("/pfx/", done); });
  ASSERT_TRUE(range.ok()) << range.error().message;
  ASSERT_EQ(range->kvs.size(), 2u);
  EXPECT_EQ(range->kvs[0].key, "/pfx/a");
  EXPECT_EQ(range->kvs[0].value, "1");
  EXPECT_EQ(range->kvs[1].key, "/pfx/b/c");
}

TEST_F(EtcdClientKv, RemoveDeletesTheKeyAndAnswersALaterRevision) {
  auto put_revision = put("/kv/gone", "x");
  ASSERT_TRUE(put_revision.ok());
  auto removed =
      answer_of<std::int64_t>(io_, [&](auto done) { client_->remove("/kv/gone", done); });
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_GT(*removed, *put_revision);
  auto range = get("/kv/gone");
  ASSERT_TRUE(range.ok());
  EXPECT_TRUE(range->kvs.empty());
}

TEST_F(EtcdClientKv, PutIfAbsentSucceedsOnceThenReportsTheCurrentKey) {
  auto first = answer_of<TxnResult>(
      io_, [&](auto done) { client_->put_if("/kv/claim", "mine", 0, 0, done); });
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->succeeded);
  EXPECT_FALSE(first->current.has_value());

  auto second = answer_of<TxnResult>(
      io_, [&](auto done) { client_->put_if("/kv/claim", "theirs", 0, 0, done); });
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->succeeded);
  ASSERT_TRUE(second->current.has_value());
  EXPECT_EQ(second->current->value, "mine");
  EXPECT_EQ(second->current->mod_revision, first->revision);
}

TEST_F(EtcdClientKv, PutIfTheExpectedRevisionReplacesOnlyThatVersion) {
  auto written = put("/kv/cas", "v1");
  ASSERT_TRUE(written.ok());
  auto stale = answer_of<TxnResult>(
      io_, [&](auto done) { client_->put_if("/kv/cas", "late", 0, *written - 1, done); });
  ASSERT_TRUE(stale.ok()) << stale.error().message;
  EXPECT_FALSE(stale->succeeded);
  ASSERT_TRUE(stale->current.has_value());
  EXPECT_EQ(stale->current->value, "v1");

  auto fresh = answer_of<TxnResult>(
      io_, [&](auto done) { client_->put_if("/kv/cas", "v2", 0, *written, done); });
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_TRUE(fresh->succeeded);
  auto range = get("/kv/cas");
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->kvs[0].value, "v2");
  EXPECT_EQ(range->kvs[0].mod_revision, fresh->revision);
}

TEST_F(EtcdClientKv, RemoveIfDeletesOnlyTheExpectedVersion) {
  auto written = put("/kv/rm-if", "v1");
  ASSERT_TRUE(written.ok());
  auto wrong = answer_of<TxnResult>(
      io_, [&](auto done) { client_->remove_if("/kv/rm-if", *written + 100, done); });
  ASSERT_TRUE(wrong.ok()) << wrong.error().message;
  EXPECT_FALSE(wrong->succeeded);
  ASSERT_TRUE(wrong->current.has_value());
  EXPECT_EQ(wrong->current->mod_revision, *written);

  auto right = answer_of<TxnResult>(
      io_, [&](auto done) { client_->remove_if("/kv/rm-if", *written, done); });
  ASSERT_TRUE(right.ok()) << right.error().message;
  EXPECT_TRUE(right->succeeded);
  auto range = get("/kv/rm-if");
  ASSERT_TRUE(range.ok());
  EXPECT_TRUE(range->kvs.empty());

  auto again = answer_of<TxnResult>(
      io_, [&](auto done) { client_->remove_if("/kv/rm-if", *written, done); });
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->succeeded);
  EXPECT_FALSE(again->current.has_value());  // absent now
}

TEST_F(EtcdClientKv, ManyConcurrentRequestsAllAnswer) {
  constexpr int kCount = 50;
  int answered = 0;
  int failed = 0;
  for (int i = 0; i < kCount; ++i) {
    client_->put("/kv/many/" + std::to_string(i), std::to_string(i), 0,
                 [&](core::Result<std::int64_t> result) {
                   ++answered;
                   if (!result) ++failed;
                 });
  }
  ASSERT_TRUE(testing::run_until(io_, [&] { return answered == kCount; }));
  EXPECT_EQ(failed, 0);
  auto range = answer_of<Range>(io_, [&](auto done) { client_->get_prefix("/kv/many/", done); });
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->kvs.size(), static_cast<std::size_t>(kCount));
}

TEST_F(EtcdClientKv, AFirstEndpointThatIsDownIsSkipped) {
  const auto dead = "http://127.0.0.1:" + std::to_string(testing::free_loopback_port());
  auto client = testing::make_client(io_, {dead, etcd_->client_url()});
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->current_endpoint(), dead);
  for (int i = 0; i < 3; ++i) {
    auto written = answer_of<std::int64_t>(
        io_, [&](auto done) { client->put("/kv/failover", std::to_string(i), 0, done); });
    ASSERT_TRUE(written.ok()) << written.error().message;
  }
  EXPECT_EQ(client->current_endpoint(), etcd_->client_url());
}

TEST_F(EtcdClientKv, NoEndpointUpIsUnavailableNamingEachOne) {
  const auto one = "http://127.0.0.1:" + std::to_string(testing::free_loopback_port());
  const auto two = "http://127.0.0.1:" + std::to_string(testing::free_loopback_port());
  auto client = testing::make_client(io_, {one, two});
  auto written = answer_of<std::int64_t>(io_, [&](auto done) { client->put("/x", "y", 0, done); });
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, core::ErrorCode::unavailable);
  EXPECT_NE(written.error().message.find(one), std::string::npos) << written.error().message;
  EXPECT_NE(written.error().message.find(two), std::string::npos) << written.error().message;
}

TEST_F(EtcdClientKv, AnErrorEtcdAnswersIsUpstreamFailureWithItsMessage) {
  // A lease that was never granted.
  auto written = answer_of<std::int64_t>(
      io_, [&](auto done) { client_->put("/kv/leased", "x", 0x7777, done); });
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, core::ErrorCode::upstream_failure);
  EXPECT_NE(written.error().message.find("lease not found"), std::string::npos)
      << written.error().message;
  EXPECT_TRUE(is_lease_not_found(written.error()));
  EXPECT_FALSE(is_lease_not_found(core::make_error(core::ErrorCode::unavailable, "down")));
}

TEST_F(EtcdClientKv, DestroyingTheClientSilencesRequestsInFlight) {
  bool called = false;
  for (int i = 0; i < 5; ++i) {
    client_->put("/kv/late", "x", 0, [&](core::Result<std::int64_t>) { called = true; });
  }
  client_.reset();
  testing::run_for(io_, std::chrono::milliseconds(300));
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace meshd::cluster
