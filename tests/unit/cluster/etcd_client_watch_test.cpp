// The etcd client's watches against a real etcd.

#include <gtest/gtest.h>

#include <memory>

#include "etcd_client_test_support.hpp"
#include "etcd_process.hpp"

namespace meshd::cluster {
namespace {

using testing::answer_of;
using testing::EtcdProcess;

/// What a watch reported, in order.
struct Seen {
  std::vector<WatchEvent> events;
  std::vector<std::int64_t> batch_revisions;
  int empty_batches = 0;
  std::optional<EtcdClient::WatchEnd> end;

  void add(std::vector<WatchEvent> batch, std::int64_t revision) {
    if (batch.empty()) ++empty_batches;
    batch_revisions.push_back(revision);
    for (auto& event : batch) events.push_back(std::move(event));
  }
};

class EtcdClientWatch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!EtcdProcess::installed()) return;
    EtcdProcess::Options options;
    options.extra_arguments = {"--experimental-watch-progress-notify-interval=300ms"};
    etcd_ = std::make_unique<EtcdProcess>(options);
    start_error_ = etcd_->start();
  }
  static void TearDownTestSuite() { etcd_.reset(); }

  void SetUp() override {
    if (!EtcdProcess::installed()) GTEST_SKIP() << "etcd is not installed (etcd-server)";
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    client_ = testing::make_client(io_, {etcd_->client_url()});
    ASSERT_NE(client_, nullptr);
  }

  std::int64_t put(const std::string& key, const std::string& value) {
    auto written =
        answer_of<std::int64_t>(io_, [&](auto done) { client_->put(key, value, 0, done); });
    EXPECT_TRUE(written.ok()) << written.error().message;
    return written ? *written : 0;
  }
  std::int64_t remove(const std::string& key) {
    auto removed = answer_of<std::int64_t>(io_, [&](auto done) { client_->remove(key, done); });
    EXPECT_TRUE(removed.ok()) << removed.error().message;
    return removed ? *removed : 0;
  }
  std::unique_ptr<EtcdStream> watch(EtcdClient& client, const std::string& prefix,
                                    std::int64_t from, Seen& seen) {
    return client.watch_prefix(
        prefix, from,
        [&seen](std::vector<WatchEvent> events, std::int64_t revision) {
          seen.add(std::move(events), revision);
        },
        [&seen](EtcdClient::WatchEnd end) { seen.end = std::move(end); });
  }

  static std::unique_ptr<EtcdProcess> etcd_;
  static std::string start_error_;
  boost::asio::io_context io_;
  std::unique_ptr<EtcdClient> client_;
};

std::unique_ptr<EtcdProcess> EtcdClientWatch::etcd_;
std::string EtcdClientWatch::start_error_;

TEST_F(EtcdClientWatch, SeesPutsAndDeletesInOrderFromARevision) {
  const auto first = put("/w/order/a", "1");
  put("/w/order/b", "2");
  put("/w/outside", "not watched");
  Seen seen;
  auto stream = watch(*client_, "/w/order/", first, seen);
  // Written while the watch runs: after the history.
  put("/w/order/a", "3");
  const auto deleted = remove("/w/order/b");
  ASSERT_TRUE(testing::run_until(io_, [&] { return seen.events.size() >= 4 || seen.end; }));
  ASSERT_FALSE(seen.end.has_value()) << seen.end->error.message;
  ASSERT_EQ(seen.events.size(), 4u);
  EXPECT_EQ(seen.events[0].type, WatchEvent::Type::put);
  EXPECT_EQ(seen.events[0].kv.key, "/w/order/a");
  EXPECT_EQ(seen.events[0].kv.value, "1");
  EXPECT_EQ(seen.events[0].kv.mod_revision, first);
  EXPECT_EQ(seen.events[1].kv.key, "/w/order/b");
  EXPECT_EQ(seen.events[2].kv.value, "3");
  EXPECT_EQ(seen.events[2].kv.version, 2);
  EXPECT_EQ(seen.events[3].type, WatchEvent::Type::del);
  EXPECT_EQ(seen.events[3].kv.key, "/w/order/b");
  EXPECT_EQ(seen.events[3].kv.mod_revision, deleted);
  for (std::size_t i = 1; i < seen.events.size(); ++i) {
    EXPECT_GT(seen.events[i].kv.mod_revision, seen.events[i - 1].kv.mod_revision);
  }
  EXPECT_GE(seen.batch_revisions.back(), deleted);
  // First, before any event: the watch is accepted, nothing before `first` is due.
  ASSERT_FALSE(seen.batch_revisions.empty());
  EXPECT_EQ(seen.batch_revisions.front(), first - 1);
}

TEST_F(EtcdClientWatch, FromNowSeesOnlyLaterChanges) {
  put("/w/now/old", "before");
  Seen seen;
  auto stream = watch(*client_, "/w/now/", 0, seen);
  // Progress notifications (every 300 ms here) show the watch is live.
  ASSERT_TRUE(testing::run_until(io_, [&] { return seen.empty_batches > 0 || seen.end; }));
  const auto later = put("/w/now/new", "after");
  ASSERT_TRUE(testing::run_until(io_, [&] { return !seen.events.empty() || seen.end; }));
  ASSERT_EQ(seen.events.size(), 1u);
  EXPECT_EQ(seen.events[0].kv.key, "/w/now/new");
  EXPECT_EQ(seen.events[0].kv.mod_revision, later);
}

TEST_F(EtcdClientWatch, ProgressNotificationsAreEmptyBatchesAtTheCurrentRevision) {
  const auto now = put("/w/progress/x", "1");
  Seen seen;
  auto stream = watch(*client_, "/w/progress-none/", now + 1, seen);
  // The "accepted" batch, then two notifications (every 300 ms here).
  ASSERT_TRUE(testing::run_until(io_, [&] { return seen.empty_batches >= 3 || seen.end; }));
  EXPECT_FALSE(seen.end.has_value());
  EXPECT_TRUE(seen.events.empty());
  EXPECT_GE(seen.batch_revisions.back(), now);
}

TEST_F(EtcdClientWatch, AWatchFromACompactedRevisionEndsWithTheCompaction) {
  const auto old = put("/w/compact/k", "1");
  put("/w/compact/k", "2");
  const auto latest = put("/w/compact/k", "3");
  std::string output;
  ASSERT_EQ(etcd_->etcdctl({"compact", std::to_string(latest)}, &output), 0) << output;

  Seen seen;
  auto stream = watch(*client_, "/w/compact/", old, seen);
  ASSERT_TRUE(testing::run_until(io_, [&] { return seen.end.has_value(); }));
  EXPECT_EQ(seen.end->compacted, latest);
  EXPECT_TRUE(seen.events.empty());

  // From the compact revision on, it works again.
  Seen again;
  auto retry = watch(*client_, "/w/compact/", latest, again);
  ASSERT_TRUE(testing::run_until(io_, [&] { return !again.events.empty() || again.end; }));
  ASSERT_FALSE(again.end.has_value()) << again.end->error.message;
  EXPECT_EQ(again.events[0].kv.value, "3");
}

TEST_F(EtcdClientWatch, ACancelledWatchIsSilent) {
  Seen seen;
  auto stream = watch(*client_, "/w/cancel/", 0, seen);
  ASSERT_TRUE(testing::run_until(io_, [&] { return seen.empty_batches > 0 || seen.end; }));
  stream->cancel();
  const auto calls = seen.batch_revisions.size();
  put("/w/cancel/x", "1");
  testing::run_for(io_, std::chrono::milliseconds(700));  // two progress intervals
  EXPECT_EQ(seen.batch_revisions.size(), calls);
  EXPECT_FALSE(seen.end.has_value());
}

TEST_F(EtcdClientWatch, AWatchOutlivingItsClientIsSilent) {
  Seen seen;
  auto stream = watch(*client_, "/w/orphan/", 0, seen);
  ASSERT_TRUE(testing::run_until(io_, [&] { return seen.empty_batches > 0 || seen.end; }));
  client_.reset();
  const auto calls = seen.batch_revisions.size();
  testing::run_for(io_, std::chrono::milliseconds(700));
  EXPECT_EQ(seen.batch_revisions.size(), calls);
  EXPECT_FALSE(seen.end.has_value());
  stream.reset();  // after the client: still fine
}

TEST(EtcdClientWatchEnd, EndsWithAnErrorWhenEtcdIsKilled) {
  if (!EtcdProcess::installed()) GTEST_SKIP() << "etcd is not installed (etcd-server)";
  EtcdProcess etcd;
  const auto started = etcd.start();
  ASSERT_TRUE(started.empty()) << started;
  boost::asio::io_context io;
  auto client = testing::make_client(io, {etcd.client_url()});
  ASSERT_TRUE(
      answer_of<std::int64_t>(io, [&](auto done) { client->put("/w/kill/a", "1", 0, done); }).ok());
  Seen seen;
  auto stream = client->watch_prefix(
      "/w/kill/", 1,
      [&](std::vector<WatchEvent> events, std::int64_t revision) {
        seen.add(std::move(events), revision);
      },
      [&](EtcdClient::WatchEnd end) { seen.end = std::move(end); });
  ASSERT_TRUE(testing::run_until(io, [&] { return !seen.events.empty() || seen.end; }));
  ASSERT_FALSE(seen.end.has_value()) << seen.end->error.message;

  etcd.kill();
  ASSERT_TRUE(testing::run_until(io, [&] { return seen.end.has_value(); }));
  EXPECT_EQ(seen.end->compacted, 0);
  EXPECT_EQ(seen.end->error.code, core::ErrorCode::unavailable) << seen.end->error.message;
  EXPECT_NE(seen.end->error.message.find("watch"), std::string::npos);

  // A new watch while etcd is down ends at once, naming the endpoint.
  Seen down;
  auto again = client->watch_prefix(
      "/w/kill/", 0,
      [&](std::vector<WatchEvent> events, std::int64_t revision) {
        down.add(std::move(events), revision);
      },
      [&](EtcdClient::WatchEnd end) { down.end = std::move(end); });
  ASSERT_TRUE(testing::run_until(io, [&] { return down.end.has_value(); }));
  EXPECT_EQ(down.end->error.code, core::ErrorCode::unavailable);
  EXPECT_NE(down.end->error.message.find(etcd.client_url()), std::string::npos)
      << down.end->error.message;
}

}  // namespace
}  // namespace meshd::cluster
