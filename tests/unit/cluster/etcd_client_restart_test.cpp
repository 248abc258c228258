// The etcd client across an etcd restart: unavailable while it is down,
// working again once it is back, with no client of its own to rebuild.

#include <gtest/gtest.h>

#include "etcd_client_test_support.hpp"
#include "etcd_process.hpp"

namespace meshd::cluster {
namespace {

using testing::answer_of;
using testing::EtcdProcess;
using Range = EtcdClient::Range;

TEST(EtcdClientRestart, RecoversWhenEtcdComesBackOnTheSamePort) {
  if (!EtcdProcess::installed()) GTEST_SKIP() << "etcd is not installed (etcd-server)";
  EtcdProcess etcd;
  auto started = etcd.start();
  ASSERT_TRUE(started.empty()) << started;
  boost::asio::io_context io;
  auto client = testing::make_client(io, {etcd.client_url()});
  ASSERT_TRUE(answer_of<std::int64_t>(io, [&](auto done) {
                client->put("/restart/k", "kept", 0, done);
              }).ok());

  etcd.stop();
  auto down = answer_of<Range>(io, [&](auto done) { client->get("/restart/k", done); });
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, core::ErrorCode::unavailable) << down.error().message;

  started = etcd.start();
  ASSERT_TRUE(started.empty()) << started;
  auto back = answer_of<Range>(io, [&](auto done) { client->get("/restart/k", done); });
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->kvs.size(), 1u);
  EXPECT_EQ(back->kvs[0].value, "kept");  // the data dir outlives a restart
}

TEST(EtcdClientRestart, AReadOnAConnectionKeptFromBeforeARestartIsNotLost) {
  if (!EtcdProcess::installed()) GTEST_SKIP() << "etcd is not installed (etcd-server)";
  EtcdProcess etcd;
  auto started = etcd.start();
  ASSERT_TRUE(started.empty()) << started;
  boost::asio::io_context io;
  auto client = testing::make_client(io, {etcd.client_url()});
  ASSERT_TRUE(answer_of<Range>(io, [&](auto done) { client->get("/restart/x", done); }).ok());
  // The kept-alive connection dies with etcd; nothing runs the loop meanwhile.
  etcd.kill();
  started = etcd.start();
  ASSERT_TRUE(started.empty()) << started;
  auto read = answer_of<Range>(io, [&](auto done) { client->get("/restart/x", done); });
  EXPECT_TRUE(read.ok()) << read.error().message;
}

}  // namespace
}  // namespace meshd::cluster
